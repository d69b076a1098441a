package redisadapter_test

import (
	"context"
	"net/http"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter/redisadapter"
	"github.com/wsio/wsio/socketio"
)

// A server joined to the others through Redis; Node servers with
// @socket.io/redis-adapter may share the cluster.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	srv := socketio.NewServer(&socketio.Options{Adapter: redisadapter.New(rdb, nil, nil)})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("chat", func(room, text string) { _ = s.To(room).Emit("chat", text) }) // every server's sockets in room
	})
	http.Handle("/socket.io/", srv)
}

// A worker that is not a Socket.IO server notifies the clients of a
// cluster.
func ExampleEmitter() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	e := redisadapter.NewEmitter(rdb, "")
	_ = e.To("room1").Emit(context.Background(), "news", "hello")
	_ = e.Of("/admin").SocketsJoin(context.Background(), "audit")
}

// A server on a Redis Cluster, with sharded pub/sub: each broadcast to one
// room reaches only the shard of that room's channel and the servers with
// the room. Node servers with createShardedAdapter may share the cluster.
func ExampleNewSharded() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"}})
	defer rdb.Close()
	srv := socketio.NewServer(&socketio.Options{Adapter: redisadapter.NewSharded(rdb, nil, nil)})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(room string) { s.Join(room) })
	})
	http.Handle("/socket.io/", srv)
}
