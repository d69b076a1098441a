package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsio/wsio/engineio"
)

// Helpers of engineio_test.go: our engineio server on 127.0.0.1, recording
// what each session receives, and the events node/eio-client.mjs prints.

// jsEvent is one JSON line of node/eio-client.mjs.
type jsEvent struct {
	Event     string `json:"event"`
	Transport string `json:"transport"`
	SID       string `json:"sid"`
	Binary    bool   `json:"binary"`
	Length    int    `json:"length"`
	SHA256    string `json:"sha256"`
	Data      string `json:"data"`
	OK        bool   `json:"ok"`
	N         int    `json:"n"`
	Reason    string `json:"reason"`
	Desc      string `json:"desc"`
	Code      int    `json:"code"`
	Status    int    `json:"status"`
	Message   string `json:"message"`
}

// jsClient is a running node/eio-client.mjs.
type jsClient struct {
	node  *nodePeer
	taken map[string]int
}

// startJSClient runs node/eio-client.mjs against url with args. The test's
// cleanup stops node if it is still running.
func startJSClient(t *testing.T, ctx context.Context, url string, args ...string) *jsClient {
	t.Helper()
	if _, err := os.Stat(filepath.Join("node_modules", "engine.io-client", "package.json")); err != nil {
		missingPeer(t, "interop/node_modules/engine.io-client is missing: run npm ci in interop")
	}
	p := startNode(t, ctx, "eio-client.mjs", append([]string{"url=" + url}, args...)...)
	return &jsClient{node: p, taken: map[string]int{}}
}

// next returns the next event of kind that no earlier call returned,
// waiting for it while node runs.
func (c *jsClient) next(t *testing.T, ctx context.Context, kind string) jsEvent {
	t.Helper()
	for {
		lines, more := c.node.stdout.snapshot()
		seen := 0
		for _, line := range lines {
			var e jsEvent
			if json.Unmarshal([]byte(line), &e) != nil || e.Event != kind {
				continue
			}
			if seen == c.taken[kind] {
				c.taken[kind]++
				return e
			}
			seen++
		}
		c.node.await(t, ctx, more, "a "+kind+" event")
	}
}

// events returns every event of kind printed so far.
func (c *jsClient) events(kind string) []jsEvent {
	lines, _ := c.node.stdout.snapshot()
	var out []jsEvent
	for _, line := range lines {
		var e jsEvent
		if json.Unmarshal([]byte(line), &e) == nil && e.Event == kind {
			out = append(out, e)
		}
	}
	return out
}

// goEngine is our engineio server on an httptest server, mounted at
// /engine.io/. Every message is echoed with its binary flag, except the
// text "cmd:close", on which the server sends "bye" and closes the session.
type goEngine struct {
	eio      *engineio.Server
	url      string
	sessions chan *goEngineSession

	mu    sync.Mutex
	posts []int // the status of every polling POST answered
}

// postStatuses returns the status of every polling POST answered so far.
func (g *goEngine) postStatuses() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.posts...)
}

// statusWriter records the status a handler answers with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// goEngineSession records what happens to one session.
type goEngineSession struct {
	s        *engineio.Session
	opened   time.Time
	upgraded chan time.Time // receives the time of OnUpgrade
	closed   chan goClose   // receives the OnClose call

	mu  sync.Mutex
	got []gotMessage
}

// gotMessage is one message the server received.
type gotMessage struct {
	binary    bool
	length    int
	sha256    string
	data      string // the message when at most 64 bytes: text as is, binary in hex
	transport string // the session's transport when it arrived
}

// goClose is one OnClose call.
type goClose struct {
	reason string
	err    error
	at     time.Time
}

// startGoEngine starts our server with opts. The test's cleanup shuts the
// engine down (which ends waiting polls and WebSocket goroutines), then the
// HTTP server.
func startGoEngine(t *testing.T, opts *engineio.Options) *goEngine {
	t.Helper()
	g := &goEngine{eio: engineio.NewServer(opts), sessions: make(chan *goEngineSession, 4)}
	g.eio.OnConnection(func(s *engineio.Session) {
		gs := &goEngineSession{s: s, opened: time.Now(), upgraded: make(chan time.Time, 1), closed: make(chan goClose, 1)}
		s.OnMessage(func(data []byte, binary bool) { gs.onMessage(data, binary) })
		s.OnUpgrade(func(string) { gs.upgraded <- time.Now() })
		s.OnClose(func(reason string, err error) { gs.closed <- goClose{reason, err, time.Now()} })
		select {
		case g.sessions <- gs:
		default: // the scenarios open one session; more are not recorded
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			g.eio.ServeHTTP(w, r) // GETs and WebSocket handshakes as they come
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		g.eio.ServeHTTP(sw, r)
		g.mu.Lock()
		g.posts = append(g.posts, sw.status)
		g.mu.Unlock()
	}))
	hs := httptest.NewServer(mux)
	g.url = hs.URL
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.eio.Shutdown(ctx); err != nil {
			t.Errorf("engineio Shutdown: %v", err)
		}
	})
	return g
}

func (gs *goEngineSession) onMessage(data []byte, binary bool) {
	m := gotMessage{binary: binary, length: len(data), sha256: sha256Hex(data), transport: gs.s.Transport()}
	if len(data) <= 64 {
		m.data = string(data)
		if binary {
			m.data = hex.EncodeToString(data)
		}
	}
	gs.mu.Lock()
	gs.got = append(gs.got, m)
	gs.mu.Unlock()
	if !binary && string(data) == "cmd:close" {
		_ = gs.s.Send([]byte("bye"), false)
		_ = gs.s.Close()
		return
	}
	_ = gs.s.Send(bytes.Clone(data), binary)
}

// received returns the messages received so far.
func (gs *goEngineSession) received() []gotMessage {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	return append([]gotMessage(nil), gs.got...)
}

// session waits for the server's next session.
func (g *goEngine) session(t *testing.T, ctx context.Context, c *jsClient) *goEngineSession {
	t.Helper()
	select {
	case gs := <-g.sessions:
		return gs
	case <-ctx.Done():
		t.Fatalf("no session opened: %v%s", ctx.Err(), c.node.logs())
		return nil
	}
}

// closeCall waits for the session's OnClose call.
func (gs *goEngineSession) closeCall(t *testing.T, ctx context.Context, c *jsClient) goClose {
	t.Helper()
	select {
	case cl := <-gs.closed:
		return cl
	case <-ctx.Done():
		t.Fatalf("OnClose was not called: %v%s", ctx.Err(), c.node.logs())
		return goClose{}
	}
}

// upgradeCall waits for the session's OnUpgrade call.
func (gs *goEngineSession) upgradeCall(t *testing.T, ctx context.Context, c *jsClient) time.Time {
	t.Helper()
	select {
	case at := <-gs.upgraded:
		return at
	case cl := <-gs.closed:
		// Both may be ready (a scenario that closes right after the
		// upgrade); OnUpgrade, if it ran, ran first.
		select {
		case at := <-gs.upgraded:
			gs.closed <- cl // for closeCall
			return at
		default:
		}
		t.Fatalf("closed (%q, %v) instead of upgrading%s", cl.reason, cl.err, c.node.logs())
	case <-ctx.Done():
		t.Fatalf("OnUpgrade was not called: %v%s", ctx.Err(), c.node.logs())
	}
	return time.Time{}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// shortJS abbreviates a message for failure output.
func shortJS(e jsEvent) string {
	d := e.Data
	if d == "" && e.Length > 0 {
		d = e.SHA256[:12] + "..."
	}
	kind := "text"
	if e.Binary {
		kind = "binary"
	}
	return kind + "(" + strings.TrimSpace(d) + ")"
}
