package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/wsio/wsio/adapter/redisadapter/redistest"
	"github.com/wsio/wsio/sioclient"
)

// startServe runs `wsio serve` with args on a free port and returns its
// base URL; the test's cleanup stops it.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), &syncWriter{w: &out}, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	re := regexp.MustCompile(`on (http://[0-9.:]+)/socket.io/`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(readSync(&out)); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", readSync(&out))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two `wsio serve --redis` processes' worth of servers share one Redis: a
// broadcast on one reaches the sockets of the other.
func TestServeRedis(t *testing.T) {
	for _, kind := range []string{"classic", "sharded", "streams"} {
		t.Run(kind, func(t *testing.T) { testServeRedis(t, kind) })
	}
}

func testServeRedis(t *testing.T, kind string) {
	r := redistest.Start(t)
	url1 := startServe(t, "--redis", r.URL(), "--redis-adapter", kind)
	url2 := startServe(t, "--redis", r.URL(), "--redis-adapter", kind)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s1, err := sioclient.Connect(ctx, url1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := sioclient.Connect(ctx, url2, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got := make(chan string, 1)
	s2.On("news", func(text string) { got <- text })
	_ = s1.Emit("broadcast", "news", "across servers")
	select {
	case text := <-got:
		if text != "across servers" {
			t.Fatalf("got %q", text)
		}
	case <-ctx.Done():
		t.Fatal("the broadcast did not cross servers")
	}
	// A bad URL is refused at start.
	var errb bytes.Buffer
	if err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--redis", "redis://127.0.0.1:1"}, io.Discard, &errb); err == nil {
		t.Fatal("serve started with an unreachable Redis")
	}
}
