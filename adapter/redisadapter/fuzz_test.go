package redisadapter

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/adapter/adaptertest"
	"github.com/wsio/wsio/sioparser"
)

// FuzzMessages feeds what other servers might publish (broadcasts,
// requests and responses, msgpack or JSON) to an adapter's handlers, with
// a socket and pending requests in place. Nothing may panic. No Redis is
// needed: replies go to the publisher's queue, which nobody drains.
func FuzzMessages(f *testing.F) {
	wp := wirePacket{Type: 2, Data: []any{"ev", 1.5, "x", []byte{1, 2}, map[string]any{"k": []any{true, nil}}}, Nsp: "/"}
	bcast, _ := encodeMsgpack([]any{"other", wp, toWireOpts(adapter.BroadcastOptions{Rooms: []string{"room"}, Except: []string{"x"}})})
	backReq, _ := encodeMsgpack(request{UID: "other", RequestID: "r1", Type: reqBroadcast, Packet: &wp, Opts: &wireOpts{Rooms: []string{}, Except: []string{}}})
	backAck, _ := encodeMsgpack(response{Type: reqBroadcastAck, RequestID: "ack1", Packet: map[string]any{"a": 1}})
	for _, seed := range []struct {
		kind byte
		msg  string
	}{
		{0, string(bcast)},
		{1, string(backReq)},
		{1, `{"uid":"other","requestId":"q1","type":5,"opts":{"rooms":["room"],"except":[]}}`},
		{1, `{"uid":"other","type":2,"opts":{"rooms":[],"except":[]},"rooms":["r2"]}`},
		{1, `{"uid":"other","type":4,"opts":{"rooms":["r2"],"except":[]},"close":true}`},
		{1, `{"uid":"other","requestId":"q2","type":6,"data":["ev",1,{"a":[]}]}`},
		{1, `{"uid":"other","requestId":"q3","type":1}`},
		{1, `{"type":0,"requestId":"q4","rooms":["room"]}`},
		{2, `{"requestId":"mine","sockets":[{"id":"s","handshake":{"headers":{"a":"b","c":["d"]},"query":{"x":"1"}},"rooms":["s"],"data":{"n":1}}]}`},
		{2, `{"type":6,"requestId":"sse","data":"pong"}`},
		{2, `{"type":8,"requestId":"ack1","clientCount":2}`},
		{2, string(backAck)},
		{0, "\x93\xa5other\x80\x80"}, {1, "{"}, {2, "\xc1"}, {0, ""},
	} {
		f.Add(seed.kind, []byte(seed.msg))
	}
	f.Fuzz(func(t *testing.T, kind byte, msg []byte) {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
		defer rdb.Close()
		host := adaptertest.NewHost(t, "/", adapter.NewMemory(adapter.MemoryOptions{}))
		host.Add("s", "room")
		a := New(rdb, nil, nil)(host).(*Adapter)
		a.outbox.out = make(chan outMsg, 16)
		a.jobs = make(chan func(), 4096) // no worker: the jobs are queued, never run
		a.AddAll("s", "room")
		a.requests["mine"] = &pending{typ: reqRemoteFetch, want: 2, done: make(chan struct{})}
		a.requests["sse"] = &pending{typ: reqServerSideEmit, want: 2, done: make(chan struct{})}
		a.ackRequests["ack1"] = &ackRequest{clientCount: func(int) {}, ack: func(sioparser.Args) {}}
		switch kind % 3 {
		case 0:
			a.onBroadcast(a.channel, msg)
			a.onBroadcast(a.channel+"room#", msg)
		case 1:
			a.onRequest(msg)
		default:
			a.onResponse(msg)
		}
	})
}

// FuzzStreamsMessages feeds the Streams adapter what other servers might
// put on the stream (an entry's data field, JSON or base64 msgpack) or
// publish (a msgpack cluster message). Nothing may panic.
func FuzzStreamsMessages(f *testing.F) {
	bcast, _ := encodeMsgpack(clusterMessage{UID: "other", Nsp: "/", Type: ctBroadcast, Data: map[string]any{
		"requestId": "r", "packet": map[string]any{"type": 2, "data": []any{"ev", []byte{1}}, "nsp": "/"}, "opts": map[string]any{"rooms": []any{}, "except": []any{}}}})
	fetch, _ := encodeMsgpack(clusterMessage{UID: "other", Nsp: "/", Type: ctFetchSockets, Data: map[string]any{"requestId": "q", "opts": map[string]any{"rooms": []any{"room"}}}})
	resp, _ := encodeMsgpack(clusterMessage{Type: ctFetchSocketsResponse, Data: map[string]any{"requestId": "mine", "sockets": []any{map[string]any{"id": "x", "rooms": []any{"x"}}}}})
	bin, _ := encodeMsgpack(map[string]any{"packet": map[string]any{"type": 2, "data": []any{"ev", []byte{1, 2}}}, "opts": map[string]any{"rooms": []any{1}, "except": []any{}}})
	for _, seed := range []struct {
		kind byte
		typ  string
		data string
	}{
		{0, "3", `{"packet":{"type":2,"data":["ev",1,{"a":[true]}],"nsp":"/"},"opts":{"rooms":["room"],"except":[],"flags":{}}}`},
		{0, "3", base64Encode(bin)},
		{0, "4", `{"opts":{"rooms":[],"except":[]},"rooms":["r"]}`},
		{0, "6", `{"opts":{"rooms":["room"],"except":[]},"close":true}`},
		{0, "3", "!!"}, {0, "x", "{"},
		{1, "", string(bcast)}, {1, "", string(fetch)}, {1, "", string(resp)}, {1, "", "\xc1"},
	} {
		f.Add(seed.kind, seed.typ, []byte(seed.data))
	}
	f.Fuzz(func(t *testing.T, kind byte, typ string, data []byte) {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Millisecond})
		defer rdb.Close()
		host := adaptertest.NewHost(t, "/", adapter.NewMemory(adapter.MemoryOptions{}))
		host.Add("s", "room")
		a := NewStreams(rdb, &StreamsOptions{RequestsTimeout: time.Millisecond}, nil)(host).(*StreamsAdapter)
		a.jobs = make(chan func(), 4096) // no worker: the jobs are queued, never run
		a.AddAll("s", "room")
		a.requests["mine"] = &pending{typ: ctFetchSockets, want: 2, done: make(chan struct{})}
		if kind%2 == 0 {
			a.handleEntry(redis.XMessage{ID: "1-1", Values: map[string]any{"uid": "other", "nsp": "/", "type": typ, "data": string(data)}})
		} else {
			a.onPubSub(data)
		}
	})
}

// FuzzShardedMessages feeds the sharded adapter's channels (JSON or
// msgpack) with anything: no panic, and nothing is delivered from a
// message that does not decode.
func FuzzShardedMessages(f *testing.F) {
	bcast, _ := encodeMsgpack(clusterMessage{UID: "other", Nsp: "/", Type: ctBroadcast, Data: map[string]any{
		"packet": map[string]any{"type": 2, "data": []any{"ev", []byte{1}}, "nsp": "/"}, "opts": map[string]any{"rooms": []any{"room"}, "except": []any{}}}})
	for _, seed := range []struct {
		response bool
		msg      string
	}{
		{false, `{"uid":"other","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["ev",1],"nsp":"/"},"opts":{"rooms":["room"],"except":[],"flags":{}}}}`},
		{false, `{"uid":"other","nsp":"/","type":3,"data":{"requestId":"r","packet":{"type":2,"data":["ev"],"nsp":"/"},"opts":{"rooms":[],"except":[]}}}`},
		{false, `{"uid":"other","nsp":"/","type":4,"data":{"opts":{"rooms":[],"except":[]},"rooms":["r"]}}`},
		{false, `{"uid":"other","nsp":"/","type":6,"data":{"opts":{"rooms":["room"],"except":[]},"close":true}}`},
		{false, `{"uid":"other","nsp":"/","type":7,"data":{"requestId":"q","opts":{"rooms":["room"]}}}`},
		{false, `{"uid":"other","nsp":"/","type":9,"data":{"requestId":"q","packet":["ping",1]}}`},
		{true, `{"uid":"other","nsp":"/","type":8,"data":{"requestId":"mine","sockets":[{"id":"x","rooms":["x"]}]}}`},
		{true, `{"uid":"other","nsp":"/","type":11,"data":{"requestId":"mine","clientCount":"x"}}`},
		{false, string(bcast)}, {false, "\xc1"}, {false, "{"},
	} {
		f.Add(seed.response, []byte(seed.msg))
	}
	f.Fuzz(func(t *testing.T, response bool, msg []byte) {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Millisecond})
		defer rdb.Close()
		host := adaptertest.NewHost(t, "/", adapter.NewMemory(adapter.MemoryOptions{}))
		s := host.Add("s", "room")
		a := NewSharded(rdb, &ShardedOptions{RequestsTimeout: time.Millisecond}, nil)(host).(*ShardedAdapter)
		a.jobs = make(chan func(), 4096)    // no worker: the jobs are queued, never run
		a.box.out = make(chan outMsg, 4096) // no publisher: answers are queued, never sent
		a.AddAll("s", "room")
		a.requests["mine"] = &pending{typ: ctFetchSockets, want: 2, done: make(chan struct{})}
		channel := a.channel
		if response {
			channel = a.responseChannel
		}
		a.onRaw(channel, msg)
		if _, err := decodeClusterMessage(msg); err != nil && len(s.Received()) > 0 {
			t.Fatalf("delivered from a message that does not decode: %q", msg)
		}
	})
}

func base64Encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
