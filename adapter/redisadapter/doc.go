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
// NewSharded returns the sharded adapter, after createShardedAdapter of
// the same npm package: socket.io-adapter's ClusterAdapter messages on the
// sharded pub/sub of Redis 7 (SSUBSCRIBE, SPUBLISH), so that on a Redis
// Cluster a message goes to the one shard of its channel; in the default
// dynamic mode a broadcast to one room goes to that room's channel, which
// only the servers with the room subscribe to.
//
// With New and NewSharded, connection state recovery works on the server a
// client comes back to only (Node's classic and sharded adapters have
// none). NewStreams returns the
// Redis Streams adapter, after @socket.io/redis-streams-adapter 0.3.1:
// broadcasts and socket operations go through a Redis stream, whose entry
// ids are the recovery offsets, and the sessions of disconnected sockets
// are kept in Redis, so that a client may come back through another
// server and get what it missed.
package redisadapter
