package redisadapter

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/adapter/adaptertest"
	"github.com/wsio/wsio/adapter/redisadapter/redistest"
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
