package redisadapter

import (
	"testing"

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
		a.out = make(chan outMsg, 16)
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
