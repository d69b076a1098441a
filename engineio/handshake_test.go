package engineio

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsio/wsio/websocket"
)

func TestHandshakePolling(t *testing.T) {
	st := newTestServer(t, &Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}, nil)
	r := st.get(t, "EIO=4&transport=polling")
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	op := parseOpen(t, r.body)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`).MatchString(op.SID) {
		t.Errorf("sid %q is not 20 URL-safe characters", op.SID)
	}
	if len(op.Upgrades) != 1 || op.Upgrades[0] != "websocket" || op.PingInterval != 300 ||
		op.PingTimeout != 200 || op.MaxPayload != 1000000 {
		t.Errorf("open packet %+v", op)
	}
	if st.Session(op.SID) == nil || st.Count() != 1 {
		t.Errorf("session not registered")
	}
}

func TestHandshakeWebSocket(t *testing.T) {
	st := newTestServer(t, nil, nil)
	c := st.dial(t, "EIO=4&transport=websocket")
	typ, msg := readWS(t, c)
	if typ != websocket.MessageText {
		t.Fatalf("open packet type %v", typ)
	}
	op := parseOpen(t, msg)
	if len(op.Upgrades) != 0 || op.Upgrades == nil {
		t.Errorf("upgrades %v, want []", op.Upgrades)
	}
	if s := st.Session(op.SID); s == nil || s.Transport() != TransportWebSocket {
		t.Errorf("session %v", s)
	}
}

func TestHandshakeNoUpgradesOffered(t *testing.T) {
	for _, o := range []*Options{{DisallowUpgrades: true}, {Transports: []string{"polling"}}} {
		st := newTestServer(t, o, nil)
		if op := parseOpen(t, st.get(t, "EIO=4&transport=polling").body); len(op.Upgrades) != 0 {
			t.Errorf("%+v: upgrades %v", o, op.Upgrades)
		}
	}
}

func TestHandshakeErrors(t *testing.T) {
	st := newTestServer(t, &Options{Transports: []string{"polling"}}, nil)
	cases := []struct {
		method, query string
		status        int
		code          ErrorCode
	}{
		{"GET", "EIO=4", 400, CodeUnknownTransport},
		{"GET", "EIO=4&transport=abc", 400, CodeUnknownTransport},
		{"GET", "EIO=4&transport=websocket", 400, CodeUnknownTransport}, // not in Transports
		{"GET", "transport=polling", 400, CodeUnsupportedProtocolVersion},
		{"GET", "EIO=abc&transport=polling", 400, CodeUnsupportedProtocolVersion},
		{"GET", "EIO=3&transport=polling", 400, CodeUnsupportedProtocolVersion},
		{"POST", "EIO=4&transport=polling", 400, CodeBadHandshakeMethod},
		{"PUT", "EIO=4&transport=polling", 400, CodeBadHandshakeMethod},
		{"GET", "EIO=4&transport=polling&sid=nope", 400, CodeUnknownSID},
	}
	for _, c := range cases {
		r := do(t, c.method, st.base+"?"+c.query, "")
		checkError(t, c.method+" "+c.query, r, c.status, c.code, c.code.String())
	}
	st2 := newTestServer(t, nil, nil)
	r := st2.get(t, "EIO=4&transport=websocket")
	checkError(t, "websocket without upgrade", r, 400, CodeBadRequest, "Bad request")
}

func checkError(t *testing.T, what string, r response, status int, code ErrorCode, msg string) {
	t.Helper()
	var body struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Code == nil {
		t.Errorf("%s: body %q: %v", what, r.body, err)
		return
	}
	if r.status != status || ErrorCode(*body.Code) != code || body.Message != msg {
		t.Errorf("%s: got %d %s, want %d code %d %q", what, r.status, r.body, status, code, msg)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
}

func TestAllowRequest(t *testing.T) {
	var sawErr *RequestError
	st := newTestServer(t, &Options{AllowRequest: func(r *http.Request) error {
		if r.Header.Get("X-Token") != "secret" {
			return errors.New("bad token")
		}
		return nil
	}}, nil)
	st.OnConnectionError(func(e *RequestError) { sawErr = e })
	r := st.get(t, "EIO=4&transport=polling")
	checkError(t, "no token", r, 403, CodeForbidden, "bad token")
	if sawErr == nil || sawErr.Code != CodeForbidden || sawErr.Err == nil || sawErr.Err.Error() != "bad token" {
		t.Errorf("connection error %+v", sawErr)
	}
	if r := st.get(t, "EIO=4&transport=polling", "X-Token", "secret"); r.status != 200 {
		t.Errorf("with token: %d %s", r.status, r.body)
	}
	// WebSocket handshakes run it too.
	_, res, err := websocket.Dial(t.Context(), st.wsURL("EIO=4&transport=websocket"), nil)
	if err == nil || res == nil || res.StatusCode != 403 {
		t.Errorf("websocket without token: %v %v", err, res)
	}
}

func TestGenerateID(t *testing.T) {
	n := 0
	st := newTestServer(t, &Options{GenerateID: func(*http.Request) (string, error) {
		n++
		if n == 2 {
			return "", errors.New("no id today")
		}
		return "custom-id", nil
	}}, nil)
	if op := parseOpen(t, st.get(t, "EIO=4&transport=polling").body); op.SID != "custom-id" {
		t.Errorf("sid %q", op.SID)
	}
	checkError(t, "generator error", st.get(t, "EIO=4&transport=polling"), 400, CodeBadRequest, "Bad request")
	// A duplicate id is refused, never shared between two clients.
	checkError(t, "duplicate id", st.get(t, "EIO=4&transport=polling"), 400, CodeBadRequest, "Bad request")
}

func TestHeadersHooksAndCookie(t *testing.T) {
	st := newTestServer(t, &Options{
		Cookie:         &http.Cookie{Name: "eio", HttpOnly: true},
		InitialHeaders: func(h http.Header, r *http.Request) { h.Set("X-Initial", "1") },
		Headers:        func(h http.Header, r *http.Request) { h.Set("X-Every", "1") },
	}, nil)
	r := st.get(t, "EIO=4&transport=polling")
	sid := parseOpen(t, r.body).SID
	cookie := r.header.Get("Set-Cookie")
	if cookie != "eio="+sid+"; Path=/; HttpOnly; SameSite=Lax" {
		t.Errorf("Set-Cookie %q", cookie)
	}
	if r.header.Get("X-Initial") != "1" || r.header.Get("X-Every") != "1" {
		t.Errorf("hook headers %v", r.header)
	}
	r = st.post(t, "EIO=4&transport=polling&sid="+sid, "4x")
	if r.header.Get("X-Initial") != "" || r.header.Get("X-Every") != "1" || r.header.Get("Set-Cookie") != "" {
		t.Errorf("POST headers %v", r.header)
	}
	// The WebSocket handshake response carries them too.
	c, res, err := websocket.Dial(t.Context(), st.wsURL("EIO=4&transport=websocket"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if res.Header.Get("X-Initial") != "1" || !strings.HasPrefix(res.Header.Get("Set-Cookie"), "eio=") {
		t.Errorf("101 headers %v", res.Header)
	}
}

func TestPathPrefix(t *testing.T) {
	srv := NewServer(&Options{Path: "/rt/"})
	defer func() { _ = srv.Shutdown(t.Context()) }()
	for path, want := range map[string]int{"/rt": 200, "/rt/": 200, "/engine.io/": 404} {
		rec := &recorder{h: http.Header{}}
		req, _ := http.NewRequest("GET", path+"?EIO=4&transport=polling", nil)
		srv.ServeHTTP(rec, req)
		if rec.status != want {
			t.Errorf("%s: %d, want %d", path, rec.status, want)
		}
	}
}

type recorder struct {
	h      http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
