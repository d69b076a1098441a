package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
