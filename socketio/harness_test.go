package socketio_test

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

	"github.com/wsio/wsio/eioclient"
	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
)

const testTimeout = 10 * time.Second

// transports are the ways the tests connect.
var transports = map[string][]string{
	"polling":   {"polling"},
	"websocket": {"websocket"},
	"upgrade":   {"polling", "websocket"},
}

type testServer struct {
	*socketio.Server
	url string
}

func newServer(t *testing.T, opts *socketio.Options) *testServer {
	t.Helper()
	if opts == nil {
		opts = &socketio.Options{}
	}
	srv := socketio.NewServer(opts)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.CloseClientConnections()
		ts.Close()
	})
	return &testServer{Server: srv, url: ts.URL}
}

// tclient is a minimal Socket.IO client for the tests, on eioclient.
type tclient struct {
	t       *testing.T
	eio     *eioclient.Client
	packets chan *sioparser.Packet
	closed  chan string
	dec     sioparser.Decoder
	mu      sync.Mutex
}

func dial(t *testing.T, srv *testServer, transport []string, header ...string) *tclient {
	t.Helper()
	c := &tclient{t: t, packets: make(chan *sioparser.Packet, 1024), closed: make(chan string, 1)}
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	e, err := eioclient.Dial(ctx, srv.url+"/socket.io/", &eioclient.Options{
		Transports: transport,
		Header:     h,
		OnMessage: func(data []byte, binary bool) {
			var p *sioparser.Packet
			var err error
			if binary {
				p, err = c.dec.Binary(data)
			} else {
				p, err = c.dec.Text(data)
			}
			if err != nil {
				t.Errorf("client decode %q: %v", data, err)
				return
			}
			if p != nil {
				c.packets <- p
			}
		},
		OnClose: func(reason string, err error) { c.closed <- reason },
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.eio = e
	t.Cleanup(func() { _ = e.Close(); <-e.Done() })
	return c
}

func (c *tclient) send(p *sioparser.Packet) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.eio.Send(ctx, sioparser.AppendText(nil, p), false); err != nil {
		c.t.Fatalf("send: %v", err)
	}
	for _, a := range p.Attachments {
		if err := c.eio.Send(ctx, a, true); err != nil {
			c.t.Fatalf("send attachment: %v", err)
		}
	}
}

func (c *tclient) sendRaw(text string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.eio.Send(ctx, []byte(text), false); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// next returns the next packet from the server.
func (c *tclient) next() *sioparser.Packet {
	c.t.Helper()
	select {
	case p := <-c.packets:
		return p
	case <-time.After(testTimeout):
		c.t.Fatal("no packet from the server")
		return nil
	}
}

// connect joins nsp with auth and returns the CONNECT answer's payload.
func (c *tclient) connect(nsp string, auth any) map[string]any {
	c.t.Helper()
	p := &sioparser.Packet{Type: sioparser.Connect, Namespace: nsp}
	if auth != nil {
		p.Data, _ = json.Marshal(auth)
	}
	c.send(p)
	got := c.next()
	var body map[string]any
	_ = json.Unmarshal(got.Data, &body)
	if got.Type != sioparser.Connect || got.Namespace != nsp {
		c.t.Fatalf("CONNECT to %s answered with %v %s %s", nsp, got.Type, got.Namespace, got.Data)
	}
	return body
}

func (c *tclient) emit(nsp, event string, args ...any) {
	c.t.Helper()
	p, err := sioparser.NewEvent(nsp, event, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.send(p)
}

func (c *tclient) emitAck(nsp string, id uint64, event string, args ...any) {
	c.t.Helper()
	p, err := sioparser.NewEvent(nsp, event, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	p.ID, p.HasID = id, true
	c.send(p)
}

// nextEvent returns the next EVENT and its name, skipping nothing.
func (c *tclient) nextEvent() (string, sioparser.Args, *sioparser.Packet) {
	c.t.Helper()
	p := c.next()
	if p.Type != sioparser.Event && p.Type != sioparser.BinaryEvent {
		c.t.Fatalf("expected an event, got %v %s", p.Type, p.Data)
	}
	name, args, err := sioparser.ParseEvent(p)
	if err != nil {
		c.t.Fatal(err)
	}
	return name, args, p
}

// expectNone checks that no packet arrives within d.
func (c *tclient) expectNone(d time.Duration) {
	c.t.Helper()
	select {
	case p := <-c.packets:
		c.t.Fatalf("unexpected packet %v %s", p.Type, p.Data)
	case <-time.After(d):
	}
}

func (c *tclient) waitClosed() string {
	c.t.Helper()
	select {
	case r := <-c.closed:
		return r
	case <-time.After(testTimeout):
		c.t.Fatal("connection still open")
		return ""
	}
}

func arg[T any](t *testing.T, args sioparser.Args, i int) T {
	t.Helper()
	var v T
	if err := args.Decode(i, &v); err != nil {
		t.Fatalf("argument %d: %v", i, err)
	}
	return v
}

func forEachTransport(t *testing.T, fn func(t *testing.T, tr []string)) {
	for _, name := range []string{"polling", "websocket", "upgrade"} {
		t.Run(name, func(t *testing.T) { fn(t, transports[name]) })
	}
}

// waitFor polls cond for up to testTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in time", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// do makes one HTTP request and returns the body.
func do(t *testing.T, method, url, body string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
