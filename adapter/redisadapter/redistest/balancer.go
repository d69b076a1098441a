package redistest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Balancer is a TCP proxy on a loopback port standing for a cluster's load
// balancer: new connections go to the current backend; Cut drops the open
// ones, as a lost network would. The test's cleanup stops it.
type Balancer struct {
	ln      net.Listener
	backend atomic.Value // host:port
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

// NewBalancer starts a balancer sending connections to backend.
func NewBalancer(t testing.TB, backend string) *Balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Balancer{ln: ln}
	b.backend.Store(backend)
	b.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", b.backend.Load().(string))
			if err != nil {
				c.Close()
				continue
			}
			b.mu.Lock()
			b.conns = append(b.conns, c, up)
			b.mu.Unlock()
			b.wg.Go(func() { _, _ = io.Copy(up, c); up.Close() })
			b.wg.Go(func() { _, _ = io.Copy(c, up); c.Close() })
		}
	})
	t.Cleanup(func() { ln.Close(); b.Cut(); b.wg.Wait() })
	return b
}

// Addr returns the balancer's host:port.
func (b *Balancer) Addr() string { return b.ln.Addr().String() }

// SetBackend sends new connections to backend (host:port).
func (b *Balancer) SetBackend(backend string) { b.backend.Store(backend) }

// Cut closes every open connection.
func (b *Balancer) Cut() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}
