package engineio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPollingMessages(t *testing.T) {
	st := newTestServer(t, nil, nil)
	_, q := st.open(t)
	for _, body := range []string{"4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA==", "4"} {
		r := st.post(t, q, body)
		if r.status != 200 || r.body != "ok" || r.header.Get("Content-Type") != "text/html" {
			t.Fatalf("POST %q: %d %q %v", body, r.status, r.body, r.header)
		}
		if r := st.get(t, q); r.status != 200 || r.body != body {
			t.Fatalf("GET after POST %q: %d %q", body, r.status, r.body)
		}
	}
}

// A GET waits for packets, and packets sent meanwhile go out together.
func TestPollingWaitsAndBatches(t *testing.T) {
	sessions := make(chan *Session, 1)
	st := newTestServer(t, nil, func(s *Session) { sessions <- s })
	_, q := st.open(t)
	s := <-sessions
	got := make(chan response, 1)
	go func() { got <- do(t, "GET", st.base+"?"+q, "") }()
	time.Sleep(50 * time.Millisecond)
	select {
	case r := <-got:
		t.Fatalf("GET returned with nothing to send: %q", r.body)
	default:
	}
	if err := s.Send([]byte("first"), false); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.body != "4first" {
		t.Fatalf("GET %q", r.body)
	}
	for _, m := range []string{"a", "b", "c"} {
		_ = s.Send([]byte(m), false)
	}
	_ = s.Send([]byte{1, 2, 3, 4}, true)
	if r := st.get(t, q); r.body != "4a\x1e4b\x1e4c\x1ebAQIDBA==" {
		t.Fatalf("batched GET %q", r.body)
	}
}

func TestPollingInvalidPacketClosesSession(t *testing.T) {
	st := newTestServer(t, nil, nil)
	sid, q := st.open(t)
	if r := st.post(t, q, "abc"); r.status != 400 {
		t.Errorf("POST abc: %d", r.status)
	}
	if reason := st.waitClosed(t, sid); reason != ReasonParseError {
		t.Errorf("reason %q", reason)
	}
	if r := st.get(t, q); r.status != 400 {
		t.Errorf("GET after parse error: %d", r.status)
	}
}

func TestPollingDuplicateGETClosesSession(t *testing.T) {
	st := newTestServer(t, nil, nil)
	sid, q := st.open(t)
	first := make(chan response, 1)
	go func() { first <- do(t, "GET", st.base+"?"+q, "") }()
	waitFor(t, func() bool { return st.Session(sid).pollParked() })
	second := st.get(t, q+"&t=burst")
	if second.status != 400 {
		t.Errorf("second GET: %d", second.status)
	}
	if r := <-first; r.status != 200 || r.body != "1" {
		t.Errorf("first GET: %d %q", r.status, r.body)
	}
	if reason := st.waitClosed(t, sid); reason != ReasonTransportError {
		t.Errorf("reason %q", reason)
	}
	if r := st.get(t, q); r.status != 400 {
		t.Errorf("GET after: %d", r.status)
	}
}

func (s *Session) pollParked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pollWake != nil
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// The client's close packet ends the session; a waiting GET gets a noop.
func TestPollingClientClose(t *testing.T) {
	st := newTestServer(t, nil, nil)
	sid, q := st.open(t)
	pending := make(chan response, 1)
	go func() { pending <- do(t, "GET", st.base+"?"+q, "") }()
	waitFor(t, func() bool { return st.Session(sid).pollParked() })
	if r := st.post(t, q, "1"); r.status != 200 {
		t.Errorf("POST close: %d", r.status)
	}
	if r := <-pending; r.body != "6" {
		t.Errorf("pending GET: %q", r.body)
	}
	if reason := st.waitClosed(t, sid); reason != ReasonTransportClose {
		t.Errorf("reason %q", reason)
	}
	if r := st.get(t, q); r.status != 400 {
		t.Errorf("GET after close: %d", r.status)
	}
}

// Session.Close writes what is queued, then the close packet.
func TestPollingServerClose(t *testing.T) {
	sessions := make(chan *Session, 2)
	st := newTestServer(t, nil, func(s *Session) { sessions <- s })
	sid, q := st.open(t)
	s := <-sessions
	_ = s.Send([]byte("bye"), false)
	_ = s.Close()
	if err := s.Send([]byte("late"), false); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
	if r := st.get(t, q); r.body != "4bye" {
		t.Errorf("GET: %q", r.body)
	}
	if r := st.get(t, q); r.body != "1" {
		t.Errorf("second GET: %q", r.body)
	}
	if reason := st.waitClosed(t, sid); reason != ReasonForcedClose {
		t.Errorf("reason %q", reason)
	}
	// With a GET waiting.
	sid, q = st.open(t)
	s = <-sessions
	pending := make(chan response, 1)
	go func() { pending <- do(t, "GET", st.base+"?"+q, "") }()
	waitFor(t, func() bool { return s.pollParked() })
	_ = s.Close()
	if r := <-pending; r.body != "1" {
		t.Errorf("pending GET: %q", r.body)
	}
	if reason := st.waitClosed(t, sid); reason != ReasonForcedClose || s.CloseReason() != ReasonForcedClose {
		t.Errorf("reason %q", reason)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done not closed")
	}
}

// A polling client that never comes back after Close is closed after the
// close timeout.
func TestPollingCloseTimeout(t *testing.T) {
	sessions := make(chan *Session, 1)
	st := newTestServer(t, nil, func(s *Session) { sessions <- s })
	st.cfg.closeTimeout = 50 * time.Millisecond
	sid, _ := st.open(t)
	_ = (<-sessions).Close()
	if reason := st.waitClosed(t, sid); reason != ReasonForcedClose {
		t.Errorf("reason %q", reason)
	}
}

// A GET abandoned by the client closes the session, as in Node.
func TestPollingAbortedGET(t *testing.T) {
	st := newTestServer(t, nil, nil)
	sid, q := st.open(t)
	ctx, cancel := contextWithCancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", st.base+"?"+q, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := http.DefaultTransport.RoundTrip(req)
		if err == nil {
			res.Body.Close()
		}
	}()
	waitFor(t, func() bool { return st.Session(sid).pollParked() })
	cancel()
	<-done
	if reason := st.waitClosed(t, sid); reason != ReasonTransportError {
		t.Errorf("reason %q", reason)
	}
}

func TestPollingPayloadTooLarge(t *testing.T) {
	st := newTestServer(t, &Options{MaxHTTPBufferSize: 1000}, nil)
	sid, q := st.open(t)
	if r := st.post(t, q, "4"+strings.Repeat("x", 999)); r.status != 200 {
		t.Fatalf("POST at the limit: %d", r.status)
	}
	if r := st.get(t, q); len(r.body) != 1000 {
		t.Fatalf("echo of %d bytes", len(r.body))
	}
	if r := st.post(t, q, "4"+strings.Repeat("x", 1000)); r.status != 413 {
		t.Errorf("POST over the limit: %d", r.status)
	}
	if reason := st.waitClosed(t, sid); reason != ReasonTransportError {
		t.Errorf("reason %q", reason)
	}
	// Chunked, with no Content-Length: the limit holds as the body streams.
	sid, q = st.open(t)
	req, _ := http.NewRequest("POST", st.base+"?"+q, io.MultiReader(strings.NewReader("4"), &endless{}))
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		if res.StatusCode != 413 {
			t.Errorf("chunked POST: %d", res.StatusCode)
		}
		res.Body.Close()
	}
	if reason := st.waitClosed(t, sid); reason != ReasonTransportError {
		t.Errorf("reason %q", reason)
	}
}

// endless yields 'x' for ever (a bounded test: the server stops reading).
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n > 64<<20 {
		return 0, io.EOF
	}
	for i := range p {
		p[i] = 'x'
	}
	e.n += len(p)
	return len(p), nil
}

func TestPollingBinaryContentTypeRefused(t *testing.T) {
	st := newTestServer(t, nil, nil)
	sid, q := st.open(t)
	if r := st.post(t, q, "4hi", "Content-Type", "application/octet-stream"); r.status != 400 {
		t.Errorf("status %d", r.status)
	}
	if reason := st.waitClosed(t, sid); reason != ReasonTransportError {
		t.Errorf("reason %q", reason)
	}
}

func TestPollingOverlappingPOST(t *testing.T) {
	st := newTestServer(t, nil, func(s *Session) {
		s.OnMessage(func([]byte, bool) { time.Sleep(200 * time.Millisecond) })
	})
	sid, q := st.open(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); do(t, "POST", st.base+"?"+q, "4slow") }()
	waitFor(t, func() bool {
		s := st.Session(sid)
		if s == nil {
			return true
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.posting
	})
	if r := st.post(t, q, "4second"); r.status != 400 {
		t.Errorf("overlapping POST: %d", r.status)
	}
	wg.Wait()
	if reason := st.waitClosed(t, sid); reason != ReasonTransportError {
		t.Errorf("reason %q", reason)
	}
}

func TestPollingHTTPCompression(t *testing.T) {
	sessions := make(chan *Session, 4)
	st := newTestServer(t, nil, func(s *Session) { sessions <- s })
	big := strings.Repeat("compressible ", 200)
	for _, enc := range []string{"gzip", "deflate", "br", "gzip;q=0, deflate"} {
		_, q := st.open(t)
		s := <-sessions
		_ = s.Send([]byte(big), false)
		r := st.get(t, q, "Accept-Encoding", enc)
		want := map[string]string{"gzip": "gzip", "deflate": "deflate", "br": "", "gzip;q=0, deflate": "deflate"}[enc]
		if got := r.header.Get("Content-Encoding"); got != want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", enc, got, want)
			continue
		}
		body := []byte(r.body)
		switch want {
		case "gzip":
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
		case "deflate":
			zr, err := zlib.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
		}
		if string(body) != "4"+big {
			t.Errorf("%s: body of %d bytes", enc, len(body))
		}
	}
	// Below the threshold: not compressed.
	_, q := st.open(t)
	_ = (<-sessions).Send([]byte("small"), false)
	if r := st.get(t, q, "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "" || r.body != "4small" {
		t.Errorf("small response: %v %q", r.header, r.body)
	}
	// Disabled.
	st2 := newTestServer(t, &Options{DisableHTTPCompression: true}, func(s *Session) { _ = s.Send([]byte(big), false) })
	r := st2.get(t, "EIO=4&transport=polling", "Accept-Encoding", "gzip")
	_, q = "", "EIO=4&transport=polling&sid="+parseOpen(t, strings.Split(r.body, "\x1e")[0]).SID
	if r := st2.get(t, q, "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "" {
		t.Errorf("compression disabled but got %q", r.header.Get("Content-Encoding"))
	}
}

func TestPickEncoding(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"identity":                "",
		"gzip, deflate, br":       "gzip",
		"deflate;q=1, gzip;q=0.5": "deflate",
		"*":                       "gzip",
		"*;q=0":                   "",
		"gzip;q=bad":              "",
		"DEFLATE":                 "deflate",
	} {
		if got := pickEncoding([]string{in}); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// Idle polling sessions hold no goroutine: the heartbeat is timers only.
func TestPollingSessionsHoldNoGoroutine(t *testing.T) {
	st := newTestServer(t, nil, nil)
	st.open(t) // warm up the client's connection pool
	before := runtime.NumGoroutine()
	for range 200 {
		st.open(t)
	}
	time.Sleep(20 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+10 {
		t.Errorf("%d goroutines before, %d after 200 idle sessions", before, after)
	}
	if st.Count() != 201 {
		t.Errorf("count %d", st.Count())
	}
}
