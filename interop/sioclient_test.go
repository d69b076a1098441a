package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsio/wsio/sioclient"
	"github.com/wsio/wsio/sioparser"
)

// Our sioclient against Node's socket.io server (node/sio-server.mjs).

var sioClientModes = []struct {
	name string
	opts sioclient.Options
}{
	{"polling", sioclient.Options{Transports: []string{"polling"}}},
	{"websocket", sioclient.Options{Transports: []string{"websocket"}}},
	{"upgrade", sioclient.Options{}},
}

// startNodeSIO starts node/sio-server.mjs and returns it with its URL.
func startNodeSIO(t *testing.T, ctx context.Context, args ...string) (*nodePeer, string) {
	t.Helper()
	p := startNode(t, ctx, "sio-server.mjs", args...)
	return p, fmt.Sprintf("http://127.0.0.1:%d", p.port(t, ctx))
}

var secret = &sioclient.SocketOptions{Auth: map[string]string{"token": "secret"}}

// goSocket connects a socket for nsp on a new Manager; the test's cleanup
// closes the Manager.
func goSocket(t *testing.T, ctx context.Context, url string, opts sioclient.Options, nsp string, sopts *sioclient.SocketOptions) *sioclient.Socket {
	t.Helper()
	m, err := sioclient.NewManager(url, &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	s := m.Socket(nsp, sopts)
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("connect %s: %v", nsp, err)
	}
	return s
}

// events collects the events of one name as raw arguments.
func events(s *sioclient.Socket, name string) <-chan sioparser.Args {
	ch := make(chan sioparser.Args, 64)
	s.On(name, func(args sioparser.Args) { ch <- args })
	return ch
}

func take(t *testing.T, ctx context.Context, ch <-chan sioparser.Args, what string) sioparser.Args {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-ctx.Done():
		t.Fatalf("waiting for %s: %v", what, ctx.Err())
		return sioparser.Args{}
	}
}

func TestSioClientNodeServer(t *testing.T) {
	nodeBinary(t)
	for _, mode := range sioClientModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			p, url := startNodeSIO(t, ctx)

			t.Run("refused", func(t *testing.T) {
				m, _ := sioclient.NewManager(url, &mode.opts)
				defer m.Close()
				err := m.Socket("/", &sioclient.SocketOptions{Auth: map[string]string{"token": "wrong"}}).Connect(ctx)
				var ce *sioclient.ConnectError
				if !errors.As(err, &ce) || ce.Message != "not authorized" || string(ce.Data) != `{"code":401}` {
					t.Fatalf("Connect: %v", err)
				}
			})

			t.Run("events", func(t *testing.T) {
				m, err := sioclient.NewManager(url, &mode.opts)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				s := m.Socket("/", secret)
				welcome := events(s, "welcome")
				answers := events(s, "answer")
				s.On("question", func(q string, ack sioclient.Ack) { _ = ack("gopher, to " + q) })
				if err := s.Connect(ctx); err != nil {
					t.Fatal(err)
				}
				var id string
				if err := take(t, ctx, welcome, "welcome").Decode(0, &id); err != nil || id != s.ID() {
					t.Fatalf("welcome %q, id %q", id, s.ID())
				}
				// Acks with nested binary, both ways.
				blob := bytes.Repeat([]byte{0, 1, 254, 255}, 4096)
				args, err := s.EmitWithAck(ctx, "echo", "text", map[string]any{"deep": []any{1, map[string]any{"bin": blob}}})
				if err != nil {
					t.Fatal(err)
				}
				var text string
				var nested struct {
					Deep []any
				}
				if err := args.Decode(1, &nested); err != nil || args.Decode(0, &text) != nil || text != "text" || len(nested.Deep) != 2 {
					t.Fatalf("echo: %q %v %v", text, nested, err)
				}
				inner, _ := nested.Deep[1].(map[string]any)
				if got, _ := inner["bin"].([]byte); !bytes.Equal(got, blob) {
					t.Fatalf("echoed binary: %T of %d bytes", inner["bin"], len(got))
				}
				// The server's emitWithAck reaches our handler.
				_ = s.Emit("ask")
				var reply string
				if err := take(t, ctx, answers, "answer").Decode(0, &reply); err != nil || reply != "gopher, to name?" {
					t.Fatalf("answer %q %v", reply, err)
				}
				// Multiplexing: /admin on the same connection.
				admin := m.Socket("/admin", nil)
				if err := admin.Connect(ctx); err != nil {
					t.Fatal(err)
				}
				var where string
				if args, err := admin.EmitWithAck(ctx, "where"); err != nil || args.Decode(0, &where) != nil || where != "/admin" {
					t.Fatalf("where %q %v", where, err)
				}
				var n int
				if args, err := s.EmitWithAck(ctx, "engines"); err != nil || args.Decode(0, &n) != nil || n != 1 {
					t.Fatalf("%d engine connections for two namespaces (%v)", n, err)
				}
				// The server disconnects the socket.
				reasons := make(chan string, 1)
				s.OnDisconnect(func(reason string, again bool) { reasons <- fmt.Sprint(reason, " ", again) })
				_ = s.Emit("bye")
				select {
				case r := <-reasons:
					if r != "io server disconnect false" {
						t.Fatalf("disconnect %q", r)
					}
				case <-ctx.Done():
					t.Fatal("no disconnect")
				}
			})

			t.Run("rooms", func(t *testing.T) {
				a := goSocket(t, ctx, url, mode.opts, "/", secret)
				b := goSocket(t, ctx, url, mode.opts, "/", secret)
				inA, inB := events(a, "news"), events(b, "news")
				if _, err := a.EmitWithAck(ctx, "join", "room1"); err != nil {
					t.Fatal(err)
				}
				_ = b.Emit("to-room", "room1", "news", "for room1")
				var got string
				if err := take(t, ctx, inA, "news in room1").Decode(0, &got); err != nil || got != "for room1" {
					t.Fatalf("room news %q", got)
				}
				_ = a.Emit("broadcast", "news", "from a")
				if err := take(t, ctx, inB, "broadcast").Decode(0, &got); err != nil || got != "from a" {
					t.Fatalf("broadcast %q", got)
				}
				select {
				case extra := <-inA:
					t.Fatalf("the broadcaster got its own broadcast: %v", extra.Raw(0))
				case <-time.After(100 * time.Millisecond):
				}
			})

			t.Run("retries", func(t *testing.T) {
				s := goSocket(t, ctx, url, mode.opts, "/", &sioclient.SocketOptions{
					Auth: map[string]string{"token": "secret"}, Retries: 3, AckTimeout: 300 * time.Millisecond,
				})
				for n := range 3 {
					_ = s.Emit("job", 100*len(mode.name)+n) // unique per mode: the server counts per n
				}
				args, err := s.EmitWithAck(ctx, "job", 100*len(mode.name)+3)
				var n int
				if err != nil || args.Decode(1, &n) != nil || n != 100*len(mode.name)+3 {
					t.Fatalf("last job: %v %d", err, n)
				}
				// The server saw each job twice (it ignores the first
				// attempt), in order, and never a third time.
				for job := range 4 {
					for attempt := 1; attempt <= 2; attempt++ {
						want := fmt.Sprintf("%d:%d", 100*len(mode.name)+job, attempt)
						if e := p.next(t, ctx, "job"); e.Data != want {
							t.Fatalf("job report %q, want %q", e.Data, want)
						}
					}
				}
				time.Sleep(400 * time.Millisecond) // longer than AckTimeout
				if lines, _ := p.stdout.snapshot(); strings.Count(strings.Join(lines, "\n"), `"event":"job"`) != 8 {
					t.Fatalf("more attempts than needed%s", p.logs())
				}
			})
		})
	}
}

// The server restarts on the same port: the client reconnects by itself,
// with backoff, and connects its socket again.
func TestSioClientNodeRestart(t *testing.T) {
	nodeBinary(t)
	for _, mode := range sioClientModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			p, url := startNodeSIO(t, ctx)
			port := url[strings.LastIndex(url, ":")+1:]
			opts := mode.opts
			opts.ReconnectionDelay, opts.ReconnectionDelayMax = 50*time.Millisecond, 200*time.Millisecond
			m, err := sioclient.NewManager(url, &opts)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			var mu sync.Mutex
			var attempts []int
			reconnected := make(chan int, 1)
			m.OnReconnectAttempt(func(n int) { mu.Lock(); attempts = append(attempts, n); mu.Unlock() })
			m.OnReconnect(func(n int) { reconnected <- n })
			s := m.Socket("/", secret)
			welcome := events(s, "welcome")
			if err := s.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			take(t, ctx, welcome, "welcome")
			first := s.ID()
			_ = p.cmd.Process.Kill()
			<-p.exited
			time.Sleep(300 * time.Millisecond) // a few failed attempts
			startNode(t, ctx, "sio-server.mjs", "port="+port)
			take(t, ctx, welcome, "welcome after the restart")
			select {
			case n := <-reconnected:
				mu.Lock()
				defer mu.Unlock()
				if n < 2 || len(attempts) < 2 || !slices.IsSorted(attempts) {
					t.Fatalf("reconnected after %d attempts, attempts %v", n, attempts)
				}
			case <-ctx.Done():
				t.Fatal("no reconnect event")
			}
			if s.ID() == first || !s.Connected() {
				t.Fatalf("id %q after the restart (was %q), connected %v", s.ID(), first, s.Connected())
			}
		})
	}
}

// Connection state recovery with Node's server: after a forced transport
// close, the client gets its id back, recovered is true, and every event it
// missed arrives once.
func TestSioClientNodeRecovery(t *testing.T) {
	nodeBinary(t)
	for _, mode := range sioClientModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			p, url := startNodeSIO(t, ctx, "recovery=on")
			opts := mode.opts
			opts.ReconnectionDelay, opts.ReconnectionDelayMax = 500*time.Millisecond, time.Second
			s := goSocket(t, ctx, url, opts, "/", secret)
			nums := events(s, "n")
			connects := make(chan bool, 2)
			s.OnConnect(func() { connects <- s.Recovered() })
			id := s.ID()
			_ = s.Emit("count", 3)
			var got []int
			for range 3 {
				var n int
				_ = take(t, ctx, nums, "n").Decode(0, &n)
				got = append(got, n)
			}
			_ = s.Emit("cut")
			select {
			case recovered := <-connects:
				if !recovered || s.ID() != id {
					t.Fatalf("recovered %v, id %q (was %q)%s", recovered, s.ID(), id, p.logs())
				}
			case <-ctx.Done():
				t.Fatalf("no reconnection%s", p.logs())
			}
			for len(got) < 6 {
				var n int
				_ = take(t, ctx, nums, "missed n").Decode(0, &n)
				got = append(got, n)
			}
			select {
			case extra := <-nums:
				t.Fatalf("events %v, then %s again", got, extra.Raw(0))
			case <-time.After(200 * time.Millisecond):
			}
			if !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) {
				t.Fatalf("events %v", got)
			}
			if e := p.next(t, ctx, "connection"); e.Data != id {
				t.Fatalf("first connection %q", e.Data)
			}
			if e := p.next(t, ctx, "connection"); e.Data != id+" recovered" {
				t.Fatalf("second connection %q", e.Data)
			}
		})
	}
}
