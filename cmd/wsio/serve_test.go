package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wsio/wsio/eioclient"
	"github.com/wsio/wsio/sioparser"
)

// serveClient is a bare Socket.IO client over eioclient for these tests.
type serveClient struct {
	t       *testing.T
	eio     *eioclient.Client
	packets chan *sioparser.Packet
}

func dialServe(t *testing.T, url string) *serveClient {
	t.Helper()
	c := &serveClient{t: t, packets: make(chan *sioparser.Packet, 64)}
	var dec sioparser.Decoder
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := eioclient.Dial(ctx, url, &eioclient.Options{
		Path: "/socket.io/",
		OnMessage: func(data []byte, binary bool) {
			var p *sioparser.Packet
			if binary {
				p, _ = dec.Binary(data)
			} else {
				p, _ = dec.Text(data)
			}
			if p != nil {
				c.packets <- p
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.eio = e
	t.Cleanup(func() { _ = e.Close(); <-e.Done() })
	return c
}

func (c *serveClient) send(p *sioparser.Packet) {
	c.t.Helper()
	if err := c.eio.Send(context.Background(), sioparser.AppendText(nil, p), false); err != nil {
		c.t.Fatal(err)
	}
	for _, a := range p.Attachments {
		if err := c.eio.Send(context.Background(), a, true); err != nil {
			c.t.Fatal(err)
		}
	}
}

func (c *serveClient) next() *sioparser.Packet {
	c.t.Helper()
	select {
	case p := <-c.packets:
		return p
	case <-time.After(10 * time.Second):
		c.t.Fatal("no packet")
		return nil
	}
}

func (c *serveClient) emit(nsp string, id int, event string, args ...any) {
	c.t.Helper()
	p, err := sioparser.NewEvent(nsp, event, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	if id >= 0 {
		p.ID, p.HasID = uint64(id), true
	}
	c.send(p)
}

func TestServeDemoServer(t *testing.T) {
	cfg, err := parseServe(nil, io.Discard)
	if err != nil || cfg.addr != "127.0.0.1:3000" || cfg.path != "/socket.io/" || cfg.pingInterval != 25*time.Second {
		t.Fatalf("defaults %+v %v", cfg, err)
	}
	cfg.recovery = time.Minute
	cfg.corsOrigins = "*"
	srv := newDemoServer(cfg.options(slog.New(slog.DiscardHandler)))
	ts := httptest.NewServer(srv)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	}()
	a := dialServe(t, ts.URL)
	b := dialServe(t, ts.URL)
	for _, c := range []*serveClient{a, b} {
		c.send(&sioparser.Packet{Type: sioparser.Connect, Namespace: "/any"})
		if p := c.next(); p.Type != sioparser.Connect {
			t.Fatalf("connect: %v %s", p.Type, p.Data)
		}
	}
	// echo with an ack, binary included, and without one.
	a.emit("/any", 1, "echo", "hi", []byte{1, 2})
	if p := a.next(); p.Type != sioparser.BinaryAck || p.ID != 1 || !bytes.Equal(p.Attachments[0], []byte{1, 2}) {
		t.Errorf("echo ack %v %s", p.Type, p.Data)
	}
	a.emit("/any", -1, "echo", "again")
	// With recovery on, an offset follows the arguments.
	if p := a.next(); !bytes.HasPrefix(p.Data, []byte(`["echo","again","`)) {
		t.Errorf("echo event %s", p.Data)
	}
	// Rooms and broadcasts.
	b.emit("/any", 2, "join", "lobby")
	if p := b.next(); p.Type != sioparser.Ack {
		t.Errorf("join ack %v", p.Type)
	}
	a.emit("/any", -1, "to", "lobby", "news", 1)
	if p := b.next(); !bytes.HasPrefix(p.Data, []byte(`["news",1,"`)) {
		t.Errorf("to room: %s", p.Data)
	}
	a.emit("/any", -1, "broadcast", "hey")
	if p := b.next(); string(p.Data[:6]) != `["hey"` {
		t.Errorf("broadcast: %s", p.Data)
	}
}

func TestRunServeListensAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, &syncWriter{w: &out}, io.Discard)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Contains([]byte(readSync(&out)), []byte("Socket.IO on")) {
		if time.Now().After(deadline) {
			t.Fatal("serve did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConformanceSocketServer(t *testing.T) {
	cfg, err := parseConformance([]string{"socket"}, io.Discard)
	if err != nil || cfg.suite != "socket" {
		t.Fatalf("%+v %v", cfg, err)
	}
	srv := newConformanceSocket(slog.New(slog.DiscardHandler))
	ts := httptest.NewServer(srv)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	}()
	c := dialServe(t, ts.URL)
	c.send(&sioparser.Packet{Type: sioparser.Connect, Namespace: "/", Data: []byte(`{"token":"123"}`)})
	if p := c.next(); p.Type != sioparser.Connect {
		t.Fatalf("%v", p.Type)
	}
	if p := c.next(); string(p.Data) != `["auth",{"token":"123"}]` {
		t.Errorf("auth %s", p.Data)
	}
	c.emit("/", 456, "message-with-ack", 1, "2", map[string]any{"3": []any{false}})
	if p := c.next(); p.Type != sioparser.Ack || p.ID != 456 || string(p.Data) != `[1,"2",{"3":[false]}]` {
		t.Errorf("ack %v %d %s", p.Type, p.ID, p.Data)
	}
	c.emit("/", -1, "message", []byte{1, 2, 3})
	if p := c.next(); p.Type != sioparser.BinaryEvent || !bytes.Equal(p.Attachments[0], []byte{1, 2, 3}) {
		t.Errorf("message-back %v %s", p.Type, p.Data)
	}
}
