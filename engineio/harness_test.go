package engineio

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsio/wsio/websocket"
)

const testTimeout = 10 * time.Second

// testServer is a Server behind httptest with a record of closed sessions.
type testServer struct {
	*Server
	ts     *httptest.Server
	base   string // http://127.0.0.1:port/engine.io/
	mu     sync.Mutex
	closed map[string]string // sid -> close reason
	byID   map[string]*Session
	events chan string // "close:<sid>:<reason>"
}

// newTestServer starts srv with opts; onConn, when set, replaces the echo
// behaviour.
func newTestServer(t *testing.T, opts *Options, onConn func(*Session)) *testServer {
	t.Helper()
	srv := NewServer(opts)
	st := &testServer{Server: srv, closed: map[string]string{}, byID: map[string]*Session{}, events: make(chan string, 1024)}
	srv.OnConnection(func(s *Session) {
		st.mu.Lock()
		st.byID[s.ID()] = s
		st.mu.Unlock()
		s.OnClose(func(reason string, err error) {
			st.mu.Lock()
			st.closed[s.ID()] = reason
			st.mu.Unlock()
			select {
			case st.events <- "close:" + s.ID() + ":" + reason:
			default:
			}
		})
		if onConn != nil {
			onConn(s)
			return
		}
		s.OnMessage(func(data []byte, binary bool) {
			_ = s.Send(append([]byte(nil), data...), binary)
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	st.ts = httptest.NewServer(mux)
	st.base = st.ts.URL + "/engine.io/"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		st.ts.CloseClientConnections()
		st.ts.Close()
	})
	return st
}

// waitClosed waits for the session sid to close and returns its reason.
func (st *testServer) waitClosed(t *testing.T, sid string) string {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		st.mu.Lock()
		r, ok := st.closed[sid]
		st.mu.Unlock()
		if ok {
			return r
		}
		select {
		case <-st.events:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("session %s still open", sid)
		}
	}
}

type response struct {
	status int
	body   string
	header http.Header
}

func do(t *testing.T, method, url, body string, header ...string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{res.StatusCode, string(b), res.Header}
}

func (st *testServer) get(t *testing.T, query string, header ...string) response {
	t.Helper()
	return do(t, http.MethodGet, st.base+"?"+query, "", header...)
}

func (st *testServer) post(t *testing.T, query, body string, header ...string) response {
	t.Helper()
	return do(t, http.MethodPost, st.base+"?"+query, body, header...)
}

type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func parseOpen(t *testing.T, body string) openPacket {
	t.Helper()
	if !strings.HasPrefix(body, "0") {
		t.Fatalf("not an open packet: %q", body)
	}
	var op openPacket
	dec := json.NewDecoder(strings.NewReader(body[1:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&op); err != nil {
		t.Fatalf("open packet %q: %v", body, err)
	}
	return op
}

// open performs a polling handshake and returns the session's query.
func (st *testServer) open(t *testing.T) (sid, query string) {
	t.Helper()
	r := st.get(t, "EIO=4&transport=polling")
	if r.status != 200 {
		t.Fatalf("handshake: %d %s", r.status, r.body)
	}
	sid = parseOpen(t, r.body).SID
	return sid, "EIO=4&transport=polling&sid=" + sid
}

func (st *testServer) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(st.base, "http") + "?" + query
}

func (st *testServer) dial(t *testing.T, query string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, st.wsURL(query), &websocket.DialOptions{ReadLimit: 4 << 20})
	if err != nil {
		t.Fatalf("dial %s: %v", query, err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func readWS(t *testing.T, c *websocket.Conn) (websocket.MessageType, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("ws read: %v", err)
	}
	return typ, string(b)
}

func writeWS(t *testing.T, c *websocket.Conn, typ websocket.MessageType, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Write(ctx, typ, []byte(s)); err != nil {
		t.Fatalf("ws write %q: %v", s, err)
	}
}

// readWSErr reads until an error and returns it.
func readWSErr(t *testing.T, c *websocket.Conn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for range 1000 {
		if _, _, err := c.Read(ctx); err != nil {
			return err
		}
	}
	t.Fatal("connection still open after 1000 messages")
	return nil
}

func fastHeartbeat() *Options {
	return &Options{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func (st *testServer) closedSession(sid string) *Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.byID[sid]
}
