package redisadapter

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/adapter/adaptertest"
	"github.com/wsio/wsio/adapter/redisadapter/redistest"
	"github.com/wsio/wsio/sioparser"
)

// Redis is killed and restarted while one server broadcasts to a room
// every 10 ms: nothing panics, local delivery goes on, the failures are
// counted, and cross-server delivery resumes by itself once Redis is back
// (for the sharded adapter, through the room's own channel).
func TestRedisRestart(t *testing.T) {
	for name, newFactory := range map[string]func(*redis.Client, *Stats) adapter.Factory{
		"classic": func(c *redis.Client, stats *Stats) adapter.Factory {
			return New(c, &Options{RequestsTimeout: 300 * time.Millisecond}, stats)
		},
		"sharded": func(c *redis.Client, stats *Stats) adapter.Factory {
			return NewSharded(c, &ShardedOptions{RequestsTimeout: 300 * time.Millisecond}, stats)
		},
	} {
		t.Run(name, func(t *testing.T) { testRedisRestart(t, newFactory) })
	}
}

func testRedisRestart(t *testing.T, newFactory func(*redis.Client, *Stats) adapter.Factory) {
	r := redistest.Start(t)
	var stats1 Stats
	c1 := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: 1, DialTimeout: 200 * time.Millisecond})
	c2 := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: 1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = c1.Close(); _ = c2.Close() })
	h1 := adaptertest.NewHost(t, "/", newFactory(c1, &stats1))
	h2 := adaptertest.NewHost(t, "/", newFactory(c2, nil))
	a := h1.Add("a", "news")
	b := h2.Add("b", "news")

	var mu sync.Mutex
	sent := 0
	send := func() {
		mu.Lock()
		sent++
		n := sent
		mu.Unlock()
		p, _ := sioparser.NewEvent("/", "tick", n)
		_ = h1.Adapter().Broadcast(p, adapter.BroadcastOptions{Rooms: []string{"news"}})
	}
	ticks := func(s *adaptertest.Socket) []int {
		var out []int
		for _, m := range s.Received() {
			var n int
			if _, err := fmt.Sscanf(m[strings.Index(m, ",")+1:], "%d]", &n); err == nil {
				out = append(out, n)
			}
		}
		return out
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				send()
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()

	waitUntil(t, 5*time.Second, "cross-server delivery", func() bool { return len(ticks(b)) >= 10 })
	r.Kill()
	down := time.Now()
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	sentWhileDown := sent
	mu.Unlock()
	if got := ticks(a); len(got) < sentWhileDown-1 {
		t.Fatalf("local delivery stopped with Redis away: %d of %d", len(got), sentWhileDown)
	}
	if stats1.PublishErrors.Load() == 0 {
		t.Fatal("publish failures not counted")
	}
	r.Restart(t)
	back := time.Now()
	before := len(ticks(b))
	waitUntil(t, 10*time.Second, "cross-server delivery after the restart", func() bool { return len(ticks(b)) > before+5 })
	resumed := time.Since(back)
	if resumed > 5*time.Second {
		t.Errorf("cross-server delivery took %v to resume", resumed)
	}
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	time.Sleep(500 * time.Millisecond) // what was queued goes out
	mu.Lock()
	total := sent
	mu.Unlock()
	if got := len(ticks(a)); got != total {
		t.Errorf("local delivery: %d of %d", got, total)
	}
	lost := total - len(ticks(b))
	t.Logf("Redis away for %v; cross-server delivery resumed %v after it came back; %d of %d broadcasts did not reach the other server; %d publish errors counted",
		back.Sub(down).Round(time.Millisecond), resumed.Round(time.Millisecond), lost, total, stats1.PublishErrors.Load())
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
