package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsio/wsio/bench/internal/eioserver"
	"github.com/wsio/wsio/bench/internal/peers"
	"github.com/wsio/wsio/eioparser"
	"github.com/wsio/wsio/engineio"
	"github.com/wsio/wsio/websocket"
)

// Benchmarks of our Engine.IO server's per-message cost (the server of
// the Engine.IO comparison, internal/eioserver), in this process.

var eioSizes = []struct {
	name string
	n    int
}{
	{"32B", 32},
	{"1KiB", 1 << 10},
}

// BenchmarkEngineIOWebSocket measures one round trip over loopback TCP: a
// text message "4"+data from a websocket client to the Engine.IO echo
// server (server=engineio), or to a bare websocket echo server
// (server=websocket) for comparison. The client allocates nothing per
// message, so allocs/op are the server's.
func BenchmarkEngineIOWebSocket(b *testing.B) {
	for _, sz := range eioSizes {
		for _, server := range []string{"engineio", "websocket"} {
			b.Run(fmt.Sprintf("server=%s/size=%s", server, sz.name), func(b *testing.B) {
				benchEIOWebSocket(b, server, peers.Payload(sz.n))
			})
		}
	}
}

func benchEIOWebSocket(b *testing.B, server string, payload []byte) {
	url, stop := startEIOServer(b, server)
	defer stop()
	c, err := dialEIOWebSocket(url, server == "engineio")
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	msg := append([]byte("4"), payload...)
	var buf []byte
	ctx := context.Background()
	echo := func() {
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
		for {
			_, p, err := c.ReadAppend(ctx, buf[:0])
			buf = p
			if err != nil {
				b.Fatal(err)
			}
			if len(p) > 0 && p[0] == '4' {
				break
			}
		}
		if !bytes.Equal(buf, msg) {
			b.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(buf))
		}
	}
	echo() // warm up the buffers and pools
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		echo()
	}
}

// startEIOServer serves the Engine.IO echo server at /engine.io/, or a bare
// websocket echo server, on 127.0.0.1; stop shuts it down.
func startEIOServer(tb testing.TB, server string) (url string, stop func()) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var h http.Handler
	var eio *engineio.Server
	if server == "engineio" {
		eio = eioserver.New()
		mux := http.NewServeMux()
		mux.Handle("/engine.io/", eio)
		h = mux
	} else {
		h = peers.All[0].Handler(peers.ServerOptions{Detach: true})
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return "ws://" + ln.Addr().String() + "/engine.io/?EIO=4&transport=websocket", func() {
		if eio != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := eio.Shutdown(ctx); err != nil {
				tb.Errorf("engineio shutdown: %v", err)
			}
			cancel()
		}
		_ = hs.Close()
	}
}

// dialEIOWebSocket connects a websocket client and, for an Engine.IO
// server, reads the open packet.
func dialEIOWebSocket(url string, engineIO bool) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{ReadLimit: 4 << 20})
	if err != nil {
		return nil, err
	}
	if engineIO {
		_, p, err := c.ReadAppend(ctx, nil)
		if err != nil || len(p) == 0 || p[0] != '0' {
			_ = c.CloseNow()
			return nil, fmt.Errorf("open packet %q: %v", p, err)
		}
	}
	return c, nil
}

// BenchmarkEngineIOPolling calls the Engine.IO server's ServeHTTP directly,
// with reused requests and an in-memory ResponseWriter, so that allocs/op
// are those of the engineio handler alone (net/http's own per-request
// allocations are not included).
//
// op=echo: one POST carrying one message, which the server echoes, and the
// GET that takes the echo. gzip=true sends Accept-Encoding: gzip, which
// compresses answers of 1024 bytes and more.
// op=get/msgs=16: 16 messages queued with Session.Send, then the GET that
// takes them in one payload.
func BenchmarkEngineIOPolling(b *testing.B) {
	for _, sz := range eioSizes {
		for _, gz := range []bool{false, true} {
			if gz && sz.n < 1024 {
				continue // below the compression threshold: the same as gzip=false
			}
			b.Run(fmt.Sprintf("op=echo/size=%s/gzip=%v", sz.name, gz), func(b *testing.B) {
				benchEIOPolling(b, peers.Payload(sz.n), gz, 0)
			})
		}
	}
	b.Run("op=get/msgs=16/size=32B/gzip=false", func(b *testing.B) {
		benchEIOPolling(b, peers.Payload(32), false, 16)
	})
}

func benchEIOPolling(b *testing.B, payload []byte, gz bool, queued int) {
	p := newPollSession(b, gz)
	defer p.close(b)
	msg := append([]byte("4"), payload...)
	var op func()
	if queued == 0 {
		op = func() {
			p.post(b, msg)
			p.get(b)
		}
	} else {
		sess := p.srv.Session(p.sid)
		op = func() {
			for range queued {
				if err := sess.Send(payload, false); err != nil {
					b.Fatal(err)
				}
			}
			p.get(b)
		}
	}
	op() // warm up
	b.ReportAllocs()
	b.SetBytes(int64(len(payload) * max(queued, 1)))
	for b.Loop() {
		op()
	}
	if queued > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*queued), "ns/msg")
	}
	// The last answer must hold what was sent.
	packets, err := eioparser.DecodePayload(p.lastGet(b), eioparser.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	if len(packets) != max(queued, 1) || !bytes.Equal(packets[0].Data, payload) {
		b.Fatalf("last GET brought %d packets, the first %q", len(packets), packets[0].Data)
	}
}

// pollSession is a polling session driven through ServeHTTP.
type pollSession struct {
	srv       *engineio.Server
	sid       string
	w         memWriter
	getReq    *http.Request
	postReq   *http.Request
	postBody  rewindBody
	gzip      bool
	lastWasGz bool
}

func newPollSession(tb testing.TB, gz bool) *pollSession {
	tb.Helper()
	p := &pollSession{srv: eioserver.New(), gzip: gz, w: memWriter{h: http.Header{}}}
	hs := httptest.NewRequest(http.MethodGet, "http://bench.invalid/engine.io/?EIO=4&transport=polling", nil)
	p.srv.ServeHTTP(&p.w, hs)
	packets, err := eioparser.DecodePayload(p.w.body, eioparser.Limits{})
	if err != nil || len(packets) == 0 || packets[0].Type != eioparser.PacketOpen {
		tb.Fatalf("handshake answered %q: %v", p.w.body, err)
	}
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(packets[0].Data, &open); err != nil {
		tb.Fatal(err)
	}
	p.sid = open.SID
	u := "http://bench.invalid/engine.io/?EIO=4&transport=polling&sid=" + p.sid
	p.getReq = httptest.NewRequest(http.MethodGet, u, nil)
	if gz {
		p.getReq.Header.Set("Accept-Encoding", "gzip")
	}
	p.postReq = httptest.NewRequest(http.MethodPost, u, nil)
	p.postReq.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	p.postReq.Body = &p.postBody
	return p
}

func (p *pollSession) post(tb testing.TB, msg []byte) {
	p.postBody.reset(msg)
	p.postReq.ContentLength = int64(len(msg))
	p.w.reset()
	p.srv.ServeHTTP(&p.w, p.postReq)
	if p.w.code != http.StatusOK || string(p.w.body) != "ok" {
		tb.Fatalf("POST answered %d %q", p.w.code, p.w.body)
	}
}

func (p *pollSession) get(tb testing.TB) {
	p.w.reset()
	p.srv.ServeHTTP(&p.w, p.getReq)
	if p.w.code != http.StatusOK || len(p.w.body) == 0 {
		tb.Fatalf("GET answered %d %q", p.w.code, p.w.body)
	}
	p.lastWasGz = p.w.h.Get("Content-Encoding") == "gzip"
}

// lastGet returns the body of the last GET, decompressed.
func (p *pollSession) lastGet(tb testing.TB) []byte {
	if !p.lastWasGz {
		return p.w.body
	}
	zr, err := gzip.NewReader(bytes.NewReader(p.w.body))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func (p *pollSession) close(tb testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		tb.Errorf("engineio shutdown: %v", err)
	}
}

// memWriter is an http.ResponseWriter that keeps the response in memory
// and is reused from one request to the next.
type memWriter struct {
	h    http.Header
	code int
	body []byte
}

func (w *memWriter) Header() http.Header { return w.h }
func (w *memWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *memWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, p...)
	return len(p), nil
}

// WriteString lets io.WriteString write without converting to []byte, as
// net/http's ResponseWriter does.
func (w *memWriter) WriteString(s string) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, s...)
	return len(s), nil
}

func (w *memWriter) reset() {
	clear(w.h)
	w.code = 0
	w.body = w.body[:0]
}

// rewindBody is a request body that can be refilled.
type rewindBody struct{ r bytes.Reader }

func (b *rewindBody) reset(p []byte)             { b.r.Reset(p) }
func (b *rewindBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *rewindBody) Close() error               { return nil }

// TestEngineIOBenchmarks runs the Engine.IO benchmark bodies once, quickly,
// as a check that they work.
func TestEngineIOBenchmarks(t *testing.T) {
	for _, server := range []string{"engineio", "websocket"} {
		url, stop := startEIOServer(t, server)
		c, err := dialEIOWebSocket(url, server == "engineio")
		if err != nil {
			stop()
			t.Fatal(err)
		}
		msg := append([]byte("4"), peers.Payload(100)...)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			t.Fatal(err)
		}
		_, p, err := c.ReadAppend(ctx, nil)
		cancel()
		if err != nil || !bytes.Equal(p, msg) {
			t.Errorf("%s: echo %q, %v", server, p, err)
		}
		_ = c.CloseNow()
		stop()
	}
	for _, gz := range []bool{false, true} {
		p := newPollSession(t, gz)
		payload := peers.Payload(2000)
		p.post(t, append([]byte("4"), payload...))
		p.get(t)
		if p.lastWasGz != gz {
			t.Errorf("gzip=%v: answer compressed: %v", gz, p.lastWasGz)
		}
		if got := p.lastGet(t); !bytes.Equal(got, append([]byte("4"), payload...)) {
			t.Errorf("gzip=%v: GET brought %q", gz, got[:min(len(got), 40)])
		}
		sess := p.srv.Session(p.sid)
		for range 3 {
			if err := sess.Send([]byte("x"), false); err != nil {
				t.Fatal(err)
			}
		}
		p.get(t)
		if got := string(p.lastGet(t)); got != strings.Repeat("4x\x1e", 2)+"4x" {
			t.Errorf("three queued messages came as %q", got)
		}
		p.close(t)
	}
}
