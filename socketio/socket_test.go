package socketio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsio/wsio/engineio"
	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
)

func TestConnectEmitAck(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr []string) {
		srv := newServer(t, nil)
		type msg struct {
			Text string `json:"text"`
			N    int    `json:"n"`
		}
		got := make(chan msg, 1)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("chat", func(m msg, ack socketio.Ack) {
				got <- m
				_ = ack("ok", m.N+1)
			})
			s.On("echo", func(data []byte, note string, ack socketio.Ack) { _ = ack(note, data) })
			_ = s.Emit("welcome", s.ID())
		})
		c := dial(t, srv, tr)
		body := c.connect("/", nil)
		sid, _ := body["sid"].(string)
		if len(sid) != 20 {
			t.Fatalf("sid %v", body)
		}
		name, args, _ := c.nextEvent()
		if name != "welcome" || arg[string](t, args, 0) != sid {
			t.Fatalf("welcome: %s", name)
		}
		c.emitAck("/", 7, "chat", map[string]any{"text": "hi", "n": 41})
		if m := <-got; m.Text != "hi" || m.N != 41 {
			t.Errorf("handler got %+v", m)
		}
		p := c.next()
		if p.Type != sioparser.Ack || p.ID != 7 || string(p.Data) != `["ok",42]` {
			t.Errorf("ack %v %d %s", p.Type, p.ID, p.Data)
		}
		// Binary both ways, nested.
		blob := bytes.Repeat([]byte{0xfe, 0}, 1000)
		c.emitAck("/", 8, "echo", blob, "note")
		p = c.next()
		if p.Type != sioparser.BinaryAck || p.ID != 8 || len(p.Attachments) != 1 || !bytes.Equal(p.Attachments[0], blob) {
			t.Errorf("binary ack %v %s %d", p.Type, p.Data, len(p.Attachments))
		}
	})
}

func TestServerEmitWithAck(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr []string) {
		srv := newServer(t, nil)
		result := make(chan string, 1)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("go", func() {
				// Waiting for an ack inside a handler must not block the
				// socket's reads.
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				args, err := s.EmitWithAck(ctx, "question", 1)
				if err != nil {
					result <- err.Error()
					return
				}
				result <- arg[string](t, args, 0)
			})
		})
		c := dial(t, srv, tr)
		c.connect("/", nil)
		c.emit("/", "go")
		name, _, p := c.nextEvent()
		if name != "question" || !p.HasID {
			t.Fatalf("question %s %v", name, p.HasID)
		}
		ack, _ := sioparser.NewAck("/", p.ID, "answer")
		c.send(ack)
		if r := <-result; r != "answer" {
			t.Errorf("result %q", r)
		}
	})
}

func TestEmitWithAckTimeoutAndDisconnect(t *testing.T) {
	srv := newServer(t, nil)
	sockets := make(chan *socketio.Socket, 1)
	srv.OnConnection(func(s *socketio.Socket) { sockets <- s })
	c := dial(t, srv, transports["websocket"])
	c.connect("/", nil)
	s := <-sockets
	_, err := s.Timeout(50*time.Millisecond).EmitWithAck(context.Background(), "q")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
	c.nextEvent()
	errs := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(context.Background(), "q2")
		errs <- err
	}()
	c.nextEvent()
	s.Disconnect(false)
	if err := <-errs; !errors.Is(err, socketio.ErrDisconnected) {
		t.Errorf("after disconnect: %v", err)
	}
}

func TestEventOrderAndTypedErrors(t *testing.T) {
	srv := newServer(t, nil)
	var mu sync.Mutex
	var seen []int
	errs := make(chan error, 10)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("n", func(i int) {
			mu.Lock()
			seen = append(seen, i)
			mu.Unlock()
		})
		s.OnError(func(err error) { errs <- err })
	})
	c := dial(t, srv, transports["websocket"])
	c.connect("/", nil)
	for i := range 200 {
		c.emit("/", "n", i)
	}
	c.emit("/", "n", "not a number")
	err := <-errs
	if !errors.Is(err, socketio.ErrHandlerType) {
		t.Errorf("type mismatch: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 200 {
		t.Fatalf("%d events", len(seen))
	}
	for i, v := range seen {
		if v != i {
			t.Fatalf("event %d is %d", i, v)
		}
	}
}

func TestAnyHandlersAndOnce(t *testing.T) {
	srv := newServer(t, nil)
	events := make(chan string, 10)
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnAny(func(ev string, args sioparser.Args) { events <- "any:" + ev })
		s.PrependAny(func(ev string, args sioparser.Args) { events <- "first:" + ev })
		s.Once("x", func() { events <- "once" })
		s.OnAnyOutgoing(func(ev string, args sioparser.Args) { events <- "out:" + ev })
		s.Use(func(ev string, args sioparser.Args) error {
			if ev == "blocked" {
				return errors.New("no")
			}
			return nil
		})
		s.On("ping", func() { _ = s.Emit("pong") })
	})
	c := dial(t, srv, transports["websocket"])
	c.connect("/", nil)
	c.emit("/", "x")
	c.emit("/", "x")
	c.emit("/", "blocked")
	c.emit("/", "ping")
	c.nextEvent()
	want := []string{"first:x", "any:x", "once", "first:x", "any:x", "first:ping", "any:ping", "out:pong"}
	for _, w := range want {
		select {
		case got := <-events:
			if got != w {
				t.Fatalf("got %q, want %q", got, w)
			}
		case <-time.After(testTimeout):
			t.Fatalf("missing %q", w)
		}
	}
}

func TestReservedEventsRefused(t *testing.T) {
	srv := newServer(t, nil)
	sockets := make(chan *socketio.Socket, 1)
	srv.OnConnection(func(s *socketio.Socket) { sockets <- s })
	c := dial(t, srv, transports["websocket"])
	c.connect("/", nil)
	s := <-sockets
	for _, ev := range []string{"connect", "disconnect", "disconnecting", "connect_error", "newListener", "removeListener"} {
		if err := s.Emit(ev); !errors.Is(err, socketio.ErrReservedEvent) {
			t.Errorf("%s: %v", ev, err)
		}
		if err := srv.Emit(ev); !errors.Is(err, socketio.ErrReservedEvent) {
			t.Errorf("broadcast %s: %v", ev, err)
		}
	}
	// From the client: a parse error that closes the connection.
	reasons := make(chan string, 1)
	s.OnDisconnect(func(r string) { reasons <- r })
	c.sendRaw(`2["disconnect"]`)
	if r := <-reasons; r != socketio.ReasonParseError {
		t.Errorf("reason %q", r)
	}
}

// A client that sends faster than its handler runs is held back at the
// inbox bound; every event still arrives, in order.
func TestInboxBoundKeepsOrder(t *testing.T) {
	srv := newServer(t, nil)
	gate := make(chan struct{})
	var mu sync.Mutex
	var seen []int
	done := make(chan struct{})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("n", func(i int) {
			if i == 0 {
				<-gate
			}
			mu.Lock()
			seen = append(seen, i)
			n := len(seen)
			mu.Unlock()
			if n == 1500 {
				close(done)
			}
		})
	})
	c := dial(t, srv, transports["websocket"])
	c.connect("/", nil)
	for i := range 1500 {
		c.emit("/", "n", i)
	}
	time.Sleep(50 * time.Millisecond)
	close(gate)
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatal("events lost")
	}
	mu.Lock()
	defer mu.Unlock()
	for i, v := range seen {
		if v != i {
			t.Fatalf("event %d is %d", i, v)
		}
	}
}

// A handler that blocks holds up its own socket's later events only: the
// connection's other namespaces, the acks it waits for and the heartbeat
// go on, on every transport.
func TestBlockingHandlerHoldsUpOnlyItsSocket(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr []string) {
		srv := newServer(t, &socketio.Options{Engine: engineio.Options{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond}})
		gate := make(chan struct{})
		var order []int
		var mu sync.Mutex
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("block", func(i int) {
				if i == 0 {
					<-gate
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
			})
		})
		srv.Of("/other").OnConnection(func(s *socketio.Socket) {
			s.On("ping", func(ack socketio.Ack) { _ = ack("pong") })
		})
		c := dial(t, srv, tr)
		c.connect("/", nil)
		c.connect("/other", nil)
		for i := range 5 {
			c.emit("/", "block", i)
		}
		// Longer than pingInterval + pingTimeout: the heartbeat must go on.
		for i := range 4 {
			c.emitAck("/other", uint64(i), "ping")
			p := c.next()
			if p.Type != sioparser.Ack || p.Namespace != "/other" || p.ID != uint64(i) {
				t.Fatalf("ack %d: %v %s %d", i, p.Type, p.Namespace, p.ID)
			}
			time.Sleep(40 * time.Millisecond)
		}
		mu.Lock()
		if len(order) != 0 {
			t.Errorf("events ran while the first was blocked: %v", order)
		}
		mu.Unlock()
		close(gate)
		waitFor(t, "the held-up events", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(order) == 5
		})
		mu.Lock()
		defer mu.Unlock()
		for i, v := range order {
			if v != i {
				t.Fatalf("order %v", order)
			}
		}
	})
}

// A handler's emits reach the client while it still runs, however long.
func TestEmitFromLongHandlerIsSent(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr []string) {
		srv := newServer(t, nil)
		gate := make(chan struct{})
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("work", func() {
				_ = s.Emit("progress", 1)
				<-gate
			})
		})
		c := dial(t, srv, tr)
		c.connect("/", nil)
		c.emit("/", "work")
		name, _, _ := c.nextEvent()
		close(gate)
		if name != "progress" {
			t.Fatalf("event %q", name)
		}
	})
}

// Compress(false) reaches the engine: over polling, a response holding
// only such packets is not gzipped, while a default emit is.
func TestCompressFlag(t *testing.T) {
	srv := newServer(t, nil)
	big := strings.Repeat("compressible ", 200)
	ready := make(chan *socketio.Socket, 1)
	srv.OnConnection(func(s *socketio.Socket) { ready <- s })
	get := func(url string) (string, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.Header.Get("Content-Encoding"), string(b)
	}
	base := srv.url + "/socket.io/?EIO=4&transport=polling"
	_, open := get(base)
	var hs struct{ SID string }
	_ = json.Unmarshal([]byte(open[1:]), &hs)
	base += "&sid=" + hs.SID
	do(t, http.MethodPost, base, "40")
	if _, body := get(base); !strings.HasPrefix(body, "40") {
		t.Fatalf("CONNECT answer %q", body)
	}
	s := <-ready
	_ = s.Compress(false).Emit("big", big)
	if enc, body := get(base); enc != "" || !strings.Contains(body, big) {
		t.Errorf("Compress(false): Content-Encoding %q, %d bytes", enc, len(body))
	}
	_ = srv.Compress(false).Emit("big", big)
	if enc, _ := get(base); enc != "" {
		t.Errorf("broadcast Compress(false): Content-Encoding %q", enc)
	}
	_ = s.Emit("big", big)
	if enc, _ := get(base); enc != "gzip" {
		t.Errorf("default emit: Content-Encoding %q", enc)
	}
}
