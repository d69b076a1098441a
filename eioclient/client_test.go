package eioclient

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsio/wsio/eioparser"
	"github.com/wsio/wsio/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// message is one OnMessage call.
type message struct {
	data   string
	binary bool
}

// recorder collects a client's callbacks and checks that they never run
// concurrently and that OnClose comes last, once.
type recorder struct {
	msgs     chan message
	pings    chan struct{}
	upgrades chan string
	closed   chan *CloseError

	inCallback atomic.Bool
	afterClose atomic.Bool
	violations atomic.Int32
}

func newRecorder() *recorder {
	return &recorder{
		msgs:     make(chan message, 10000),
		pings:    make(chan struct{}, 100),
		upgrades: make(chan string, 4),
		closed:   make(chan *CloseError, 2),
	}
}

func (r *recorder) enter() {
	if !r.inCallback.CompareAndSwap(false, true) || r.afterClose.Load() {
		r.violations.Add(1)
	}
}

func (r *recorder) leave() { r.inCallback.Store(false) }

func (r *recorder) options(o *Options) *Options {
	if o == nil {
		o = &Options{}
	}
	o.OnMessage = func(data []byte, binary bool) {
		r.enter()
		defer r.leave()
		r.msgs <- message{string(data), binary}
	}
	o.OnPing = func() {
		r.enter()
		defer r.leave()
		r.pings <- struct{}{}
	}
	o.OnUpgrade = func(transport string) {
		r.enter()
		defer r.leave()
		r.upgrades <- transport
	}
	o.OnClose = func(reason string, err error) {
		r.enter()
		defer r.leave()
		r.afterClose.Store(true)
		r.closed <- &CloseError{Reason: reason, Err: err}
	}
	return o
}

func (r *recorder) message(t *testing.T) message {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(wait):
		t.Fatal("no message")
		return message{}
	}
}

func (r *recorder) close(t *testing.T) *CloseError {
	t.Helper()
	select {
	case e := <-r.closed:
		return e
	case <-time.After(wait):
		t.Fatal("OnClose was not called")
		return nil
	}
}

func (r *recorder) upgrade(t *testing.T) string {
	t.Helper()
	select {
	case u := <-r.upgrades:
		return u
	case <-time.After(wait):
		t.Fatal("no upgrade")
		return ""
	}
}

// dial connects to f with r's callbacks; the test's cleanup closes the
// client and waits for it to end.
func dial(t *testing.T, f *fakeServer, r *recorder, o *Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := Dial(ctx, f.url(), r.options(o))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		awaitDone(t, c)
		if n := r.violations.Load(); n > 0 {
			t.Errorf("%d callbacks ran concurrently or after OnClose", n)
		}
	})
	return c
}

func awaitDone(t *testing.T, c *Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(wait):
		t.Fatal("the client did not end")
	}
}

func send(t *testing.T, c *Client, data string, binary bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Send(ctx, []byte(data), binary); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func expectPacket(t *testing.T, s *fakeSession, typ eioparser.PacketType, data string, binary bool) {
	t.Helper()
	p := s.next(t)
	if p.Type != typ || string(p.Data) != data || p.Binary != binary {
		t.Fatalf("server got %v %q binary=%v, want %v %q binary=%v", p.Type, p.Data, p.Binary, typ, data, binary)
	}
}

var transportCases = []struct {
	name string
	opts func() *Options
	want string
}{
	{"polling", func() *Options { return &Options{Transports: []string{TransportPolling}} }, TransportPolling},
	{"websocket", func() *Options { return &Options{Transports: []string{TransportWebSocket}} }, TransportWebSocket},
}

// TestHandshakePolling: the handshake GET carries EIO=4,
// transport=polling and a cache buster; the next requests carry the sid;
// the open packet's fields are exposed.
func TestHandshakePolling(t *testing.T) {
	f := newFake(t, fakeOptions{noUpgrades: true, pingInterval: 300, pingTimeout: 200, maxPayload: 1234})
	r := newRecorder()
	c := dial(t, f, r, nil)
	s := f.session()
	if c.ID() != s.sid || c.Transport() != TransportPolling {
		t.Fatalf("ID %q transport %q", c.ID(), c.Transport())
	}
	hs := c.Handshake()
	if hs.SID != s.sid || len(hs.Upgrades) != 0 || hs.PingInterval != 300*time.Millisecond ||
		hs.PingTimeout != 200*time.Millisecond || hs.MaxPayload != 1234 {
		t.Fatalf("handshake %+v", hs)
	}
	send(t, c, "hi", false)
	expectPacket(t, s, eioparser.PacketMessage, "hi", false)
	waitFor(t, func() bool { return len(f.recordedRequests()) >= 3 }) // handshake, poll, POST
	reqs := f.recordedRequests()
	ts := map[string]bool{}
	for i, req := range reqs {
		q := url.Values(req.query)
		if q.Get("EIO") != "4" || q.Get("transport") != "polling" || q.Get("t") == "" {
			t.Errorf("request %d query %v", i, q)
		}
		if ts[q.Get("t")] {
			t.Errorf("cache buster %q reused", q.Get("t"))
		}
		ts[q.Get("t")] = true
		if (i == 0) != (q.Get("sid") == "") || (i > 0 && q.Get("sid") != s.sid) {
			t.Errorf("request %d: sid %q", i, q.Get("sid"))
		}
	}
	if reqs[0].method != http.MethodGet {
		t.Errorf("handshake with %s", reqs[0].method)
	}
}

// TestHandshakeWebSocket: with Transports {"websocket"}, the session opens
// on a WebSocket without sid and no polling request is made.
func TestHandshakeWebSocket(t *testing.T) {
	f := newFake(t, fakeOptions{})
	r := newRecorder()
	c := dial(t, f, r, &Options{Transports: []string{TransportWebSocket}})
	s := f.session()
	if c.ID() != s.sid || c.Transport() != TransportWebSocket {
		t.Fatalf("ID %q transport %q", c.ID(), c.Transport())
	}
	send(t, c, "hi", false)
	expectPacket(t, s, eioparser.PacketMessage, "hi", false)
	reqs := f.recordedRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want the WebSocket only", len(reqs))
	}
	q := url.Values(reqs[0].query)
	if q.Get("EIO") != "4" || q.Get("transport") != "websocket" || q.Has("sid") {
		t.Fatalf("query %v", q)
	}
}

// TestMessages: text and binary messages both ways, on each transport,
// with the binary flag kept and the bytes intact.
func TestMessages(t *testing.T) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, fakeOptions{})
			r := newRecorder()
			c := dial(t, f, r, tc.opts())
			s := f.session()
			bin := string([]byte{0, 1, 0xfe, 0xff, 0x1e})
			send(t, c, "héllo", false)
			send(t, c, bin, true)
			send(t, c, "", false)
			send(t, c, "", true)
			expectPacket(t, s, eioparser.PacketMessage, "héllo", false)
			expectPacket(t, s, eioparser.PacketMessage, bin, true)
			expectPacket(t, s, eioparser.PacketMessage, "", false)
			expectPacket(t, s, eioparser.PacketMessage, "", true)

			s.send(eioparser.Packet{Type: eioparser.PacketMessage, Data: []byte("wörld")})
			s.send(eioparser.Packet{Type: eioparser.PacketMessage, Data: []byte(bin), Binary: true})
			if m := r.message(t); m != (message{"wörld", false}) {
				t.Fatalf("got %+v", m)
			}
			if m := r.message(t); m != (message{bin, true}) {
				t.Fatalf("got %+v", m)
			}
			if c.Transport() != tc.want {
				t.Fatalf("transport %q", c.Transport())
			}
			if err := c.Send(context.Background(), []byte{0xff}, false); !errors.Is(err, ErrInvalidUTF8) {
				t.Fatalf("invalid UTF-8: %v", err)
			}
		})
	}
}

// TestPollingBatching: while a POST is in flight, later messages wait and
// go out together in the next POST, split so that a POST stays within the
// server's maxPayload; never two POSTs at once.
func TestPollingBatching(t *testing.T) {
	f := newFake(t, fakeOptions{noUpgrades: true, gatePosts: true, maxPayload: 12})
	r := newRecorder()
	c := dial(t, f, r, nil)
	s := f.session()
	send(t, c, "a", false)
	// Wait until the first POST is held at the gate.
	deadline := time.Now().Add(wait)
	for s.postsInFlight.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no POST")
		}
		time.Sleep(time.Millisecond)
	}
	send(t, c, "bbbb", false)
	send(t, c, "cccc", false)
	send(t, c, "dddd", false)
	for range 3 {
		s.gate <- struct{}{}
	}
	var posts []string
	for range 3 {
		select {
		case p := <-s.posts:
			posts = append(posts, p)
		case <-time.After(wait):
			t.Fatalf("POSTs so far: %q", posts)
		}
	}
	want := []string{"4a", "4bbbb\x1e4cccc", "4dddd"}
	if !slices.Equal(posts, want) {
		t.Fatalf("POST bodies %q, want %q", posts, want)
	}
	if m := s.maxPosts.Load(); m != 1 {
		t.Fatalf("%d POSTs in flight at once", m)
	}
	s.gate <- struct{}{} // for the close packet
}

// TestBatchLen checks the payload split against engine.io-client's rule.
func TestBatchLen(t *testing.T) {
	p := func(n int) eioparser.Packet {
		return eioparser.Packet{Type: eioparser.PacketMessage, Data: make([]byte, n)}
	}
	buf := []eioparser.Packet{p(4), p(4), p(4)}
	for _, tc := range []struct{ max, want int }{{0, 3}, {1, 1}, {10, 1}, {11, 2}, {16, 2}, {17, 3}} {
		if got := batchLen(buf, tc.max); got != tc.want {
			t.Errorf("maxPayload %d: %d packets, want %d", tc.max, got, tc.want)
		}
	}
}

// TestUpgrade: on polling with "websocket" offered, the client probes with
// the sid, receives "3probe", waits for the pending GET (released by the
// server's noop) and the POST in flight, sends "5" and moves to the
// WebSocket. Messages streamed both ways during the upgrade all arrive, in
// order, once.
func TestUpgrade(t *testing.T) {
	f := newFake(t, fakeOptions{})
	r := newRecorder()
	c := dial(t, f, r, nil)
	s := f.session()
	const n = 300
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range n {
			if err := c.Send(context.Background(), []byte("c"+strconv.Itoa(i)), i%7 == 0); err != nil {
				t.Errorf("Send %d: %v", i, err)
				return
			}
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			s.send(eioparser.Packet{Type: eioparser.PacketMessage, Data: []byte("s" + strconv.Itoa(i)), Binary: i%5 == 0})
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	if e := s.event(t); e != "probe" {
		t.Fatalf("event %q, want probe", e)
	}
	if e := s.event(t); e != "upgrade" {
		t.Fatalf("event %q, want upgrade", e)
	}
	if u := r.upgrade(t); u != TransportWebSocket {
		t.Fatalf("OnUpgrade(%q)", u)
	}
	if busy := s.busyAtUpgrade.Load(); busy != 0 {
		t.Fatalf("%d polling requests in flight when the upgrade packet arrived", busy)
	}
	wg.Wait()
	for i := range n {
		p := s.next(t)
		if want := "c" + strconv.Itoa(i); string(p.Data) != want || p.Binary != (i%7 == 0) {
			t.Fatalf("server got %q binary=%v, want %q", p.Data, p.Binary, want)
		}
	}
	for i := range n {
		m := r.message(t)
		if want := "s" + strconv.Itoa(i); m.data != want || m.binary != (i%5 == 0) {
			t.Fatalf("client got %+v, want %q", m, want)
		}
	}
	if c.Transport() != TransportWebSocket {
		t.Fatalf("transport %q", c.Transport())
	}
	// The probe carried the sid, and no polling request followed the
	// upgrade.
	var sawProbe bool
	for _, req := range f.recordedRequests() {
		q := url.Values(req.query)
		if q.Get("transport") == "websocket" {
			sawProbe = q.Get("sid") == s.sid
		}
	}
	if !sawProbe {
		t.Fatal("no WebSocket request with the sid")
	}
	send(t, c, "after", false)
	expectPacket(t, s, eioparser.PacketMessage, "after", false)
	select {
	case m := <-r.msgs:
		t.Fatalf("unexpected message %+v", m)
	default:
	}
}

// TestProbeFailure: a probe that is refused or answered wrongly leaves
// the session on polling, working.
func TestProbeFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    fakeOptions
	}{
		{"wrong answer", fakeOptions{probeReply: "3nope"}},
		{"refused", fakeOptions{rejectWS: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.o)
			r := newRecorder()
			c := dial(t, f, r, nil)
			s := f.session()
			if !tc.o.rejectWS {
				if e := s.event(t); e != "probe" {
					t.Fatalf("event %q", e)
				}
				if e := s.event(t); e != "probe-closed" {
					t.Fatalf("event %q", e)
				}
			} else {
				waitFor(t, func() bool {
					for _, req := range f.recordedRequests() {
						if req.query["transport"][0] == "websocket" {
							return true
						}
					}
					return false
				})
			}
			send(t, c, "still", false)
			expectPacket(t, s, eioparser.PacketMessage, "still", false)
			s.send(eioparser.Packet{Type: eioparser.PacketMessage, Data: []byte("here")})
			if m := r.message(t); m.data != "here" {
				t.Fatalf("got %+v", m)
			}
			if c.Transport() != TransportPolling {
				t.Fatalf("transport %q", c.Transport())
			}
			select {
			case u := <-r.upgrades:
				t.Fatalf("OnUpgrade(%q)", u)
			default:
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestNoUpgrade: NoUpgrade and a Transports list without websocket both
// keep the client from probing.
func TestNoUpgrade(t *testing.T) {
	for _, o := range []*Options{{NoUpgrade: true}, {Transports: []string{TransportPolling}}} {
		f := newFake(t, fakeOptions{})
		r := newRecorder()
		c := dial(t, f, r, o)
		s := f.session()
		send(t, c, "x", false)
		expectPacket(t, s, eioparser.PacketMessage, "x", false)
		for _, req := range f.recordedRequests() {
			if req.query["transport"][0] != "polling" {
				t.Fatalf("a %s request", req.query["transport"][0])
			}
		}
	}
}

// TestPing: each ping is answered with a pong and reported to OnPing, on
// both transports.
func TestPing(t *testing.T) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, fakeOptions{})
			r := newRecorder()
			dial(t, f, r, tc.opts())
			s := f.session()
			for range 3 {
				s.send(eioparser.Packet{Type: eioparser.PacketPing})
				select {
				case p := <-s.in:
					if p.Type != eioparser.PacketPong || len(p.Data) != 0 {
						t.Fatalf("answer %v %q", p.Type, p.Data)
					}
				case <-time.After(wait):
					t.Fatal("no pong")
				}
				select {
				case <-r.pings:
				case <-time.After(wait):
					t.Fatal("no OnPing")
				}
			}
		})
	}
}

// TestPingTimeout: pings keep the client open past pingInterval +
// pingTimeout; without them it closes with "ping timeout" after about
// that time.
func TestPingTimeout(t *testing.T) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, fakeOptions{pingInterval: 150, pingTimeout: 150})
			r := newRecorder()
			c := dial(t, f, r, tc.opts())
			s := f.session()
			start := time.Now()
			var last time.Time
			for time.Since(start) < 500*time.Millisecond {
				last = time.Now()
				s.send(eioparser.Packet{Type: eioparser.PacketPing})
				time.Sleep(40 * time.Millisecond)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("closed despite pings: %v", err)
			}
			e := r.close(t)
			elapsed := time.Since(last)
			if e.Reason != ReasonPingTimeout || !errors.Is(e.Err, ErrPingTimeout) {
				t.Fatalf("closed with %v", e)
			}
			// The watchdog starts when the last ping arrives, after it was sent.
			if elapsed < 295*time.Millisecond || elapsed > 3*time.Second {
				t.Fatalf("closed %v after the last ping", elapsed)
			}
			if err := c.Err(); !errors.Is(err, ErrPingTimeout) || !errors.Is(err, ErrClosed) {
				t.Fatalf("Err() = %v", err)
			}
			awaitDone(t, c)
		})
	}
}

// TestServerClose: the server's close packet closes the client with
// "transport close" and ErrClosedByServer; a WebSocket closed by the
// server gives "transport close" too.
func TestServerClose(t *testing.T) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, fakeOptions{})
			r := newRecorder()
			c := dial(t, f, r, tc.opts())
			s := f.session()
			s.send(eioparser.Packet{Type: eioparser.PacketMessage, Data: []byte("bye")})
			s.send(eioparser.Packet{Type: eioparser.PacketClose})
			if m := r.message(t); m.data != "bye" {
				t.Fatalf("got %+v", m)
			}
			e := r.close(t)
			if e.Reason != ReasonTransportClose || !errors.Is(e.Err, ErrClosedByServer) {
				t.Fatalf("closed with %v", e)
			}
			awaitDone(t, c)
			if err := c.Send(context.Background(), []byte("x"), false); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrClosedByServer) {
				t.Fatalf("Send after close: %v", err)
			}
		})
	}
	t.Run("websocket close frame", func(t *testing.T) {
		f := newFake(t, fakeOptions{})
		r := newRecorder()
		dial(t, f, r, &Options{Transports: []string{TransportWebSocket}})
		f.session()
		f.mu.Lock()
		conn := f.conns[0]
		f.mu.Unlock()
		closing := make(chan struct{})
		go func() {
			defer close(closing)
			_ = conn.Close(websocket.StatusGoingAway, "restart")
		}()
		defer func() { <-closing }()
		e := r.close(t)
		if e.Reason != ReasonTransportClose || websocket.CloseStatus(e.Err) != websocket.StatusGoingAway {
			t.Fatalf("closed with %v", e)
		}
	})
}

// TestClose: Close writes what was queued, then tells the server (a close
// packet on polling, a close frame on WebSocket), reports "forced close",
// and refuses later sends.
func TestClose(t *testing.T) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, fakeOptions{})
			r := newRecorder()
			c := dial(t, f, r, tc.opts())
			s := f.session()
			for i := range 5 {
				send(t, c, "m"+strconv.Itoa(i), false)
			}
			if err := c.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			for i := range 5 {
				expectPacket(t, s, eioparser.PacketMessage, "m"+strconv.Itoa(i), false)
			}
			if tc.want == TransportPolling {
				expectPacket(t, s, eioparser.PacketClose, "", false)
			} else if e := s.event(t); !strings.Contains(e, "1000") {
				t.Fatalf("server saw %q, want a 1000 close", e)
			}
			e := r.close(t)
			if e.Reason != ReasonForcedClose || e.Err != nil {
				t.Fatalf("closed with %v", e)
			}
			awaitDone(t, c)
			if err := c.Send(context.Background(), []byte("x"), false); !errors.Is(err, ErrClosed) {
				t.Fatalf("Send after Close: %v", err)
			}
			if err := c.Close(); !errors.Is(err, ErrClosed) {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
}

// TestCloseFromCallback: Close called inside OnMessage does not deadlock.
func TestCloseFromCallback(t *testing.T) {
	f := newFake(t, fakeOptions{noUpgrades: true})
	var c *Client
	ready := make(chan struct{})
	closed := make(chan string, 1)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := Dial(ctx, f.url(), &Options{
		OnMessage: func([]byte, bool) {
			<-ready
			_ = c.Close()
		},
		OnClose: func(reason string, _ error) { closed <- reason },
	})
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	s := f.session()
	s.send(eioparser.Packet{Type: eioparser.PacketMessage, Data: []byte("close me")})
	awaitDone(t, c)
	if r := <-closed; r != ReasonForcedClose {
		t.Fatalf("reason %q", r)
	}
}

// TestCloseDuringUpgrade: Close while a probed WebSocket waits for the
// poll cycle to end drops the probe and closes on polling promptly.
func TestCloseDuringUpgrade(t *testing.T) {
	f := newFake(t, fakeOptions{noNoop: true})
	r := newRecorder()
	c := dial(t, f, r, nil)
	s := f.session()
	if e := s.event(t); e != "probe" {
		t.Fatalf("event %q", e)
	}
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.up == upReady
	})
	start := time.Now()
	send(t, c, "last", false)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > closeTimeout/2 {
		t.Fatalf("Close took %v", d)
	}
	expectPacket(t, s, eioparser.PacketMessage, "last", false)
	expectPacket(t, s, eioparser.PacketClose, "", false)
	if e := s.event(t); e != "probe-closed" {
		t.Fatalf("event %q", e)
	}
	if e := r.close(t); e.Reason != ReasonForcedClose {
		t.Fatalf("closed with %v", e)
	}
}

// TestParseError: malformed data from the server closes with "parse
// error" and ErrParse, on both transports.
func TestParseError(t *testing.T) {
	for _, tc := range transportCases {
		bads := []string{"9", "b!!", "4ok\x1e"}
		if tc.want == TransportWebSocket {
			bads = bads[:2] // on WebSocket, a separator is data
		}
		for _, bad := range bads {
			t.Run(tc.name+"/"+strconv.Quote(bad), func(t *testing.T) {
				f := newFake(t, fakeOptions{})
				r := newRecorder()
				dial(t, f, r, tc.opts())
				s := f.session()
				s.raw <- []byte(bad)
				e := r.close(t)
				if e.Reason != ReasonParseError || !errors.Is(e.Err, ErrParse) {
					t.Fatalf("closed with %v", e)
				}
			})
		}
	}
}

// TestBadHandshake: an HTTP error, a malformed or incomplete open packet,
// or another packet first all fail Dial with ErrHandshake.
func TestBadHandshake(t *testing.T) {
	for _, open := range []string{
		"0{bad", "4hello", `0{"sid":"","pingInterval":1,"pingTimeout":1}`,
		`0{"sid":"x","pingInterval":0,"pingTimeout":1}`, `0{"sid":"x","pingInterval":1,"pingTimeout":99999999999999}`,
	} {
		for _, tc := range transportCases {
			f := newFake(t, fakeOptions{openPacket: open})
			_, err := Dial(context.Background(), f.url(), tc.opts())
			if !errors.Is(err, ErrHandshake) {
				t.Errorf("%s, open %q: %v", tc.name, open, err)
			}
		}
	}
	f := newFake(t, fakeOptions{})
	for _, tc := range transportCases {
		_, err := Dial(context.Background(), f.url()+"/wrong/", tc.opts())
		if !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "400") {
			t.Errorf("%s, wrong path: %v", tc.name, err)
		}
	}
	if _, err := Dial(context.Background(), "ftp://x", nil); err == nil {
		t.Error("ftp URL accepted")
	}
	if _, err := Dial(context.Background(), f.url(), &Options{Transports: []string{"webtransport"}}); err == nil {
		t.Error("unknown transport accepted")
	}
}

// TestHeadersAndQuery: extra headers and query parameters, from Options
// and from the URL, reach every request: handshake, polls, POSTs and the
// WebSocket probe. Options.Path moves the endpoint.
func TestHeadersAndQuery(t *testing.T) {
	f := newFake(t, fakeOptions{})
	methods := map[string]bool{}
	for _, o := range []*Options{{NoUpgrade: true}, {Transports: []string{TransportWebSocket}}} {
		r := newRecorder()
		o.Header = http.Header{"X-Token": {"secret"}}
		o.Query = url.Values{"room": {"blue"}}
		o.Path = "/engine.io"
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		c, err := Dial(ctx, f.url()+"/ignored/?from=url", r.options(o))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		s := f.session()
		send(t, c, "x", false)
		expectPacket(t, s, eioparser.PacketMessage, "x", false)
		_ = c.Close()
		awaitDone(t, c)
	}
	for _, req := range f.recordedRequests() {
		q := url.Values(req.query)
		if req.header.Get("X-Token") != "secret" || q.Get("room") != "blue" || q.Get("from") != "url" {
			t.Errorf("%s %v: header %v", req.method, q, req.header)
		}
		methods[req.method+" "+q.Get("transport")] = true
	}
	if !methods["GET polling"] || !methods["POST polling"] || !methods["GET websocket"] {
		t.Fatalf("requests seen: %v", methods)
	}
}

// countingTransport counts the requests of a custom http.Client.
type countingTransport struct {
	n atomic.Int32
	t http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.t.RoundTrip(r)
}

// TestHTTPClient: a custom http.Client makes the polling requests, and its
// cookie jar also feeds the WebSocket handshake (sticky sessions).
func TestHTTPClient(t *testing.T) {
	f := newFake(t, fakeOptions{setCookie: "node-7"})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections) // after the client's cleanup
	ct := &countingTransport{t: tr}
	jar, _ := cookiejar.New(nil)
	r := newRecorder()
	c := dial(t, f, r, &Options{HTTPClient: &http.Client{Transport: ct, Jar: jar}})
	s := f.session()
	r.upgrade(t)
	send(t, c, "x", false)
	expectPacket(t, s, eioparser.PacketMessage, "x", false)
	if ct.n.Load() < 2 {
		t.Fatalf("custom client made %d requests", ct.n.Load())
	}
	var cookie string
	for _, req := range f.recordedRequests() {
		if req.query["transport"][0] == "websocket" {
			cookie = req.header.Get("Cookie")
		}
	}
	if cookie != "sticky=node-7" {
		t.Fatalf("WebSocket Cookie %q", cookie)
	}
}

// TestTLS: https polling and the wss upgrade with Options.TLSConfig.
func TestTLS(t *testing.T) {
	f := startFake(t, fakeOptions{}, true)
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	r := newRecorder()
	o := r.options(nil)
	o.TLSConfig = f.srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	o.TLSConfig.RootCAs = pool
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := Dial(ctx, f.url(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer awaitDone(t, c)
	defer c.Close()
	s := f.session()
	if u := r.upgrade(t); u != TransportWebSocket {
		t.Fatal(u)
	}
	send(t, c, "secure", false)
	expectPacket(t, s, eioparser.PacketMessage, "secure", false)

	// Without the CA, the handshake fails.
	if _, err := Dial(ctx, f.url(), nil); err == nil || errors.Is(err, ErrHandshake) {
		t.Fatalf("untrusted certificate: %v", err)
	}
}

// TestDialCancel: Dial returns the context's error when ctx ends during
// the handshake, on either transport, and leaves nothing running.
func TestDialCancel(t *testing.T) {
	for _, tc := range transportCases {
		f := newFake(t, fakeOptions{hangOpen: true})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		_, err := Dial(ctx, f.url(), tc.opts())
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: Dial took %v", tc.name, d)
		}
	}
}

// TestWebSocketFirst: Transports {"websocket", "polling"} opens on the
// WebSocket; when the server refuses it, TryAllTransports falls back to
// polling and does not probe the failed transport again.
func TestWebSocketFirst(t *testing.T) {
	o := func() *Options {
		return &Options{Transports: []string{TransportWebSocket, TransportPolling}, TryAllTransports: true}
	}
	f := newFake(t, fakeOptions{})
	r := newRecorder()
	c := dial(t, f, r, o())
	if c.Transport() != TransportWebSocket {
		t.Fatalf("transport %q", c.Transport())
	}

	f = newFake(t, fakeOptions{rejectWS: true})
	r = newRecorder()
	c = dial(t, f, r, o())
	s := f.session()
	if c.Transport() != TransportPolling {
		t.Fatalf("transport %q", c.Transport())
	}
	send(t, c, "x", false)
	expectPacket(t, s, eioparser.PacketMessage, "x", false)
	ws := 0
	for _, req := range f.recordedRequests() {
		if req.query["transport"][0] == "websocket" {
			ws++
		}
	}
	if ws != 1 {
		t.Fatalf("%d WebSocket requests, want the failed first one only", ws)
	}

	noFallback := o()
	noFallback.TryAllTransports = false
	if _, err := Dial(context.Background(), f.url(), noFallback); !errors.Is(err, ErrHandshake) {
		t.Fatalf("without TryAllTransports: %v", err)
	}
}

// TestSendWaits: Send waits while a megabyte is queued or in flight,
// until ctx ends or the queue drains.
func TestSendWaits(t *testing.T) {
	f := newFake(t, fakeOptions{noUpgrades: true, gatePosts: true, maxPayload: 4 << 20})
	r := newRecorder()
	c := dial(t, f, r, nil)
	s := f.session()
	big := bytes.Repeat([]byte("x"), 900_000)
	if err := c.Send(context.Background(), big, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := c.Send(ctx, big[:200_000], false)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send over the limit: %v", err)
	}
	s.gate <- struct{}{}
	s.gate <- struct{}{}
	send(t, c, string(big[:200_000]), false)
	if p := s.next(t); len(p.Data) != len(big) {
		t.Fatalf("first message %d bytes", len(p.Data))
	}
	if p := s.next(t); len(p.Data) != 200_000 {
		t.Fatalf("second message %d bytes", len(p.Data))
	}
	s.gate <- struct{}{} // for the close packet
}

// TestReadLimit: a poll body or WebSocket message over ReadLimit closes
// the client with "transport error".
func TestReadLimit(t *testing.T) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, fakeOptions{})
			r := newRecorder()
			o := tc.opts()
			o.ReadLimit = 1000
			dial(t, f, r, o)
			s := f.session()
			s.send(eioparser.Packet{Type: eioparser.PacketMessage, Data: bytes.Repeat([]byte("y"), 999)})
			if m := r.message(t); len(m.data) != 999 {
				t.Fatalf("%d bytes", len(m.data))
			}
			s.send(eioparser.Packet{Type: eioparser.PacketMessage, Data: bytes.Repeat([]byte("y"), 1000)})
			if e := r.close(t); e.Reason != ReasonTransportError {
				t.Fatalf("closed with %v", e)
			}
		})
	}
}

// TestCloseErrorText keeps the error text readable.
func TestCloseErrorText(t *testing.T) {
	e := &CloseError{Reason: ReasonPingTimeout, Err: ErrPingTimeout}
	if !strings.HasPrefix(e.Error(), "eioclient: closed: ping timeout: ") || !errors.Is(e, ErrClosed) {
		t.Fatal(e)
	}
	if s := fmt.Sprint(&CloseError{Reason: ReasonForcedClose}); s != "eioclient: closed: forced close" {
		t.Fatal(s)
	}
}

// TestTransportError: a polling request refused by the server (here: the
// session is unknown to it) closes the client with "transport error".
func TestTransportError(t *testing.T) {
	for _, viaPost := range []bool{false, true} {
		f := newFake(t, fakeOptions{noUpgrades: true})
		r := newRecorder()
		c := dial(t, f, r, nil)
		s := f.session()
		f.mu.Lock()
		delete(f.bySID, s.sid)
		f.mu.Unlock()
		if viaPost {
			send(t, c, "lost", false)
		} else {
			s.send(eioparser.Packet{Type: eioparser.PacketNoop}) // ends the pending GET; the next one fails
		}
		e := r.close(t)
		if e.Reason != ReasonTransportError || !strings.Contains(e.Err.Error(), "HTTP 400") {
			t.Fatalf("POST=%v: closed with %v", viaPost, e)
		}
	}
}

// TestCloseTimeout: Close gives up waiting for a server that does not
// take the queued packets after closeTimeout, and still closes.
func TestCloseTimeout(t *testing.T) {
	defer func(d time.Duration) { closeTimeout = d }(closeTimeout)
	closeTimeout = 200 * time.Millisecond
	f := newFake(t, fakeOptions{noUpgrades: true, gatePosts: true})
	r := newRecorder()
	c := dial(t, f, r, nil)
	f.session()
	send(t, c, "never acknowledged", false)
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < closeTimeout || d > closeTimeout+2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if e := r.close(t); e.Reason != ReasonForcedClose {
		t.Fatalf("closed with %v", e)
	}
	awaitDone(t, c)
}
