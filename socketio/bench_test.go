package socketio_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
	"github.com/wsio/wsio/websocket"
)

// BenchmarkEchoAck measures one event with an ack, answered by a typed
// handler, over a WebSocket on loopback (client side hand-written, so the
// allocations counted are the server's and the websocket client's).
func BenchmarkEchoAck(b *testing.B) {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(msg string, ack socketio.Ack) { _ = ack(msg) })
	})
	ts := httptest.NewServer(srv)
	defer func() { _ = srv.Shutdown(context.Background()); ts.Close() }()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, strings.Replace(ts.URL, "http", "ws", 1)+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	read := func() []byte {
		for {
			_, m, err := c.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if string(m) != "2" {
				return m
			}
		}
	}
	read()
	_ = c.Write(ctx, websocket.MessageText, []byte("40"))
	read()
	p, _ := sioparser.NewEvent("/", "echo", "hello")
	p.ID, p.HasID = 1, true
	msg := append([]byte("4"), sioparser.AppendText(nil, p)...)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
		if m := read(); m[1] != '3' {
			b.Fatalf("%s", m)
		}
	}
}
