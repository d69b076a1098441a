package websocket

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAcceptKeyRFCVector(t *testing.T) {
	// RFC 6455 section 1.3.
	if got := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("acceptKey = %q", got)
	}
}

func handshakeReq(method, proto string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest(method, "http://example.com/ws", nil)
	r.Proto = proto
	r.ProtoMajor, r.ProtoMinor = int(proto[5]-'0'), int(proto[7]-'0')
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	for k, v := range hdr {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	return r
}

func TestAcceptRejectsBadRequests(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		proto   string
		hdr     map[string]string
		status  int
		version bool // expects Sec-WebSocket-Version: 13 in the answer
	}{
		{"POST", "POST", "HTTP/1.1", nil, 405, false},
		{"HTTP/1.0", "GET", "HTTP/1.0", nil, 400, false},
		{"no Upgrade", "GET", "HTTP/1.1", map[string]string{"Upgrade": ""}, 426, false},
		{"Upgrade h2c", "GET", "HTTP/1.1", map[string]string{"Upgrade": "h2c"}, 426, false},
		{"no Connection upgrade", "GET", "HTTP/1.1", map[string]string{"Connection": "keep-alive"}, 426, false},
		{"version 8", "GET", "HTTP/1.1", map[string]string{"Sec-WebSocket-Version": "8"}, 426, true},
		{"no version", "GET", "HTTP/1.1", map[string]string{"Sec-WebSocket-Version": ""}, 426, true},
		{"no key", "GET", "HTTP/1.1", map[string]string{"Sec-WebSocket-Key": ""}, 400, false},
		{"key not base64", "GET", "HTTP/1.1", map[string]string{"Sec-WebSocket-Key": "not base64!"}, 400, false},
		{"key 15 bytes", "GET", "HTTP/1.1", map[string]string{"Sec-WebSocket-Key": "AAAAAAAAAAAAAAAAAAAA"}, 400, false},
		{"cross origin", "GET", "HTTP/1.1", map[string]string{"Origin": "https://evil.example"}, 403, false},
		{"bad origin", "GET", "HTTP/1.1", map[string]string{"Origin": "::::"}, 403, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			_, err := Accept(w, handshakeReq(tc.method, tc.proto, tc.hdr), nil)
			if !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("err = %v", err)
			}
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("Sec-WebSocket-Version"); tc.version && got != "13" {
				t.Fatalf("Sec-WebSocket-Version = %q", got)
			}
		})
	}
}

func TestAcceptTokensAreCaseInsensitiveLists(t *testing.T) {
	r := handshakeReq("GET", "HTTP/1.1", map[string]string{"Connection": "keep-alive, UPGRADE", "Upgrade": "WebSocket"})
	if _, err := checkRequest(r); err != nil {
		t.Fatal(err)
	}
}

func TestOriginPolicy(t *testing.T) {
	cases := []struct {
		origin   string
		patterns []string
		ok       bool
	}{
		{"", nil, true},
		{"http://example.com", nil, true},
		{"https://EXAMPLE.com", nil, true},
		{"https://other.example", nil, false},
		{"https://app.trusted.io", []string{"*.trusted.io"}, true},
		{"https://trusted.io.evil", []string{"*.trusted.io"}, false},
		{"http://localhost:5173", []string{"localhost:*"}, true},
	}
	for _, tc := range cases {
		r := handshakeReq("GET", "HTTP/1.1", map[string]string{"Origin": tc.origin})
		err := checkOrigin(r, tc.patterns)
		if (err == nil) != tc.ok {
			t.Errorf("origin %q patterns %v: err %v", tc.origin, tc.patterns, err)
		}
	}
	w := httptest.NewRecorder()
	r := handshakeReq("GET", "HTTP/1.1", map[string]string{"Origin": "https://other.example"})
	if _, err := Accept(w, r, &AcceptOptions{InsecureSkipVerify: true}); err == nil || errors.Is(err, ErrBadHandshake) {
		// A recorder cannot be hijacked: the origin check passed and the
		// failure comes from Hijack, not from the policy.
		t.Fatalf("InsecureSkipVerify: err = %v", err)
	}
}

func TestSubprotocolSelection(t *testing.T) {
	r := handshakeReq("GET", "HTTP/1.1", map[string]string{"Sec-WebSocket-Protocol": "chat, superchat"})
	if got := selectSubprotocol(r, []string{"superchat", "chat"}); got != "superchat" {
		t.Fatalf("server preference: %q", got)
	}
	if got := selectSubprotocol(r, []string{"mqtt"}); got != "" {
		t.Fatalf("no common protocol: %q", got)
	}
	url := serve(t, &AcceptOptions{Subprotocols: []string{"b", "a"}}, nil, echo)
	c, resp, err := Dial(testCtx(t), url, &DialOptions{Subprotocols: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if c.Subprotocol() != "b" || resp.Header.Get("Sec-WebSocket-Protocol") != "b" {
		t.Fatalf("subprotocol %q", c.Subprotocol())
	}
}

func TestDeflateNegotiation(t *testing.T) {
	cases := []struct {
		offer string
		mode  CompressionMode
		want  string // "" = declined
	}{
		{"permessage-deflate", CompressionContextTakeover, "permessage-deflate"},
		{"permessage-deflate; client_max_window_bits", CompressionContextTakeover, "permessage-deflate"},
		{"permessage-deflate", CompressionNoContextTakeover, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"permessage-deflate; server_no_context_takeover", CompressionContextTakeover, "permessage-deflate; server_no_context_takeover"},
		{"permessage-deflate; client_no_context_takeover", CompressionContextTakeover, "permessage-deflate; client_no_context_takeover"},
		{"permessage-deflate; server_max_window_bits=15", CompressionContextTakeover, "permessage-deflate; server_max_window_bits=15"},
		{"permessage-deflate; client_max_window_bits=9", CompressionContextTakeover, "permessage-deflate"},
		// Offers we cannot meet are declined, and the next one is tried.
		{"permessage-deflate; server_max_window_bits=10", CompressionContextTakeover, ""},
		{"permessage-deflate; server_max_window_bits=10, permessage-deflate", CompressionContextTakeover, "permessage-deflate"},
		// Invalid offers are declined.
		{"permessage-deflate; unknown_param", CompressionContextTakeover, ""},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", CompressionContextTakeover, ""},
		{"permessage-deflate; server_max_window_bits=7", CompressionContextTakeover, ""},
		{"permessage-deflate; server_max_window_bits=16", CompressionContextTakeover, ""},
		{"permessage-deflate; server_max_window_bits=010", CompressionContextTakeover, ""},
		{"permessage-deflate; server_max_window_bits", CompressionContextTakeover, ""},
		{"permessage-deflate; server_no_context_takeover=1", CompressionContextTakeover, ""},
		{"x-webkit-deflate-frame", CompressionContextTakeover, ""},
		{"permessage-deflate", CompressionDisabled, ""},
	}
	for _, tc := range cases {
		h := http.Header{"Sec-Websocket-Extensions": {tc.offer}}
		exts, _ := parseExtensions(h)
		p, ok := negotiateDeflate(exts, tc.mode)
		got := ""
		if ok {
			got = p.String()
		}
		if got != tc.want {
			t.Errorf("offer %q mode %d: got %q, want %q", tc.offer, tc.mode, got, tc.want)
		}
	}
}

func TestAcceptKeepsBytesSentWithTheRequest(t *testing.T) {
	url := echoServer(t, nil, nil)
	host := strings.TrimPrefix(url, "ws://")
	nc, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET / HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	frame := rawFrame{fin: true, op: opText, payload: []byte("early"), masked: true}.bytes()
	if _, err := nc.Write(append([]byte(req), frame...)); err != nil { // one write: the server buffers both
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	_ = nc.SetReadDeadline(time.Now().Add(testTimeout))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	p := &rawPeer{t: t, nc: nc, br: br, client: true}
	if f := p.mustRecv(); string(f.payload) != "early" {
		t.Fatalf("echo %q", f.payload)
	}
}

func TestAcceptUnderMiddleware(t *testing.T) {
	// A ResponseWriter wrapped by middleware that exposes Unwrap, as chi and
	// gin do, and a ServeMux route.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws/{room}", func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_ = c.Write(r.Context(), MessageText, []byte(r.PathValue("room")))
		_ = c.Close(StatusNormalClosure, "")
	})
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Trace", "abc")
		mux.ServeHTTP(&wrappedWriter{ResponseWriter: w}, r)
	})
	srv := httptest.NewServer(logged)
	defer srv.Close()
	c, resp, err := Dial(testCtx(t), "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/lobby", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if resp.Header.Get("X-Trace") != "abc" {
		t.Fatalf("middleware header lost: %v", resp.Header)
	}
	_, msg, err := c.Read(testCtx(t))
	if err != nil || string(msg) != "lobby" {
		t.Fatalf("read %q %v", msg, err)
	}
}

type wrappedWriter struct{ http.ResponseWriter }

func (w *wrappedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestAcceptResponseHeader(t *testing.T) {
	url := serve(t, &AcceptOptions{ResponseHeader: http.Header{"Set-Cookie": {"sid=1"}}}, nil, echo)
	c, resp, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if resp.Header.Get("Set-Cookie") != "sid=1" {
		t.Fatalf("headers %v", resp.Header)
	}
}

func TestDialVerifiesResponse(t *testing.T) {
	cases := []struct {
		name string
		resp string
	}{
		{"not 101", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"},
		{"wrong accept", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n"},
		{"no upgrade", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"},
		{"no connection", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"},
		{"subprotocol not offered", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"},
		{"extension not offered", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := scriptedServer(t, tc.resp)
			c, resp, err := Dial(testCtx(t), url, nil)
			if err == nil {
				c.CloseNow()
				t.Fatal("Dial accepted a bad response")
			}
			if !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("err = %v", err)
			}
			if tc.name == "not 101" && (resp == nil || resp.StatusCode != 200) {
				t.Fatalf("response not returned: %v", resp)
			}
		})
	}
}

func TestDialRejectsUnofferedDeflateParams(t *testing.T) {
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n"
	url := scriptedServer(t, resp)
	_, _, err := Dial(testCtx(t), url, &DialOptions{Compression: CompressionContextTakeover})
	if !errors.Is(err, ErrBadHandshake) {
		t.Fatalf("err = %v", err)
	}
}

// scriptedServer answers one handshake with resp, where {accept} is
// replaced by the correct Sec-WebSocket-Accept.
func scriptedServer(t *testing.T, resp string) string {
	addr := acceptOne(t, func(nc net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			return
		}
		_, _ = nc.Write([]byte(strings.ReplaceAll(resp, "{accept}", acceptKey(req.Header.Get("Sec-WebSocket-Key")))))
		_, _ = nc.Read(make([]byte, 1)) // wait for the client to hang up
	})
	return "ws://" + addr + "/"
}

func TestDialHandshakeBoundedByContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer func() { ln.Close(); <-done }()
	go func() { // accepts, then never answers; returns when the client hangs up
		defer close(done)
		nc, err := ln.Accept()
		if err == nil {
			_ = nc.SetDeadline(time.Now().Add(testTimeout))
			_, _ = io.Copy(io.Discard, nc)
			nc.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Dial took %v", d)
	}
}

func TestDialBadURL(t *testing.T) {
	for _, u := range []string{"ftp://x/", "ws://", "::"} {
		if _, _, err := Dial(context.Background(), u, nil); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
}

func TestDialTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil)
		if err != nil {
			return
		}
		_ = echo(c)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused certificate is expected
	srv.StartTLS()
	defer srv.Close()
	url := "wss" + strings.TrimPrefix(srv.URL, "https")
	if _, _, err := Dial(testCtx(t), url, nil); err == nil {
		t.Fatal("untrusted certificate accepted")
	}
	c, _, err := Dial(testCtx(t), url, &DialOptions{TLSConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(testCtx(t), MessageText, []byte("secure")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(testCtx(t)); err != nil || string(msg) != "secure" {
		t.Fatalf("%q %v", msg, err)
	}
}

func TestDialThroughProxy(t *testing.T) {
	url := echoServer(t, nil, nil)
	proxy, seen := connectProxy(t)
	c, _, err := Dial(testCtx(t), url, &DialOptions{Proxy: http.ProxyURL(proxy)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(testCtx(t), MessageText, []byte("via proxy")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(testCtx(t)); err != nil || string(msg) != "via proxy" {
		t.Fatalf("%q %v", msg, err)
	}
	if got := <-seen; got != strings.TrimPrefix(url, "ws://") {
		t.Fatalf("proxy saw CONNECT %q", got)
	}
}
