package sioclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsio/wsio/engineio"
	"github.com/wsio/wsio/sioclient"
	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testTimeout = 10 * time.Second

// transports are the client settings every scenario runs with.
var transports = map[string]sioclient.Options{
	"polling":   {Transports: []string{"polling"}},
	"websocket": {Transports: []string{"websocket"}},
	"upgrade":   {},
}

func forEachTransport(t *testing.T, fn func(t *testing.T, opts sioclient.Options)) {
	for _, name := range []string{"polling", "websocket", "upgrade"} {
		t.Run(name, func(t *testing.T) { fn(t, transports[name]) })
	}
}

// server is our socketio server on an httptest server.
type server struct {
	*socketio.Server
	ts   *httptest.Server
	ln   *trackingListener
	down atomic.Bool // answer every request with 503, as a server that is away
}

// trackingListener remembers the connections it accepted, hijacked ones
// included, so that a test can cut them all as a network failure would.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

// cut closes every connection accepted so far.
func (s *server) cut() {
	s.ln.mu.Lock()
	defer s.ln.mu.Unlock()
	for _, c := range s.ln.conns {
		_ = c.Close()
	}
	s.ln.conns = nil
}

func newServer(t *testing.T, opts *socketio.Options) *server {
	t.Helper()
	srv := socketio.NewServer(opts)
	s := &server{Server: srv}
	mux := http.NewServeMux()
	mux.HandleFunc("/socket.io/", func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() {
			http.Error(w, "away", http.StatusServiceUnavailable)
			return
		}
		srv.ServeHTTP(w, r)
	})
	s.ts = httptest.NewUnstartedServer(mux)
	s.ln = &trackingListener{Listener: s.ts.Listener}
	s.ts.Listener = s.ln
	s.ts.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		s.ts.CloseClientConnections()
		s.ts.Close()
	})
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// manager returns a Manager for srv, closed at the end of the test.
func manager(t *testing.T, srv *server, opts sioclient.Options) *sioclient.Manager {
	t.Helper()
	m, err := sioclient.NewManager(srv.ts.URL, &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatal("timed out")
		var zero T
		return zero
	}
}

func TestConnectEmitAck(t *testing.T) {
	forEachTransport(t, func(t *testing.T, opts sioclient.Options) {
		srv := newServer(t, nil)
		type msg struct {
			Text string `json:"text"`
			N    int    `json:"n"`
		}
		fromClient := make(chan msg, 1)
		answer := make(chan string, 1)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("chat", func(m msg, ack socketio.Ack) {
				fromClient <- m
				_ = ack("ok", m.N+1)
			})
			go func() {
				args, err := s.EmitWithAck(context.Background(), "question", "name?")
				if err != nil {
					answer <- err.Error()
					return
				}
				var v string
				_ = args.Decode(0, &v)
				answer <- v
			}()
		})
		m := manager(t, srv, opts)
		s := m.Socket("/", nil)
		s.On("question", func(q string, ack sioclient.Ack) { _ = ack("gopher:" + q) })
		connected := make(chan string, 1)
		s.OnConnect(func() { connected <- s.ID() })
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if id := recv(t, connected); id == "" || id != s.ID() || !s.Connected() || !s.Active() {
			t.Fatalf("connect: id %q, socket id %q", id, s.ID())
		}
		args, err := s.EmitWithAck(ctxT(t), "chat", msg{"hi", 41})
		if err != nil {
			t.Fatal(err)
		}
		var ok string
		var n int
		if err := args.Decode(0, &ok); err != nil || ok != "ok" || args.Decode(1, &n) != nil || n != 42 {
			t.Fatalf("ack %v %v %d", err, ok, n)
		}
		if got := recv(t, fromClient); got.Text != "hi" || got.N != 41 {
			t.Fatalf("server got %+v", got)
		}
		if got := recv(t, answer); got != "gopher:name?" {
			t.Fatalf("server's ack %q", got)
		}
	})
}

func TestBinary(t *testing.T) {
	forEachTransport(t, func(t *testing.T, opts sioclient.Options) {
		srv := newServer(t, nil)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("echo", func(v struct {
				Name string `json:"name"`
				Data []byte `json:"data"`
			}, ack socketio.Ack) {
				_ = ack(map[string]any{"name": v.Name, "data": v.Data, "more": [][]byte{{1}, {2, 3}}})
			})
		})
		s := manager(t, srv, opts).Socket("/", nil)
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		blob := bytes.Repeat([]byte{0, 1, 2, 255}, 5000)
		args, err := s.EmitWithAck(ctxT(t), "echo", map[string]any{"name": "file", "data": blob})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Name string
			Data []byte
			More [][]byte
		}
		if err := args.Decode(0, &got); err != nil {
			t.Fatal(err)
		}
		if got.Name != "file" || !bytes.Equal(got.Data, blob) || len(got.More) != 2 || !bytes.Equal(got.More[1], []byte{2, 3}) {
			t.Fatalf("echo: %q, %d bytes, %v", got.Name, len(got.Data), got.More)
		}
	})
}

func TestAuthAndRefusal(t *testing.T) {
	srv := newServer(t, nil)
	srv.Use(func(s *socketio.Socket) error {
		var auth struct{ Token string }
		b, _ := json.Marshal(s.Handshake().Auth)
		_ = json.Unmarshal(b, &auth)
		if auth.Token != "secret" {
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"code": 401}}
		}
		return nil
	})
	s := manager(t, srv, transports["websocket"]).Socket("/", &sioclient.SocketOptions{Auth: map[string]string{"token": "wrong"}})
	errs := make(chan error, 1)
	s.OnConnectError(func(err error) { errs <- err })
	err := s.Connect(ctxT(t))
	var ce *sioclient.ConnectError
	if !errors.As(err, &ce) || ce.Message != "not authorized" || string(ce.Data) != `{"code":401}` {
		t.Fatalf("Connect: %v", err)
	}
	if !errors.As(recv(t, errs), &ce) || s.Active() || s.Connected() {
		t.Fatal("connect_error handler, or the socket stays active")
	}
	// AuthFunc is evaluated at each CONNECT.
	calls := 0
	s2 := manager(t, srv, transports["websocket"]).Socket("/", &sioclient.SocketOptions{AuthFunc: func() any {
		calls++
		return map[string]string{"token": "secret"}
	}})
	if err := s2.Connect(ctxT(t)); err != nil || calls != 1 {
		t.Fatalf("Connect with AuthFunc: %v, %d calls", err, calls)
	}
	// Unknown namespace.
	s3 := manager(t, srv, transports["websocket"]).Socket("/nowhere", nil)
	if err := s3.Connect(ctxT(t)); !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
		t.Fatalf("unknown namespace: %v", err)
	}
}

func TestMultiplexing(t *testing.T) {
	forEachTransport(t, func(t *testing.T, opts sioclient.Options) {
		srv := newServer(t, nil)
		for _, nsp := range []string{"/", "/admin", "/chat"} {
			srv.Of(nsp).OnConnection(func(s *socketio.Socket) {
				s.On("where", func(ack socketio.Ack) { _ = ack(s.Namespace().Name()) })
			})
		}
		m := manager(t, srv, opts)
		for _, nsp := range []string{"/", "/admin", "chat"} {
			s := m.Socket(nsp, nil)
			if err := s.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			args, err := s.EmitWithAck(ctxT(t), "where")
			var got string
			if err != nil || args.Decode(0, &got) != nil || got != s.Namespace() {
				t.Fatalf("%s: %q %v", nsp, got, err)
			}
		}
		if n := srv.Engine().Count(); n != 1 {
			t.Fatalf("%d engine connections for three namespaces", n)
		}
	})
}

func TestDisconnects(t *testing.T) {
	forEachTransport(t, func(t *testing.T, opts sioclient.Options) {
		srv := newServer(t, nil)
		serverReason := make(chan string, 2)
		var mu sync.Mutex
		var sockets []*socketio.Socket
		srv.OnConnection(func(s *socketio.Socket) {
			mu.Lock()
			sockets = append(sockets, s)
			mu.Unlock()
			s.OnDisconnect(func(reason string) { serverReason <- reason })
		})
		m := manager(t, srv, opts)
		// The server disconnects the socket: no reconnection.
		s := m.Socket("/", nil)
		reasons := make(chan string, 2)
		s.OnDisconnect(func(reason string, again bool) {
			if again {
				reason += " (reconnecting)"
			}
			reasons <- reason
		})
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		sockets[0].Disconnect(false)
		mu.Unlock()
		if r := recv(t, reasons); r != sioclient.ReasonServerDisconnect {
			t.Fatalf("client reason %q", r)
		}
		if recv(t, serverReason) != socketio.ReasonServerNamespaceDisconnect || s.Active() {
			t.Fatal("server reason, or the socket stays active")
		}
		// The client disconnects.
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		s.Disconnect()
		if r := recv(t, reasons); r != sioclient.ReasonClientDisconnect {
			t.Fatalf("client reason %q", r)
		}
		if r := recv(t, serverReason); r != socketio.ReasonClientNamespaceDisconnect {
			t.Fatalf("server reason %q", r)
		}
	})
}

// After the connection is lost, the Manager reconnects with backoff, the
// socket connects again, and what was emitted meanwhile is delivered;
// volatile emits are dropped.
func TestReconnection(t *testing.T) {
	forEachTransport(t, func(t *testing.T, opts sioclient.Options) {
		srv := newServer(t, &socketio.Options{Engine: engineio.Options{PingInterval: 200 * time.Millisecond, PingTimeout: 200 * time.Millisecond}})
		got := make(chan string, 10)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("note", func(v string) { got <- v })
		})
		opts.ReconnectionDelay = 20 * time.Millisecond
		opts.ReconnectionDelayMax = 50 * time.Millisecond
		m := manager(t, srv, opts)
		attempts := make(chan int, 10)
		reconnected := make(chan int, 1)
		m.OnReconnectAttempt(func(n int) { attempts <- n })
		m.OnReconnect(func(n int) { reconnected <- n })
		reconnectErrs := make(chan error, 100)
		m.OnReconnectError(func(err error) { reconnectErrs <- err })
		s := m.Socket("/", nil)
		reasons := make(chan string, 2)
		s.OnDisconnect(func(reason string, again bool) {
			if again {
				reasons <- reason
			}
		})
		connects := make(chan string, 2)
		s.OnConnect(func() { connects <- s.ID() })
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		first := recv(t, connects)
		// The server goes away: its connections are cut and requests fail
		// until it is back.
		srv.down.Store(true)
		srv.cut()
		r := recv(t, reasons)
		if r != "transport close" && r != "transport error" {
			t.Fatalf("reason %q", r)
		}
		_ = s.Volatile().Emit("note", "volatile")
		_ = s.Emit("note", "buffered")
		recv(t, reconnectErrs)
		srv.down.Store(false)
		second := recv(t, connects)
		if second == first || second == "" {
			t.Fatalf("ids %q then %q", first, second)
		}
		if n := recv(t, attempts); n < 1 {
			t.Fatalf("attempt %d", n)
		}
		if n := recv(t, reconnected); n < 1 {
			t.Fatalf("reconnect after %d attempts", n)
		}
		if v := recv(t, got); v != "buffered" {
			t.Fatalf("server got %q", v)
		}
		select {
		case v := <-got:
			t.Fatalf("server got %q too", v)
		case <-time.After(100 * time.Millisecond):
		}
	})
}

// With the server gone, the Manager gives up after ReconnectionAttempts.
func TestReconnectFailed(t *testing.T) {
	srv := newServer(t, nil)
	opts := sioclient.Options{Transports: []string{"websocket"}, ReconnectionAttempts: 2, ReconnectionDelay: 10 * time.Millisecond, ReconnectionDelayMax: 20 * time.Millisecond}
	m := manager(t, srv, opts)
	failed := make(chan struct{})
	var errs []error
	var mu sync.Mutex
	m.OnReconnectError(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() })
	m.OnReconnectFailed(func() { close(failed) })
	s := m.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	srv.down.Store(true)
	srv.cut()
	recv(t, failed)
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 2 || s.Active() {
		t.Fatalf("%d reconnect errors, active %v", len(errs), s.Active())
	}
}

// Without reconnection, Connect returns the first failure.
func TestNoReconnection(t *testing.T) {
	srv := newServer(t, nil)
	srv.ts.Close()
	m := manager(t, srv, sioclient.Options{NoReconnection: true, Transports: []string{"websocket"}})
	s := m.Socket("/", nil)
	if err := s.Connect(ctxT(t)); err == nil || s.Active() {
		t.Fatalf("Connect to a closed server: %v, active %v", err, s.Active())
	}
}

func TestEmitWithAckEnds(t *testing.T) {
	srv := newServer(t, nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("slow", func(ack socketio.Ack) {}) // never answers
		s.On("bye", func() { s.Disconnect(false) })
	})
	s := manager(t, srv, transports["websocket"]).Socket("/", nil)
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Timeout(50*time.Millisecond).EmitWithAck(context.Background(), "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(context.Background(), "slow")
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	_ = s.Emit("bye")
	if err := recv(t, done); !errors.Is(err, sioclient.ErrDisconnected) {
		t.Fatalf("after a server disconnect: %v", err)
	}
	if err := s.Emit("connect"); !errors.Is(err, sioclient.ErrReservedEvent) {
		t.Fatalf("reserved: %v", err)
	}
}

// Handlers run in order; OnAny, Once, Off and OnAnyOutgoing behave as in
// the JS client.
func TestHandlers(t *testing.T) {
	srv := newServer(t, nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("go", func() {
			for i := range 50 {
				_ = s.Emit("n", i)
			}
			_ = s.Emit("end")
		})
	})
	s := manager(t, srv, transports["websocket"]).Socket("/", nil)
	var mu sync.Mutex
	var seen, anyIn, outgoing []string
	onces := 0
	end := make(chan struct{})
	s.On("n", func(i int) { mu.Lock(); seen = append(seen, string(rune('0'+i%10))); mu.Unlock() })
	s.Once("n", func(int) { onces++ })
	removed := func(int) { t.Error("removed handler called") }
	s.On("n", removed)
	s.Off("n", removed)
	s.OnAny(func(name string, _ sioparser.Args) { mu.Lock(); anyIn = append(anyIn, name); mu.Unlock() })
	s.OnAnyOutgoing(func(name string, _ sioparser.Args) { mu.Lock(); outgoing = append(outgoing, name); mu.Unlock() })
	s.On("end", func() { close(end) })
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_ = s.Emit("go")
	recv(t, end)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 50 || seen[0] != "0" || seen[49] != "9" || onces != 1 {
		t.Fatalf("seen %d events, once handler %d times", len(seen), onces)
	}
	if len(anyIn) != 51 || anyIn[50] != "end" || !slices.Equal(outgoing, []string{"go"}) {
		t.Fatalf("any: %d in, out %v", len(anyIn), outgoing)
	}
}

func ExampleConnect() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("hello", func(name string, ack socketio.Ack) { _ = ack("hello, " + name) })
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := sioclient.Connect(ctx, ts.URL, nil, nil)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	args, err := s.EmitWithAck(ctx, "hello", "gopher")
	if err != nil {
		panic(err)
	}
	var answer string
	_ = args.Decode(0, &answer)
	fmt.Println(answer)
	// Output: hello, gopher
}

// With connection state recovery on the server, a client back within the
// window gets its id back, recovered is true, and every event emitted while
// it was away arrives once.
func TestRecovery(t *testing.T) {
	forEachTransport(t, func(t *testing.T, opts sioclient.Options) {
		srv := newServer(t, &socketio.Options{
			Engine:                  engineio.Options{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond},
			ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 10 * time.Second},
		})
		gone := make(chan string, 4)
		srv.OnConnection(func(s *socketio.Socket) {
			s.OnDisconnect(func(reason string) { gone <- reason })
		})
		opts.ReconnectionDelay = 20 * time.Millisecond
		opts.ReconnectionDelayMax = 50 * time.Millisecond
		s := manager(t, srv, opts).Socket("/", nil)
		var mu sync.Mutex
		var got []int
		s.On("n", func(i int) { mu.Lock(); got = append(got, i); mu.Unlock() })
		connects := make(chan bool, 2)
		s.OnConnect(func() { connects <- s.Recovered() })
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if recv(t, connects) {
			t.Fatal("recovered on the first connection")
		}
		id := s.ID()
		for i := range 3 {
			_ = srv.Emit("n", i)
		}
		waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 3 })
		srv.down.Store(true)
		srv.cut()
		recv(t, gone)
		for i := 3; i < 6; i++ {
			_ = srv.Emit("n", i)
		}
		srv.down.Store(false)
		if !recv(t, connects) || s.ID() != id {
			t.Fatalf("not recovered: id %q, was %q", s.ID(), id)
		}
		waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 6 })
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) {
			t.Fatalf("events %v", got)
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// With Retries, events go one at a time until acknowledged: a server that
// ignores each event's first attempt still handles every event once, in
// order.
func TestRetries(t *testing.T) {
	srv := newServer(t, nil)
	var mu sync.Mutex
	attempts := map[int]int{}
	var handled []int
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("job", func(n int, ack socketio.Ack) {
			mu.Lock()
			attempts[n]++
			first := attempts[n] == 1
			if !first {
				handled = append(handled, n)
			}
			mu.Unlock()
			if !first {
				_ = ack("done", n)
			}
		})
	})
	s := manager(t, srv, transports["websocket"]).Socket("/", &sioclient.SocketOptions{Retries: 2, AckTimeout: 50 * time.Millisecond})
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for n := range 4 {
		if err := s.Emit("job", n); err != nil {
			t.Fatal(err)
		}
	}
	args, err := s.EmitWithAck(ctxT(t), "job", 4)
	var n int
	if err != nil || args.Decode(1, &n) != nil || n != 4 {
		t.Fatalf("EmitWithAck through the queue: %v %d", err, n)
	}
	mu.Lock()
	if !slices.Equal(handled, []int{0, 1, 2, 3, 4}) || attempts[0] != 2 || attempts[4] != 2 {
		t.Fatalf("handled %v, attempts %v", handled, attempts)
	}
	mu.Unlock()
	// An event the server never answers fails after 1 + Retries attempts.
	_, err = s.EmitWithAck(ctxT(t), "unanswered")
	if !errors.Is(err, sioclient.ErrAckTimeout) {
		t.Fatalf("unanswered: %v", err)
	}
}

// AutoConnect connects in the background; emits made before it is
// connected are buffered and delivered.
func TestAutoConnect(t *testing.T) {
	srv := newServer(t, nil)
	got := make(chan string, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("early", func(v string) { got <- v })
	})
	m := manager(t, srv, sioclient.Options{})
	s := m.Socket("/", &sioclient.SocketOptions{AutoConnect: true})
	_ = s.Emit("early", "bird")
	if v := recv(t, got); v != "bird" || !s.Connected() {
		t.Fatalf("got %q, connected %v", v, s.Connected())
	}
	// A Manager closed while an AutoConnect socket is still trying.
	m2, _ := sioclient.NewManager("http://127.0.0.1:1", &sioclient.Options{ReconnectionDelay: 10 * time.Millisecond})
	m2.Socket("/", &sioclient.SocketOptions{AutoConnect: true})
	time.Sleep(30 * time.Millisecond)
	_ = m2.Close()
}
