package sioclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsio/wsio/engineio"
	"github.com/wsio/wsio/sioclient"
	"github.com/wsio/wsio/socketio"
)

// A socket that leaves while the connection opens, and another that
// connects right after, share one open attempt at a time.
func TestConnectDuringSlowOpen(t *testing.T) {
	srv := socketio.NewServer(nil)
	srv.Of("/admin")
	var first atomic.Bool
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sid") == "" && first.CompareAndSwap(false, true) {
			time.Sleep(200 * time.Millisecond) // a slow handshake
		}
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()
	m, _ := sioclient.NewManager(ts.URL, &sioclient.Options{Transports: []string{"websocket"}})
	defer m.Close()
	s1 := m.Socket("/", nil)
	done := make(chan error, 1)
	go func() { done <- s1.Connect(ctxT(t)) }()
	time.Sleep(50 * time.Millisecond)
	s1.Disconnect()
	if err := <-done; err == nil {
		t.Fatal("Connect of a socket that left succeeded")
	}
	s2 := m.Socket("/admin", nil)
	if err := s2.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// A connection the server closes right after its handshake is noticed: the
// Manager reconnects.
func TestEngineClosedAtOnce(t *testing.T) {
	eng := engineio.NewServer(&engineio.Options{Path: "/socket.io/"})
	eng.OnConnection(func(s *engineio.Session) { _ = s.Close() })
	ts := httptest.NewServer(eng)
	defer ts.Close()
	defer func() { _ = eng.Shutdown(context.Background()) }()
	m, _ := sioclient.NewManager(ts.URL, &sioclient.Options{Transports: []string{"websocket"}, ReconnectionDelay: 10 * time.Millisecond, ReconnectionDelayMax: 20 * time.Millisecond})
	defer m.Close()
	attempts := make(chan int, 100)
	m.OnReconnectAttempt(func(n int) { attempts <- n })
	s := m.Socket("/", nil)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_ = s.Connect(ctx)
	if n := recv(t, attempts); n < 1 {
		t.Fatalf("attempt %d", n)
	}
	recv(t, attempts)
}

// Close ends what waits on a socket, buffered acks included, and does not
// wait for a dial that hangs.
func TestCloseEndsWaits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	m, _ := sioclient.NewManager("http://"+ln.Addr().String(), &sioclient.Options{Transports: []string{"websocket"}})
	s := m.Socket("/", &sioclient.SocketOptions{AutoConnect: true})
	acked := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(context.Background(), "buffered")
		acked <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	_ = m.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := recv(t, acked); !errors.Is(err, sioclient.ErrDisconnected) {
		t.Fatalf("EmitWithAck after Close: %v", err)
	}
}

// A Connect whose ctx ends while the server is away leaves the socket
// trying; it connects once the server is back.
func TestConnectKeepsTrying(t *testing.T) {
	srv := newServer(t, nil)
	srv.down.Store(true)
	m := manager(t, srv, sioclient.Options{Transports: []string{"websocket"}, ReconnectionDelay: 20 * time.Millisecond, ReconnectionDelayMax: 50 * time.Millisecond})
	s := m.Socket("/", nil)
	connected := make(chan struct{})
	s.OnConnect(func() { close(connected) })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := s.Connect(ctx); err == nil || !s.Active() {
		t.Fatalf("Connect while the server is away: %v, active %v", err, s.Active())
	}
	srv.down.Store(false)
	recv(t, connected)
}
