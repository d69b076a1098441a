package redisadapter

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/adapter/adaptertest"
	"github.com/wsio/wsio/adapter/redisadapter/redistest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cluster returns n factories, each with its own Redis client (as separate
// servers have), all on r.
func cluster(t *testing.T, r *redistest.Server, n int, opts *Options) []adapter.Factory {
	t.Helper()
	out := make([]adapter.Factory, n)
	for i := range out {
		rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
		t.Cleanup(func() { _ = rdb.Close() })
		out[i] = New(rdb, opts, nil)
	}
	return out
}

func TestAdapterSuite(t *testing.T) {
	r := redistest.Start(t)
	adaptertest.Run(t, adaptertest.Config{
		NewCluster: func(t *testing.T, n int) []adapter.Factory {
			return cluster(t, r, n, &Options{Memory: adapter.MemoryOptions{MaxDisconnectionDuration: time.Minute}, RequestsTimeout: 2 * time.Second})
		},
		Servers:  2,
		Recovery: true,
		Settle:   3 * time.Second,
	})
}
