// Package redisadapter joins Socket.IO servers through Redis, so that a
// broadcast, a room, fetchSockets or serverSideEmit spans every server of a
// cluster behind a load balancer.
//
// New returns the adapter factory for socketio.Options.Adapter. It speaks
// the wire format of the npm package @socket.io/redis-adapter 8.3.0
// (classic pub/sub: channels "socket.io#<nsp>#", "socket.io-request#<nsp>#"
// and "socket.io-response#<nsp>#", msgpack broadcasts, JSON requests), so Go
// and Node servers can share one Redis. Emitter publishes to a cluster from
// a process that is not a server, as @socket.io/redis-emitter does.
//
// Each namespace's adapter keeps its local rooms in memory
// (adapter.Memory) and holds one subscription. Messages for the other
// servers leave through a queue, so that a broadcast never waits for Redis:
// while Redis is away, local delivery goes on, failures are counted in
// Stats and logged once per outage, and go-redis reconnects and
// resubscribes by itself.
//
// Connection state recovery works on the server a client comes back to
// only (as Node's classic adapter, which has none): recovery across servers
// needs the Redis Streams adapter, which this package does not have yet.
package redisadapter
