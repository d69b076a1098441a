package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsio/wsio/bench/internal/peers"
)

// echoSizes are the message sizes of BenchmarkEcho.
var echoSizes = []struct {
	name string
	n    int
}{
	{"16B", 16},
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
	{"1MiB", 1 << 20},
}

// BenchmarkEcho measures one round trip over loopback TCP: the client writes
// one binary message and waits for the server to echo it back. Client and
// server run in this process, so B/op and allocs/op count both sides.
//
// The library is the innermost loop so that the libraries being compared
// run close together in time.
func BenchmarkEcho(b *testing.B) {
	for _, sz := range echoSizes {
		payload := peers.Payload(sz.n)
		for _, compress := range []bool{false, true} {
			for _, lib := range peers.All {
				name := fmt.Sprintf("lib=%s/size=%s/compress=%v", lib.Name, sz.name, compress)
				b.Run(name, func(b *testing.B) {
					benchEcho(b, lib, payload, compress)
				})
			}
		}
	}
}

func benchEcho(b *testing.B, lib peers.Lib, payload []byte, compress bool) {
	srv := startEchoServer(b, lib, compress, false)
	defer srv.stop(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c, err := lib.Dial(ctx, srv.url, compress)
	cancel()
	if err != nil {
		b.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if err := c.Echo(payload); err != nil { // warm up the buffers and pools
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if err := c.Echo(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// echoServer is one library's echo server on 127.0.0.1.
type echoServer struct {
	url   string
	srv   *http.Server
	conns sync.WaitGroup // one per connection still in its read loop

	received atomic.Int64 // bytes the server read from the network
}

// startEchoServer starts lib's echo server. With count set, the bytes the
// server reads are counted (for tests only: the wrapper hides the
// *net.TCPConn from the library, which the benchmarks must not do).
func startEchoServer(tb testing.TB, lib peers.Lib, compress, count bool) *echoServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &echoServer{url: "ws://" + ln.Addr().String() + "/"}
	if count {
		ln = &countingListener{Listener: ln, n: &s.received}
	}
	h := lib.Handler(peers.ServerOptions{Compress: compress})
	s.srv = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.conns.Add(1)
			defer s.conns.Done()
			h.ServeHTTP(w, r) // returns when the connection's read loop ends
		}),
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s
}

// stop closes the listener and waits for the server's connections to end;
// the caller closes its clients first.
func (s *echoServer) stop(tb testing.TB) {
	tb.Helper()
	_ = s.srv.Close()
	done := make(chan struct{})
	go func() {
		s.conns.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		tb.Errorf("server connections still open 10s after their clients closed")
	}
}

// countingListener counts the bytes read from its connections, so that a
// test can tell that compression was in effect.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}
