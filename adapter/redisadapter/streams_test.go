package redisadapter

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/adapter/adaptertest"
	"github.com/wsio/wsio/adapter/redisadapter/redistest"
	"github.com/wsio/wsio/sioparser"
)

// streamsCluster returns n Streams adapter factories, each with its own
// client, on r.
func streamsCluster(t *testing.T, r *redistest.Server, n int) []adapter.Factory {
	t.Helper()
	out := make([]adapter.Factory, n)
	for i := range out {
		rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
		t.Cleanup(func() { _ = rdb.Close() })
		out[i] = NewStreams(rdb, &StreamsOptions{BlockTime: 200 * time.Millisecond, RequestsTimeout: 2 * time.Second, MaxDisconnectionDuration: time.Minute}, nil)
	}
	return out
}

func TestStreamsAdapterSuite(t *testing.T) {
	r := redistest.Start(t)
	adaptertest.Run(t, adaptertest.Config{
		NewCluster: func(t *testing.T, n int) []adapter.Factory { return streamsCluster(t, r, n) },
		Servers:    2,
		Recovery:   true,
		Settle:     3 * time.Second,
	})
}

// Entries of the stream are handled in order: a join on one server, then a
// broadcast to that room, reaches the socket on another.
func TestStreamsOrder(t *testing.T) {
	r := redistest.Start(t)
	fs := streamsCluster(t, r, 2)
	h1 := adaptertest.NewHost(t, "/", fs[0])
	h2 := adaptertest.NewHost(t, "/", fs[1])
	h1.Add("a")
	b := h2.Add("b")
	const rounds = 50
	for i := range rounds {
		room := fmt.Sprint("room", i)
		_ = h1.Adapter().AddSockets(adapter.BroadcastOptions{}, []string{room})
		p, _ := sioparser.NewEvent("/", "n", i)
		_ = h1.Adapter().Broadcast(p, adapter.BroadcastOptions{Rooms: []string{room}})
	}
	waitUntil(t, 5*time.Second, "every broadcast", func() bool { return len(b.Received()) == rounds })
}
