package websocket

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestParkedReaderStackIsSmall checks that a goroutine parked in Read, as
// every idle connection's read loop is, keeps the minimum 2 KiB stack.
func TestParkedReaderStackIsSmall(t *testing.T) {
	if raceEnabled {
		t.Skip("stack sizes differ under -race; CI runs this test without -race")
	}
	const n = 300
	conns := make(chan *Conn, n)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := Accept(w, r, nil); err == nil {
			conns <- c
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	clients := make([]*Conn, 0, n)
	defer func() {
		for _, c := range clients {
			c.CloseNow()
		}
	}()
	for range n {
		c, _, err := Dial(testCtx(t), "ws://"+ln.Addr().String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	servers := make([]*Conn, 0, n)
	for range n {
		servers = append(servers, <-conns)
	}
	time.Sleep(50 * time.Millisecond) // let the HTTP handlers return
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	for _, c := range servers {
		wg.Go(func() { _, _, _ = c.Read(context.Background()) })
	}
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConn := (int64(after.StackInuse) - int64(before.StackInuse)) / n
	for _, c := range clients {
		c.CloseNow()
	}
	wg.Wait()
	for _, c := range servers {
		c.CloseNow()
	}
	t.Logf("stack per parked reader: %d bytes", perConn)
	if perConn > 3<<10 {
		t.Fatalf("a parked reader uses %d bytes of stack; the read path got deeper", perConn)
	}
}
