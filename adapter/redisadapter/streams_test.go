package redisadapter

import (
	"context"
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

// Node's hash of a namespace name, and the streams it picks with
// streamCount 3 (the values printed by the npm adapter's hashCode, under
// Node 20).
func TestStreamOf(t *testing.T) {
	o := StreamsOptions{StreamName: "socket.io", StreamCount: 3}
	for nsp, want := range map[string]string{
		"/":                             "socket.io-2",
		"/chat":                         "socket.io-1",
		"/admin":                        "socket.io-1",
		"/a-much-longer-namespace-name": "socket.io-1",
		"/é😀":                           "socket.io-2",
		"/orders/europe/west":           "socket.io--2", // hash -440470463
	} {
		if got := streamOf(nsp, o); got != want {
			t.Errorf("%q: %s, want %s (hash %d)", nsp, got, want, jsHashCode(nsp))
		}
	}
	if got := streamOf("/chat", StreamsOptions{StreamName: "s", StreamCount: 1}); got != "s" {
		t.Errorf("one stream: %s", got)
	}
}

// Namespaces spread over three streams, and requests over sharded pub/sub:
// the adapter suite passes, and each namespace's entries are on its own
// stream.
func TestStreamsAdapterSuiteManyStreamsSharded(t *testing.T) {
	r := redistest.Start(t)
	newCluster := func(t *testing.T, n int) []adapter.Factory {
		out := make([]adapter.Factory, n)
		for i := range out {
			rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
			t.Cleanup(func() { _ = rdb.Close() })
			out[i] = NewStreams(rdb, &StreamsOptions{StreamCount: 3, UseShardedPubSub: true, BlockTime: 200 * time.Millisecond,
				RequestsTimeout: 2 * time.Second, MaxDisconnectionDuration: time.Minute}, nil)
		}
		return out
	}
	adaptertest.Run(t, adaptertest.Config{NewCluster: newCluster, Servers: 2, Recovery: true, Settle: 3 * time.Second})

	fs := newCluster(t, 2)
	chat1, chat2 := adaptertest.NewHost(t, "/chat", fs[0]), adaptertest.NewHost(t, "/chat", fs[1])
	b := chat2.Add("b")
	root1, root2 := adaptertest.NewHost(t, "/", fs[0]), adaptertest.NewHost(t, "/", fs[1])
	c := root2.Add("c")
	for _, h := range []*adaptertest.Host{chat1, root1} {
		p, _ := sioparser.NewEvent(h.Name(), "hi")
		_ = h.Adapter().Broadcast(p, adapter.BroadcastOptions{})
	}
	waitUntil(t, 5*time.Second, "broadcasts on two streams", func() bool { return len(b.Received()) == 1 && len(c.Received()) == 1 })
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	for stream, nsp := range map[string]string{"socket.io-1": "/chat", "socket.io-2": "/"} {
		es, err := rdb.XRevRangeN(context.Background(), stream, "+", "-", 1).Result()
		if err != nil || len(es) != 1 || es[0].Values["nsp"] != nsp {
			t.Errorf("stream %s: %v %v", stream, es, err)
		}
	}
	if n, err := rdb.PubSubShardNumSub(context.Background(), "socket.io#/chat#").Result(); err != nil || n["socket.io#/chat#"] != 2 {
		t.Errorf("sharded subscribers of /chat: %v %v", n, err)
	}
}
