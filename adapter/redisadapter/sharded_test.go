package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/adapter/adaptertest"
	"github.com/wsio/wsio/adapter/redisadapter/redistest"
	"github.com/wsio/wsio/sioparser"
)

// shardedCluster returns n sharded adapter factories, each with its own
// client from newClient.
func shardedCluster(t *testing.T, n int, mode SubscriptionMode, newClient func() redis.UniversalClient) []adapter.Factory {
	t.Helper()
	out := make([]adapter.Factory, n)
	for i := range out {
		rdb := newClient()
		t.Cleanup(func() { _ = rdb.Close() })
		out[i] = NewSharded(rdb, &ShardedOptions{
			SubscriptionMode: mode,
			RequestsTimeout:  2 * time.Second,
			Memory:           adapter.MemoryOptions{MaxDisconnectionDuration: time.Minute},
		}, nil)
	}
	return out
}

func TestShardedAdapterSuite(t *testing.T) {
	r := redistest.Start(t)
	for _, mode := range []SubscriptionMode{DynamicSubscriptions, StaticSubscriptions, DynamicPrivateSubscriptions} {
		t.Run(mode.String(), func(t *testing.T) {
			adaptertest.Run(t, adaptertest.Config{
				NewCluster: func(t *testing.T, n int) []adapter.Factory {
					return shardedCluster(t, n, mode, func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: r.Addr}) })
				},
				Servers:  2,
				Recovery: true,
				Settle:   3 * time.Second,
			})
		})
	}
}

// On a Redis Cluster of three masters, the channels of a namespace and
// its rooms live on different nodes; the adapter subscribes on each.
func TestShardedAdapterSuiteOnRedisCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	adaptertest.Run(t, adaptertest.Config{
		NewCluster: func(t *testing.T, n int) []adapter.Factory {
			return shardedCluster(t, n, DynamicSubscriptions, func() redis.UniversalClient {
				return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
			})
		},
		Servers:  2,
		Recovery: true,
		Settle:   3 * time.Second,
	})
	// Each slot of the channels has its own connection, closed with its
	// last channel; the slots are Redis's.
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer rdb.Close()
	h := adaptertest.NewHost(t, "/", NewSharded(rdb, nil, nil))
	a := h.Adapter().(*ShardedAdapter)
	slots := map[int]bool{hashSlot(a.channel): true, hashSlot(a.responseChannel): true}
	base := len(slots)
	rooms := make([]string, 12)
	for i := range rooms {
		rooms[i] = fmt.Sprint("room", i)
		slots[hashSlot(a.dynamicChannel(rooms[i]))] = true
	}
	h.Add("s", rooms...)
	connections := func() int {
		a.subs.mu.Lock()
		defer a.subs.mu.Unlock()
		return len(a.subs.conns)
	}
	waitUntil(t, 5*time.Second, "a connection per slot", func() bool { return connections() == len(slots) })
	a.DelAll("s")
	waitUntil(t, 5*time.Second, "room connections closed", func() bool { return connections() == base })
	for _, key := range append(rooms, "socket.io#/#", "a{b}c", "{}x", "x{}y{z}", "{{a}}", "é") {
		want, err := rdb.ClusterKeySlot(context.Background(), key).Result()
		if err != nil || int(want) != hashSlot(key) {
			t.Errorf("slot of %q: %d, Redis says %d (%v)", key, hashSlot(key), want, err)
		}
	}
}

// shardChannels lists the shard channels with subscribers.
func shardChannels(t *testing.T, rdb *redis.Client) []string {
	t.Helper()
	chs, err := rdb.PubSubShardChannels(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(chs)
	return chs
}

// In the dynamic mode a server subscribes to a public room's channel while
// the room exists on it, and a broadcast to that one room goes there, in
// Node's JSON form.
func TestShardedDynamicRoomChannels(t *testing.T) {
	r := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	fs := shardedCluster(t, 1, DynamicSubscriptions, func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: r.Addr}) })
	h := adaptertest.NewHost(t, "/chat", fs[0])
	a := h.Adapter().(*ShardedAdapter)
	const sid = "AAAAAAAAAAAAAAAAAAAA" // 20 characters: private
	h.Add(sid, "room1")
	base := []string{"socket.io#/chat#", "socket.io#/chat#" + a.uid + "#"}
	want := slices.Sorted(slices.Values(append(slices.Clone(base), "socket.io#/chat#room1#")))
	waitUntil(t, 5*time.Second, "room subscription", func() bool { return slices.Equal(shardChannels(t, rdb), want) })

	watch := rdb.SSubscribe(context.Background(), "socket.io#/chat#room1#")
	defer watch.Close()
	if _, err := watch.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, _ := sioparser.NewEvent("/chat", "hello", 1)
	if err := a.Broadcast(p, adapter.BroadcastOptions{Rooms: []string{"room1"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg, err := watch.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		UID  string `json:"uid"`
		Nsp  string `json:"nsp"`
		Type int    `json:"type"`
		Data struct {
			Packet struct {
				Type int   `json:"type"`
				Data []any `json:"data"`
				Nsp  string
			} `json:"packet"`
			Opts struct {
				Rooms  []string `json:"rooms"`
				Except []string `json:"except"`
			} `json:"opts"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(msg.Payload), &m); err != nil {
		t.Fatalf("%v: %q", err, msg.Payload)
	}
	if m.UID != a.uid || m.Nsp != "/chat" || m.Type != ctBroadcast || m.Data.Packet.Type != 2 || len(m.Data.Packet.Data) != 2 || m.Data.Packet.Data[0] != "hello" || !slices.Equal(m.Data.Opts.Rooms, []string{"room1"}) {
		t.Fatalf("message %s", msg.Payload)
	}

	_ = watch.Close()
	a.DelAll(sid)
	waitUntil(t, 5*time.Second, "room unsubscription", func() bool { return slices.Equal(shardChannels(t, rdb), slices.Sorted(slices.Values(base))) })
}

func TestShardedChannelOf(t *testing.T) {
	a := &ShardedAdapter{channel: "p#/#"}
	a.clusterNode = &clusterNode{}
	wire := func(rooms []string, withAck bool) clusterMessage {
		d := map[string]any{"opts": optsOf(adapter.BroadcastOptions{Rooms: rooms})}
		if withAck {
			d["requestId"] = "x"
		}
		return clusterMessage{Type: ctBroadcast, Data: d}
	}
	sid := "0123456789abcdefghij"
	for _, c := range []struct {
		mode    SubscriptionMode
		m       clusterMessage
		channel string
	}{
		{DynamicSubscriptions, wire([]string{"r"}, false), "p#/#r#"},
		{DynamicSubscriptions, wire([]string{"é"}, false), "p#/#é#"},
		{DynamicSubscriptions, wire([]string{sid}, false), "p#/#"},
		{DynamicSubscriptions, wire([]string{"r", "s"}, false), "p#/#"},
		{DynamicSubscriptions, wire(nil, false), "p#/#"},
		{DynamicSubscriptions, wire([]string{"r"}, true), "p#/#"},
		{DynamicSubscriptions, clusterMessage{Type: ctSocketsJoin, Data: map[string]any{"opts": optsOf(adapter.BroadcastOptions{Rooms: []string{"r"}})}}, "p#/#"},
		{DynamicPrivateSubscriptions, wire([]string{sid}, false), "p#/#" + sid + "#"},
		{StaticSubscriptions, wire([]string{"r"}, false), "p#/#"},
	} {
		a.opts.SubscriptionMode = c.mode
		if got := a.channelOf(c.m); got != c.channel {
			t.Errorf("%v %v: %q, want %q", c.mode, c.m, got, c.channel)
		}
	}
	// JavaScript counts UTF-16 code units: 19 ASCII characters and one
	// outside the BMP make 21, 18 and one "é" make 19+... 20.
	if !looksLikeSocketID("0123456789abcdefghi\u00e9") || looksLikeSocketID("0123456789abcdefghi\U0001F600") {
		t.Error("looksLikeSocketID counts bytes or runes, not UTF-16 units")
	}
}

// heldHost is a namespace that holds up one room event until released, as
// a preempted goroutine would between the in-memory adapter's unlock and
// its report of the event.
type heldHost struct {
	hold     string // "event id" to hold
	reached  chan struct{}
	released chan struct{}
}

func (h *heldHost) Name() string                                                        { return "/" }
func (h *heldHost) Socket(string) (adapter.Socket, bool)                                { return nil, false }
func (h *heldHost) Deliver(*sioparser.Packet, []adapter.Socket, adapter.BroadcastFlags) {}
func (h *heldHost) DeliverWithAck(*sioparser.Packet, []adapter.Socket, adapter.BroadcastFlags, func(sioparser.Args)) {
}
func (h *heldHost) OnServerSideEmit(string, []any, func(...any)) {}
func (h *heldHost) RoomEvent(event, room, id string) {
	if event+" "+id == h.hold {
		close(h.reached)
		<-h.released
	}
}

// The last member leaves a room while another socket joins it: whatever
// order the room events come out in, the room's channel stays subscribed
// while the room exists.
func TestShardedJoinRacingLeave(t *testing.T) {
	r := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	h := &heldHost{hold: "leave-room x", reached: make(chan struct{}), released: make(chan struct{})}
	a := NewSharded(rdb, nil, nil)(h).(*ShardedAdapter)
	if err := a.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	const ch = "socket.io#/#lobby#"
	subscribers := func() int64 {
		res, err := rdb.PubSubShardNumSub(context.Background(), ch).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res[ch]
	}
	a.AddAll("x", "lobby")
	waitUntil(t, 5*time.Second, "subscribed", func() bool { return subscribers() == 1 })
	left := make(chan struct{})
	go func() { a.Del("x", "lobby"); close(left) }() // leave-room is held, delete-room comes after it
	<-h.reached
	a.AddAll("y", "lobby") // create-room, reported before the delete-room
	close(h.released)
	<-left
	time.Sleep(300 * time.Millisecond)
	if !a.HasRoom("lobby") || subscribers() != 1 {
		t.Fatalf("room here %v, subscribers of %s: %d", a.HasRoom("lobby"), ch, subscribers())
	}
	a.DelAll("y")
	waitUntil(t, 5*time.Second, "unsubscribed", func() bool { return subscribers() == 0 })
}

// A Redis that accepts connections and never answers: Init returns after
// its bound, joins do not wait, and Close does not wait for the 20 queued
// subscriptions (only for the go-redis call under way, bounded by the
// client's timeouts).
func TestShardedRedisNotAnswering(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	stop := make(chan struct{})
	defer func() { close(stop); ln.Close(); conns.Wait() }()
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { <-stop; c.Close() })
		}
	})
	const timeout = 200 * time.Millisecond // go-redis's own, for each call
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout})
	defer rdb.Close()
	a := NewSharded(rdb, nil, nil)(&heldHost{}).(*ShardedAdapter)
	start := time.Now()
	_ = a.Init(context.Background())
	if d := time.Since(start); d > initWait+500*time.Millisecond {
		t.Errorf("Init took %v", d)
	}
	start = time.Now()
	for i := range 20 {
		a.AddAll(fmt.Sprint("s", i), fmt.Sprint("room", i))
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("joins took %v", d)
	}
	start = time.Now()
	_ = a.Close()
	if d := time.Since(start); d > 10*timeout {
		t.Errorf("Close took %v", d)
	}
}
