package eioclient

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsio/wsio/eioparser"
	"github.com/wsio/wsio/websocket"
)

// wait bounds every wait of the tests.
const wait = 10 * time.Second

// fakeOptions script the fake server. The zero value is an Engine.IO
// server offering the upgrade to websocket, with long heartbeat intervals
// and no pings of its own.
type fakeOptions struct {
	noUpgrades   bool   // announce no upgrades
	pingInterval int    // ms, default 25000
	pingTimeout  int    // ms, default 20000
	maxPayload   int    // default 1e6
	probeReply   string // answer to "2probe"; default "3probe"
	rejectWS     bool   // answer WebSocket requests with 400
	openPacket   string // replaces the open packet of the handshake
	hangOpen     bool   // never answer the handshake
	noNoop       bool   // answer the probe only while a GET is pending, and never release that GET
	gatePosts    bool   // each POST waits for a token on session.gate
	setCookie    string // a cookie set on the handshake response
}

// fakeServer is a small scripted Engine.IO v4 server on 127.0.0.1.
type fakeServer struct {
	t    *testing.T
	o    fakeOptions
	srv  *httptest.Server
	quit chan struct{}

	sessions chan *fakeSession // each new session

	mu       sync.Mutex
	bySID    map[string]*fakeSession
	requests []recorded
	conns    []*websocket.Conn
	nextID   int
}

// recorded is one request the fake saw.
type recorded struct {
	method string
	query  map[string][]string
	header http.Header
}

// fakeSession is one Engine.IO session of the fake.
type fakeSession struct {
	sid    string
	out    chan eioparser.Packet // to the client, in order
	raw    chan []byte           // raw bytes to send as the next poll body or WebSocket text message
	in     chan eioparser.Packet // from the client, in order
	posts  chan string           // POST bodies, in order
	events chan string           // "probe", "probe-closed", "upgrade", "ws-closed"
	gate   chan struct{}         // POST tokens when gatePosts

	gets, postsInFlight atomic.Int32
	maxPosts            atomic.Int32
	busyAtUpgrade       atomic.Int32 // GETs + POSTs in flight when "5" arrived
	probed              atomic.Bool  // "3probe" sent, "5" not received yet
	upgraded            chan struct{}
	upgradeOnce         sync.Once
}

func newFake(t *testing.T, o fakeOptions) *fakeServer {
	return startFake(t, o, false)
}

func startFake(t *testing.T, o fakeOptions, tlsServer bool) *fakeServer {
	t.Helper()
	if o.pingInterval == 0 {
		o.pingInterval = 25000
	}
	if o.pingTimeout == 0 {
		o.pingTimeout = 20000
	}
	if o.maxPayload == 0 {
		o.maxPayload = 1e6
	}
	if o.probeReply == "" {
		o.probeReply = "3probe"
	}
	f := &fakeServer{t: t, o: o, quit: make(chan struct{}), sessions: make(chan *fakeSession, 8), bySID: map[string]*fakeSession{}}
	f.srv = httptest.NewUnstartedServer(f)
	f.srv.Config.ReadHeaderTimeout = wait
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshake errors of the untrusted-certificate case
	if tlsServer {
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(func() {
		close(f.quit)
		f.mu.Lock()
		for _, c := range f.conns {
			_ = c.CloseNow()
		}
		f.mu.Unlock()
		f.srv.Close()
	})
	return f
}

func (f *fakeServer) url() string { return f.srv.URL }

// session returns the next new session.
func (f *fakeServer) session() *fakeSession {
	f.t.Helper()
	select {
	case s := <-f.sessions:
		return s
	case <-time.After(wait):
		f.t.Fatal("no session opened")
		return nil
	}
}

func (f *fakeServer) recordedRequests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func (f *fakeServer) newSession() *fakeSession {
	f.mu.Lock()
	f.nextID++
	s := &fakeSession{
		sid:      "sid" + strconv.Itoa(f.nextID),
		out:      make(chan eioparser.Packet, 4096),
		raw:      make(chan []byte, 16),
		in:       make(chan eioparser.Packet, 4096),
		posts:    make(chan string, 4096),
		events:   make(chan string, 64),
		gate:     make(chan struct{}, 64),
		upgraded: make(chan struct{}),
	}
	f.bySID[s.sid] = s
	f.mu.Unlock()
	f.sessions <- s
	return s
}

func (f *fakeServer) openPacket(s *fakeSession, transport string) []byte {
	if f.o.openPacket != "" {
		return []byte(f.o.openPacket)
	}
	upgrades := `["websocket"]`
	if f.o.noUpgrades || transport == "websocket" {
		upgrades = `[]`
	}
	return fmt.Appendf(nil, `0{"sid":%q,"upgrades":%s,"pingInterval":%d,"pingTimeout":%d,"maxPayload":%d}`,
		s.sid, upgrades, f.o.pingInterval, f.o.pingTimeout, f.o.maxPayload)
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.requests = append(f.requests, recorded{method: r.Method, query: q, header: r.Header.Clone()})
	f.mu.Unlock()
	if r.URL.Path != "/engine.io/" || q.Get("EIO") != "4" {
		http.Error(w, `{"code":0,"message":"Transport unknown"}`, http.StatusBadRequest)
		return
	}
	sid := q.Get("sid")
	var s *fakeSession
	if sid != "" {
		f.mu.Lock()
		s = f.bySID[sid]
		f.mu.Unlock()
		if s == nil {
			http.Error(w, `{"code":1,"message":"Session ID unknown"}`, http.StatusBadRequest)
			return
		}
	}
	switch q.Get("transport") {
	case "polling":
		switch {
		case s == nil && f.o.hangOpen:
			select {
			case <-r.Context().Done():
			case <-f.quit:
			}
		case s == nil:
			s = f.newSession()
			if f.o.setCookie != "" {
				http.SetCookie(w, &http.Cookie{Name: "sticky", Value: f.o.setCookie})
			}
			_, _ = w.Write(f.openPacket(s, "polling"))
		case r.Method == http.MethodGet:
			f.poll(w, r, s)
		case r.Method == http.MethodPost:
			f.post(w, r, s)
		default:
			http.Error(w, "bad method", http.StatusBadRequest)
		}
	case "websocket":
		if f.o.rejectWS {
			http.Error(w, `{"code":3,"message":"Bad request"}`, http.StatusBadRequest)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		defer c.CloseNow()
		if s == nil {
			s = f.newSession()
			if f.o.hangOpen {
				<-f.quit
				return
			}
			if c.Write(r.Context(), websocket.MessageText, f.openPacket(s, "websocket")) != nil {
				return
			}
			f.serveWS(c, s)
			return
		}
		f.probe(c, s)
	default:
		http.Error(w, `{"code":0,"message":"Transport unknown"}`, http.StatusBadRequest)
	}
}

// poll answers a GET with every packet queued for the client, waiting for
// at least one.
func (f *fakeServer) poll(w http.ResponseWriter, r *http.Request, s *fakeSession) {
	s.gets.Add(1)
	defer s.gets.Add(-1)
	var batch []eioparser.Packet
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for batch == nil {
		select {
		case p := <-s.out:
			batch = append(batch, p)
		case b := <-s.raw:
			_, _ = w.Write(b)
			return
		case <-tick.C:
			if s.probed.Load() {
				// Release the GET while an upgrade is pending, as Node
				// does every 100 ms, so that the client can switch.
				batch = append(batch, eioparser.Packet{Type: eioparser.PacketNoop})
			}
		case <-r.Context().Done():
			return
		case <-f.quit:
			return
		}
	}
	for len(batch) < 64 {
		select {
		case p := <-s.out:
			batch = append(batch, p)
			continue
		default:
		}
		break
	}
	_, _ = w.Write(eioparser.AppendPayload(nil, batch))
}

func (f *fakeServer) post(w http.ResponseWriter, r *http.Request, s *fakeSession) {
	n := s.postsInFlight.Add(1)
	defer s.postsInFlight.Add(-1)
	for {
		m := s.maxPosts.Load()
		if n <= m || s.maxPosts.CompareAndSwap(m, n) {
			break
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return
	}
	if f.o.gatePosts {
		select {
		case <-s.gate:
		case <-r.Context().Done():
			return
		case <-f.quit:
			return
		}
	}
	packets, err := eioparser.DecodePayload(body, eioparser.Limits{MaxBytes: 4 << 20})
	if err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	s.posts <- string(body)
	for _, p := range packets {
		s.in <- p
	}
	_, _ = w.Write([]byte("ok"))
}

// probe runs the upgrade side of a WebSocket that carries a sid.
func (f *fakeServer) probe(c *websocket.Conn, s *fakeSession) {
	ctx := context.Background()
	typ, msg, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageText || string(msg) != "2probe" {
		return
	}
	s.emit("probe")
	if f.o.noNoop {
		// Answer once a GET is pending, so that the client holds the
		// probed WebSocket until that GET ends (which it never does):
		// otherwise a client whose reader has not polled yet would
		// rightly switch at once.
		deadline := time.Now().Add(wait)
		for s.gets.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	if c.Write(ctx, websocket.MessageText, []byte(f.o.probeReply)) != nil {
		return
	}
	if f.o.probeReply != "3probe" {
		_, _, _ = c.Read(ctx) // until the client drops the probe
		s.emit("probe-closed")
		return
	}
	s.probed.Store(!f.o.noNoop)
	typ, msg, err = c.Read(ctx)
	s.probed.Store(false)
	if err != nil || typ != websocket.MessageText || string(msg) != "5" {
		s.emit("probe-closed")
		return
	}
	s.busyAtUpgrade.Store(s.gets.Load() + s.postsInFlight.Load())
	s.upgradeOnce.Do(func() { close(s.upgraded) })
	s.emit("upgrade")
	f.serveWS(c, s)
}

// serveWS relays s.out and s.raw to the WebSocket and its messages to s.in.
func (f *fakeServer) serveWS(c *websocket.Conn, s *fakeSession) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx := context.Background()
		var scratch []byte
		for {
			var err error
			select {
			case p := <-s.out:
				if p.Binary {
					err = c.Write(ctx, websocket.MessageBinary, p.Data)
				} else {
					scratch = eioparser.AppendText(scratch[:0], p)
					err = c.Write(ctx, websocket.MessageText, scratch)
				}
			case b := <-s.raw:
				err = c.Write(ctx, websocket.MessageText, b)
			case <-stop:
				return
			case <-f.quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer wg.Wait()
	defer close(stop)
	for {
		typ, msg, err := c.Read(context.Background())
		if err != nil {
			s.emit("ws-closed:" + err.Error())
			return
		}
		if typ == websocket.MessageBinary {
			s.in <- eioparser.DecodeBinary(msg)
			continue
		}
		p, err := eioparser.DecodeText(msg)
		if err != nil {
			return
		}
		s.in <- p
	}
}

// next returns the next packet from the client, skipping pongs unless
// wanted.
func (s *fakeSession) next(t *testing.T) eioparser.Packet {
	t.Helper()
	for {
		select {
		case p := <-s.in:
			if p.Type == eioparser.PacketPong || p.Type == eioparser.PacketNoop {
				continue
			}
			return p
		case <-time.After(wait):
			t.Fatal("no packet from the client")
		}
	}
}

// event waits for the next event of the session.
func (s *fakeSession) event(t *testing.T) string {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-time.After(wait):
		t.Fatal("no event from the session")
		return ""
	}
}

func (s *fakeSession) send(p eioparser.Packet) { s.out <- p }

// emit records an event without ever blocking the handler.
func (s *fakeSession) emit(e string) {
	select {
	case s.events <- e:
	default:
	}
}
