package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/adapter/adaptertest"
	"github.com/wsio/wsio/adapter/redisadapter/redistest"
	"github.com/wsio/wsio/sioparser"
)

// What Node servers may send that our adapter must read as Node does.
func TestNodeMessageForms(t *testing.T) {
	r := redistest.Start(t)
	h := adaptertest.NewHost(t, "/", cluster(t, r, 1, nil)[0])
	a := h.Add("a", "42")
	b := h.Add("b")
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	ctx := context.Background()
	res := rdb.Subscribe(ctx, "socket.io-response#/#")
	defer res.Close()
	if _, err := res.Receive(ctx); err != nil {
		t.Fatal(err)
	}

	// A numeric room, as a number, in a broadcast and in a request.
	wp := wirePacket{Type: 2, Data: []any{"num"}, Nsp: "/"}
	msg, _ := encodeMsgpack([]any{"node", wp, map[string]any{"rooms": []any{42}, "except": []any{}, "flags": map[string]any{}}})
	_ = rdb.Publish(ctx, "socket.io#/#42#", msg).Err()
	waitUntil(t, 3*time.Second, "a broadcast to room 42", func() bool { return len(a.Received()) == 1 })
	_ = rdb.Publish(ctx, "socket.io-request#/#", `{"uid":"node","requestId":"f1","type":5,"opts":{"rooms":[42],"except":[]}}`).Err()
	m, err := res.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		RequestID string
		Sockets   []struct{ ID string }
	}
	if json.Unmarshal([]byte(m.Payload), &got) != nil || got.RequestID != "f1" || len(got.Sockets) != 1 || got.Sockets[0].ID != "a" {
		t.Fatalf("fetch of room 42: %s", m.Payload)
	}

	// The legacy disconnect names one socket, and is answered.
	_ = rdb.Publish(ctx, "socket.io-request#/#", `{"type":4,"sid":"b","close":true,"requestId":"d1"}`).Err()
	if m, err := res.ReceiveMessage(ctx); err != nil || m.Payload != `{"requestId":"d1"}` {
		t.Fatalf("legacy disconnect answer %v %v", m, err)
	}
	if !b.WasDisconnected() || a.WasDisconnected() {
		t.Fatalf("legacy disconnect: a %v, b %v", a.WasDisconnected(), b.WasDisconnected())
	}
}

// A server-side event handler may make requests to the other servers: the
// answers are read while it waits.
func TestHandlerMayRequest(t *testing.T) {
	r := redistest.Start(t)
	fs := cluster(t, r, 2, &Options{RequestsTimeout: 2 * time.Second})
	var h1 *adaptertest.Host
	fetched := make(chan int, 1)
	h1 = adaptertest.NewHost(t, "/", func(host adapter.Host) adapter.Adapter {
		return fs[0](&sseHost{Host: host.(*adaptertest.Host), onSSE: func() {
			d, err := h1.Adapter().FetchSockets(context.Background(), adapter.BroadcastOptions{})
			if err != nil {
				t.Errorf("FetchSockets in a handler: %v", err)
			}
			fetched <- len(d)
		}})
	})
	h2 := adaptertest.NewHost(t, "/", fs[1])
	h1.Add("a")
	h2.Add("b")
	_ = h2.Adapter().ServerSideEmit("go", nil)
	select {
	case n := <-fetched:
		if n != 2 {
			t.Fatalf("%d sockets", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler did not finish")
	}
}

// sseHost runs onSSE for every server-side event.
type sseHost struct {
	*adaptertest.Host
	onSSE func()
}

func (h *sseHost) OnServerSideEmit(string, []any, func(...any)) { h.onSSE() }

// An adapter created while Redis is away works locally, and joins the
// cluster once Redis is there.
func TestInitWithoutRedis(t *testing.T) {
	r := redistest.Start(t)
	r.Kill()
	fs := cluster(t, r, 2, &Options{RequestsTimeout: 300 * time.Millisecond})
	h1 := adaptertest.NewHost(t, "/", fs[0])
	a := h1.Add("a")
	p, _ := sioparser.NewEvent("/", "local")
	_ = h1.Adapter().Broadcast(p, adapter.BroadcastOptions{})
	if len(a.Received()) != 1 {
		t.Fatal("no local delivery with Redis away")
	}
	r.Restart(t)
	h2 := adaptertest.NewHost(t, "/", fs[1])
	waitUntil(t, 10*time.Second, "the first adapter's subscription", func() bool {
		p, _ := sioparser.NewEvent("/", "x")
		_ = h2.Adapter().Broadcast(p, adapter.BroadcastOptions{})
		time.Sleep(50 * time.Millisecond)
		return len(a.Received()) > 1
	})
}

// A broadcast with acks reports its client count at the timeout when a
// counted server never answers, and a server never takes its own request
// for another's, however short the timeout.
func TestBroadcastWithAckEnds(t *testing.T) {
	r := redistest.Start(t)
	h := adaptertest.NewHost(t, "/", cluster(t, r, 1, &Options{RequestsTimeout: 300 * time.Millisecond})[0])
	a := h.Add("a")
	// A silent subscriber on the request channel counts as a server.
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	silent := rdb.Subscribe(context.Background(), "socket.io-request#/#")
	defer silent.Close()
	if _, err := silent.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	var counts atomic.Int64
	counted := make(chan int, 2)
	p, _ := sioparser.NewEvent("/", "q")
	p.ID, p.HasID = 1, true
	_ = h.Adapter().BroadcastWithAck(p, adapter.BroadcastOptions{Flags: adapter.BroadcastFlags{Timeout: time.Microsecond}},
		func(n int) { counts.Add(1); counted <- n }, func(sioparser.Args) {})
	select {
	case n := <-counted:
		if n != 1 {
			t.Fatalf("client count %d", n)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no client count after the timeout")
	}
	time.Sleep(300 * time.Millisecond)
	if got := a.Received(); len(got) != 1 || counts.Load() != 1 {
		t.Fatalf("packets %q, %d counts", got, counts.Load())
	}
}

// With a server gone silent, requests end at RequestsTimeout with what
// came and adapter.ErrTimeout, never a hang.
func TestRequestsTimeout(t *testing.T) {
	r := redistest.Start(t)
	fs := cluster(t, r, 2, &Options{RequestsTimeout: 300 * time.Millisecond})
	h1 := adaptertest.NewHost(t, "/", fs[0])
	h2 := adaptertest.NewHost(t, "/", fs[1])
	h1.Add("a")
	h2.Add("b")
	h2.SSEAnswer = []any{"pong"}
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	silent := rdb.Subscribe(context.Background(), "socket.io-request#/#")
	defer silent.Close()
	if _, err := silent.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d, err := h1.Adapter().FetchSockets(context.Background(), adapter.BroadcastOptions{})
	if !errors.Is(err, adapter.ErrTimeout) || len(d) != 2 {
		t.Fatalf("FetchSockets: %d sockets, %v", len(d), err)
	}
	answers, err := h1.Adapter().ServerSideEmitWithAck(context.Background(), "ping", nil)
	if !errors.Is(err, adapter.ErrTimeout) || len(answers) != 1 {
		t.Fatalf("ServerSideEmitWithAck: %v, %v", answers, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

// A broadcast with acks waits for a server that never answers (a bare
// subscription to the channel the adapter counts servers on); closing the
// adapter ends it at once with the clients counted here, rather than at
// its timeout, an hour later.
func TestCloseEndsBroadcastsWithAcks(t *testing.T) {
	r := redistest.Start(t)
	for _, c := range []struct {
		name    string
		factory func(redis.UniversalClient) adapter.Factory
		silent  func(context.Context, *redis.Client) *redis.PubSub
	}{
		{"classic", func(c redis.UniversalClient) adapter.Factory { return New(c, nil, nil) },
			func(ctx context.Context, c *redis.Client) *redis.PubSub {
				return c.Subscribe(ctx, "socket.io-request#/#")
			}},
		{"sharded", func(c redis.UniversalClient) adapter.Factory { return NewSharded(c, nil, nil) },
			func(ctx context.Context, c *redis.Client) *redis.PubSub { return c.SSubscribe(ctx, "socket.io#/#") }},
		{"streams", func(c redis.UniversalClient) adapter.Factory { return NewStreams(c, nil, nil) },
			func(ctx context.Context, c *redis.Client) *redis.PubSub { return c.Subscribe(ctx, "socket.io#/#") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
			defer rdb.Close()
			silent := c.silent(ctx, rdb)
			defer silent.Close()
			if _, err := silent.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			h := adaptertest.NewHost(t, "/", c.factory(rdb))
			h.Add("a")
			if n, err := h.Adapter().ServerCount(ctx); err != nil || n != 2 {
				t.Fatalf("servers %d %v", n, err)
			}
			counted := make(chan int, 1)
			p, _ := sioparser.NewEvent("/", "q")
			err := h.Adapter().BroadcastWithAck(p, adapter.BroadcastOptions{Flags: adapter.BroadcastFlags{Timeout: time.Hour}},
				func(n int) { counted <- n }, func(sioparser.Args) {})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case n := <-counted:
				t.Fatalf("counted %d before Close", n)
			case <-time.After(100 * time.Millisecond):
			}
			_ = h.Adapter().Close()
			select {
			case n := <-counted:
				if n != 1 {
					t.Fatalf("counted %d clients, want the local one", n)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("the broadcast with acks outlived Close")
			}
		})
	}
}
