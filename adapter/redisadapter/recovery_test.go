package redisadapter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter/redisadapter/redistest"
	"github.com/wsio/wsio/sioclient"
	"github.com/wsio/wsio/socketio"
)

// A client on server A drops; it comes back through server B, which finds
// its session in Redis: same id, recovered, and every event emitted while
// it was away arrives once.
func TestRecoveryAcrossServers(t *testing.T) {
	r := redistest.Start(t)
	const window = time.Minute
	gone := make(chan string, 4)
	newServer := func() (*socketio.Server, string) {
		rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
		srv := socketio.NewServer(&socketio.Options{
			ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: window},
			Adapter:                 NewStreams(rdb, &StreamsOptions{BlockTime: 200 * time.Millisecond, MaxDisconnectionDuration: window}, nil),
		})
		srv.OnConnection(func(s *socketio.Socket) { s.OnDisconnect(func(reason string) { gone <- reason }) })
		mux := http.NewServeMux()
		mux.Handle("/socket.io/", srv)
		ts := httptest.NewServer(mux)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			ts.Close()
			_ = rdb.Close()
		})
		return srv, ts.Listener.Addr().String()
	}
	srvA, addrA := newServer()
	srvB, addrB := newServer()
	lb := redistest.NewBalancer(t, addrA)

	m, err := sioclient.NewManager("http://"+lb.Addr(), &sioclient.Options{
		Transports: []string{"websocket"}, ReconnectionDelay: 300 * time.Millisecond, ReconnectionDelayMax: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Socket("/", nil)
	var mu sync.Mutex
	var got []int
	s.On("n", func(i int) { mu.Lock(); got = append(got, i); mu.Unlock() })
	connects := make(chan bool, 2)
	s.OnConnect(func() { connects <- s.Recovered() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	<-connects
	id := s.ID()
	for i := range 3 {
		_ = srvA.Emit("n", i)
	}
	waitUntil(t, 5*time.Second, "the first events", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 3 })

	lb.SetBackend(addrB) // the balancer now sends the client to B
	lb.Cut()
	select {
	case <-gone: // A has persisted the session
	case <-ctx.Done():
		t.Fatal("server A did not see the client go")
	}
	for i := 3; i < 6; i++ {
		_ = srvB.Emit("n", i)
	}
	select {
	case recovered := <-connects:
		if !recovered || s.ID() != id {
			t.Fatalf("through server B: recovered %v, id %q (was %q)", recovered, s.ID(), id)
		}
	case <-ctx.Done():
		t.Fatal("no reconnection through server B")
	}
	waitUntil(t, 5*time.Second, "the missed events", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 6 })
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("events %v", got)
	}
}
