package socketio_test

import (
	"context"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsio/wsio/socketio"
	"github.com/wsio/wsio/websocket"
)

// TestIdleSocketStackIsSmall checks that a connection idle after joining a
// namespace holds one reader goroutine with the minimum 2 KiB stack, though
// the join ran middlewares and connection handlers on the reader.
func TestIdleSocketStackIsSmall(t *testing.T) {
	if raceEnabled {
		t.Skip("stack sizes differ under -race; CI runs this test without -race")
	}
	srv := socketio.NewServer(nil)
	srv.Use(func(s *socketio.Socket) error { return nil })
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("chat", func(msg struct{ Text string }, ack socketio.Ack) { _ = ack(msg.Text) })
		_ = s.Emit("welcome", map[string]any{"id": s.ID(), "rooms": s.Rooms()})
	})
	ts := httptest.NewServer(srv)
	defer func() { _ = srv.Shutdown(context.Background()); ts.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const n = 500
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	url := strings.Replace(ts.URL, "http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
	clients := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, c := range clients {
			c.CloseNow()
		}
	}()
	for range n {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		if _, _, err := c.Read(ctx); err != nil { // open
			t.Fatal(err)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte("40")); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"40{", `42["welcome"`} {
			if _, m, err := c.Read(ctx); err != nil || !strings.HasPrefix(string(m), want) {
				t.Fatalf("got %q, %v; want %s...", m, err, want)
			}
		}
	}
	time.Sleep(100 * time.Millisecond) // writers linger 5 ms, handlers return
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConn := (int64(after.StackInuse) - int64(before.StackInuse)) / n
	t.Logf("stack per idle connection: %d bytes", perConn)
	if perConn > 3400 {
		t.Fatalf("an idle connection uses %d bytes of stack; its reader kept the stack the join grew", perConn)
	}
}
