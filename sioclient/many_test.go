package sioclient_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsio/wsio/sioclient"
	"github.com/wsio/wsio/socketio"
)

// TestThousandClientsWithoutRace runs 1000 clients in this process against
// our server: each connects, joins a room, gets a broadcast and an ack.
// Under -race it runs 100 (the race detector's memory grows with every
// goroutine); scripts/test.sh runs it again without -race.
func TestThousandClientsWithoutRace(t *testing.T) {
	n := 1000
	if raceEnabled {
		n = 100
	}
	srv := newServer(t, nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(room string, ack socketio.Ack) { s.Join(room); _ = ack(s.ID()) })
	})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var got atomic.Int64
	all := make(chan struct{})
	sockets := make([]*sioclient.Socket, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m, err := sioclient.NewManager(srv.ts.URL, &sioclient.Options{Transports: []string{"websocket"}})
			if err != nil {
				errs <- err
				return
			}
			s := m.Socket("/", nil)
			s.On("news", func(string) {
				if got.Add(1) == int64(n) {
					close(all)
				}
			})
			if err := s.Connect(ctx); err != nil {
				errs <- err
				return
			}
			args, err := s.EmitWithAck(ctx, "join", "everyone")
			var id string
			if err != nil || args.Decode(0, &id) != nil || id != s.ID() {
				errs <- err
				return
			}
			sockets[i] = s
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a client failed: %v", err)
	}
	if c := srv.Engine().Count(); c != n {
		t.Fatalf("%d engine connections, want %d", c, n)
	}
	_ = srv.To("everyone").Emit("news", "hello, all")
	select {
	case <-all:
	case <-ctx.Done():
		t.Fatalf("%d of %d clients got the broadcast", got.Load(), n)
	}
	var closing sync.WaitGroup
	for _, s := range sockets {
		closing.Go(func() { _ = s.Manager().Close() })
	}
	closing.Wait()
}
