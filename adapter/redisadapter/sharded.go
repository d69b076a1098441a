package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
)

// SubscriptionMode says which sharded channels carry broadcasts to a
// single room (Node: the subscriptionMode option of createShardedAdapter).
type SubscriptionMode int

const (
	// DynamicSubscriptions, the default: a broadcast to one public room
	// goes to that room's channel, to which only the servers with a socket
	// in the room subscribe; other broadcasts go to the namespace's
	// channel. A room whose name is a socket id's length (20) counts as
	// private.
	DynamicSubscriptions SubscriptionMode = iota
	// StaticSubscriptions: every message goes to the namespace's channel.
	StaticSubscriptions
	// DynamicPrivateSubscriptions: as DynamicSubscriptions, for private
	// rooms (socket ids) too.
	DynamicPrivateSubscriptions
)

// String returns Node's name of the mode.
func (m SubscriptionMode) String() string {
	switch m {
	case StaticSubscriptions:
		return "static"
	case DynamicPrivateSubscriptions:
		return "dynamic-private"
	}
	return "dynamic"
}

// ShardedOptions configures the sharded adapter (Node: the options of
// createShardedAdapter).
type ShardedOptions struct {
	// ChannelPrefix prefixes every channel. Default: "socket.io".
	ChannelPrefix string
	// SubscriptionMode: DynamicSubscriptions by default. Every server of
	// a cluster must use the same mode.
	SubscriptionMode SubscriptionMode
	// RequestsTimeout bounds requests to the other servers. Default: 5 s.
	RequestsTimeout time.Duration
	// Memory configures the local part (rooms, and connection state
	// recovery on this server alone).
	Memory adapter.MemoryOptions
	// Logger receives the adapter's errors. Default: none.
	Logger *slog.Logger
}

// NewSharded returns the factory of the sharded Redis adapter, which uses
// the sharded pub/sub of Redis 7 (SSUBSCRIBE, SPUBLISH), so that on a
// Redis Cluster each message goes to one shard rather than to every node.
// It speaks the wire format of createShardedAdapter from
// @socket.io/redis-adapter 8.3.0 (socket.io-adapter's ClusterAdapter
// messages, JSON or msgpack when binary is inside, on the channels
// "socket.io#<nsp>#", "socket.io#<nsp>#<room>#" and
// "socket.io#<nsp>#<uid>#"). On a Redis Cluster the adapter holds one
// subscription connection per hash slot its channels fall in (go-redis
// resubscribes a connection's channels in one command, which a cluster
// refuses across slots): in the dynamic modes that is up to one per room,
// where Node holds one per node. With many rooms on a Redis Cluster,
// StaticSubscriptions (on every server of the cluster) needs two.
func NewSharded(client redis.UniversalClient, opts *ShardedOptions, stats *Stats) adapter.Factory {
	var o ShardedOptions
	if opts != nil {
		o = *opts
	}
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = "socket.io"
	}
	stats = withDefaults(&o.RequestsTimeout, &o.Logger, stats)
	return func(host adapter.Host) adapter.Adapter {
		a := &ShardedAdapter{rdb: client, opts: o}
		// The in-memory part reports room events through a, which
		// subscribes to the channels of dynamic rooms.
		mem := adapter.NewMemory(o.Memory)(roomWatcher{Host: host, a: a}).(*adapter.Memory)
		a.clusterNode = newClusterNode(mem, host, newUID()+newUID(), stats, o.RequestsTimeout)
		a.net = a
		a.channel = o.ChannelPrefix + "#" + host.Name() + "#"
		a.responseChannel = a.channel + a.uid + "#"
		a.box = &outbox{
			send: func(ctx context.Context, channel string, msg []byte) error {
				return client.SPublish(ctx, channel, msg).Err()
			},
			timeout: o.RequestsTimeout, stats: stats, logger: o.Logger, nsp: host.Name(), stop: a.closedCh,
		}
		a.subs = &shardSubs{rdb: client, logger: o.Logger, onMessage: a.onRaw, roomChannel: a.roomChannel}
		return a
	}
}

// ShardedAdapter is the sharded Redis adapter of one namespace. Its local
// part is the in-memory adapter.
type ShardedAdapter struct {
	*clusterNode
	box  *outbox
	rdb  redis.UniversalClient
	opts ShardedOptions
	subs *shardSubs

	channel, responseChannel string
	cancel                   context.CancelFunc
}

// roomWatcher passes the in-memory adapter's room events on to the
// namespace, after the adapter has seen them.
type roomWatcher struct {
	adapter.Host
	a *ShardedAdapter
}

func (w roomWatcher) RoomEvent(event, room, id string) {
	if (event == "create-room" || event == "delete-room") && w.a.opts.SubscriptionMode != StaticSubscriptions {
		w.a.subs.change(room)
	}
	w.Host.RoomEvent(event, room, id)
}

// roomChannel returns the channel of room and whether the adapter wants
// it subscribed now: while the room exists here, in the dynamic modes.
// Deciding from the present state, not from the event, keeps a join and a
// leave racing on the same room from leaving the wrong subscription.
func (a *ShardedAdapter) roomChannel(room string) (string, bool) {
	return a.dynamicChannel(room), a.Memory.HasRoom(room) && a.ownChannel(room)
}

// ownChannel reports whether the adapter subscribes to room's channel
// while the room exists here (Node: shouldUseASeparateNamespace).
func (a *ShardedAdapter) ownChannel(room string) bool {
	switch a.opts.SubscriptionMode {
	case DynamicSubscriptions:
		// A private room is a socket's id: the adapter knows it as a
		// socket (Node: this.sids.has(room)).
		return len(a.Memory.SocketRooms(room)) == 0
	case DynamicPrivateSubscriptions:
		return true
	}
	return false
}

func (a *ShardedAdapter) dynamicChannel(room string) string { return a.channel + room + "#" }

// initWait bounds how long Init waits for its first subscriptions.
const initWait = time.Second

// Init subscribes to the namespace's channel and the adapter's response
// channel, waiting for that at most a second (or until ctx ends): when
// Redis cannot be reached, the subscriptions go on in the background and
// the adapter works locally meanwhile.
func (a *ShardedAdapter) Init(ctx context.Context) error {
	bctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.startWorker()
	a.box.start(bctx)
	ready := a.subs.start(a.channel, a.responseChannel)
	select {
	case <-ready:
	case <-ctx.Done():
	case <-time.After(initWait):
	}
	return nil
}

// Close unsubscribes and ends the adapter's goroutines. What is still
// queued for Redis is dropped.
func (a *ShardedAdapter) Close() error {
	if !a.markClosed() {
		return nil
	}
	a.expireAcks()
	if a.cancel == nil {
		return nil
	}
	a.cancel()
	a.box.wait()
	<-a.workDone
	return a.subs.close()
}

// ServerCount returns the number of servers subscribed to the namespace's
// channel (PUBSUB SHARDNUMSUB, added up over the nodes of a Redis
// Cluster).
func (a *ShardedAdapter) ServerCount(ctx context.Context) (int, error) {
	return countSubscribers(ctx, a.rdb, a.opts.RequestsTimeout, a.channel, redis.Cmdable.PubSubShardNumSub)
}

// encode is a message's wire form: msgpack when binary data is inside a
// type that may carry it, JSON otherwise (as Node's sharded adapter).
func (a *ShardedAdapter) encode(m clusterMessage) ([]byte, error) {
	m.UID, m.Nsp = a.uid, a.host.Name()
	if mayCarryBinary(m.Type) && hasBinary(m.Data) {
		return encodeMsgpack(m)
	}
	return json.Marshal(m)
}

// send queues m for the channel computed from it.
func (a *ShardedAdapter) send(m clusterMessage) error {
	b, err := a.encode(m)
	if err != nil {
		return err
	}
	return a.box.publish(a.channelOf(m), b)
}

// channelOf is where m goes: a broadcast without acks to one room goes
// to the room's channel in the dynamic modes (Node: computeChannel).
func (a *ShardedAdapter) channelOf(m clusterMessage) string {
	if m.Type != ctBroadcast {
		return a.channel
	}
	if _, withAck := m.Data["requestId"]; withAck {
		return a.channel
	}
	opts, _ := m.Data["opts"].(map[string]any)
	rooms, _ := opts["rooms"].([]string)
	if len(rooms) != 1 {
		return a.channel
	}
	switch a.opts.SubscriptionMode {
	case DynamicSubscriptions:
		if !looksLikeSocketID(rooms[0]) {
			return a.dynamicChannel(rooms[0])
		}
	case DynamicPrivateSubscriptions:
		return a.dynamicChannel(rooms[0])
	}
	return a.channel
}

// looksLikeSocketID reports whether room has a socket id's length, 20 in
// JavaScript's count (UTF-16 code units), as Node's looksLikeASocketId.
func looksLikeSocketID(room string) bool {
	n := 0
	for _, r := range room {
		n += utf16.RuneLen(r)
	}
	return n == 20
}

// publishRequest sends a request at once: its caller waits for the
// answers anyway.
func (a *ShardedAdapter) publishRequest(m clusterMessage) error {
	b, err := a.encode(m)
	if err != nil {
		return err
	}
	return a.box.publishNow(a.channel, b)
}

// respond sends m to the requester's response channel.
func (a *ShardedAdapter) respond(requester string, m clusterMessage) {
	if b, err := a.encode(m); err == nil {
		_ = a.box.publish(a.channel+requester+"#", b)
	}
}

// Broadcast delivers pkt to the local sockets and publishes it for the
// other servers (unless Local).
func (a *ShardedAdapter) Broadcast(pkt *sioparser.Packet, opts adapter.BroadcastOptions) error {
	var err error
	if !opts.Flags.Local {
		var wp map[string]any
		if wp, err = wireOf(pkt); err == nil {
			err = a.send(clusterMessage{Type: ctBroadcast, Data: map[string]any{"packet": wp, "opts": optsOf(opts)}})
		}
	}
	_ = a.Memory.Broadcast(pkt, opts)
	return err
}

// AddSockets makes the selected sockets of every server join rooms.
func (a *ShardedAdapter) AddSockets(opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.AddSockets(opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	return a.send(clusterMessage{Type: ctSocketsJoin, Data: map[string]any{"opts": optsOf(opts), "rooms": rooms}})
}

// DelSockets makes the selected sockets of every server leave rooms.
func (a *ShardedAdapter) DelSockets(opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.DelSockets(opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	return a.send(clusterMessage{Type: ctSocketsLeave, Data: map[string]any{"opts": optsOf(opts), "rooms": rooms}})
}

// DisconnectSockets disconnects the selected sockets of every server.
func (a *ShardedAdapter) DisconnectSockets(opts adapter.BroadcastOptions, close bool) error {
	_ = a.Memory.DisconnectSockets(opts, close)
	if opts.Flags.Local {
		return nil
	}
	return a.send(clusterMessage{Type: ctDisconnectSockets, Data: map[string]any{"opts": optsOf(opts), "close": close}})
}

// onRaw handles a message of one of the adapter's channels.
func (a *ShardedAdapter) onRaw(channel string, payload []byte) {
	m, err := decodeClusterMessage(payload)
	if err != nil {
		a.stats.BadMessages.Add(1)
		return
	}
	if channel == a.responseChannel {
		if requestID, _ := m.Data["requestId"].(string); isResponse(m.Type) {
			a.onResponse(m, requestID)
		}
		return
	}
	if isResponse(m.Type) {
		return // responses come on the response channel only
	}
	a.onMessage(m, "")
}

// decodeClusterMessage reads a message in JSON (it starts with '{') or
// msgpack.
func decodeClusterMessage(b []byte) (clusterMessage, error) {
	var m clusterMessage
	if len(b) > 0 && b[0] == '{' {
		return m, json.Unmarshal(b, &m)
	}
	return m, decodeMsgpack(b, &m)
}

// shardSubs holds a sharded adapter's subscriptions: one connection for a
// standalone Redis; on a Redis Cluster, one per hash slot of its channels,
// since a connection may SSUBSCRIBE only to channels of one slot at a time
// (go-redis resubscribes to all of a connection's channels in one command
// after a reconnection). Changes are made on a goroutine of their own, so
// that joining a room never waits for Redis.
type shardSubs struct {
	rdb       redis.UniversalClient
	logger    *slog.Logger
	onMessage func(channel string, payload []byte)
	// roomChannel returns a room's channel and whether it should be
	// subscribed now.
	roomChannel func(room string) (string, bool)

	mu      sync.Mutex
	running bool
	pending []string        // rooms to bring up to date, oldest first
	queued  map[string]bool // the rooms in pending
	conns   map[int]*redis.PubSub
	wake    chan struct{}
	ctx     context.Context // cancelled by close: ends a change under way
	cancel  context.CancelFunc
	done    chan struct{}

	// Used by the goroutine of changes only.
	base    map[string]bool // the namespace's channels, never unsubscribed
	slotOf  map[string]int  // subscribed channel → slot (0 when standalone)
	members map[int]int     // slot → subscribed channels
	readers sync.WaitGroup
}

// start subscribes to the base channels in the background, then brings
// the rooms' subscriptions up to date as they change, until close. The
// returned channel is closed once the base channels are subscribed.
func (s *shardSubs) start(base ...string) <-chan struct{} {
	s.wake, s.done = make(chan struct{}, 1), make(chan struct{})
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.conns, s.queued = map[int]*redis.PubSub{}, map[string]bool{}
	s.base, s.slotOf, s.members = map[string]bool{}, map[string]int{}, map[int]int{}
	for _, ch := range base {
		s.base[ch] = true
	}
	ready := make(chan struct{})
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
	go s.run(base, ready)
	return ready
}

// change queues room, whose existence here changed, to have its
// subscription brought up to date.
func (s *shardSubs) change(room string) {
	s.mu.Lock()
	if !s.running || s.queued[room] {
		s.mu.Unlock()
		return
	}
	s.queued[room] = true
	s.pending = append(s.pending, room)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *shardSubs) run(base []string, ready chan struct{}) {
	defer close(s.done)
	for _, ch := range base {
		s.subscribe(ch)
	}
	close(ready)
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		}
		for s.ctx.Err() == nil {
			s.mu.Lock()
			if len(s.pending) == 0 {
				s.mu.Unlock()
				break
			}
			room := s.pending[0]
			s.pending = s.pending[1:]
			delete(s.queued, room)
			s.mu.Unlock()
			s.update(room)
		}
	}
}

// update subscribes to room's channel or unsubscribes from it, as the
// room's present state asks.
func (s *shardSubs) update(room string) {
	ch, want := s.roomChannel(room)
	if s.base[ch] {
		return
	}
	_, subscribed := s.slotOf[ch]
	switch {
	case want && !subscribed:
		s.subscribe(ch)
	case !want && subscribed:
		s.unsubscribe(ch)
	}
}

// slot is the connection key of channel: its hash slot on a Redis
// Cluster, 0 otherwise.
func (s *shardSubs) slot(channel string) int {
	if isCluster(s.rdb) {
		return hashSlot(channel)
	}
	return 0
}

// subscribe adds channel to its slot's connection, opening it when
// needed. A failed SSUBSCRIBE is kept by go-redis, which sends it again
// when it reconnects.
func (s *shardSubs) subscribe(channel string) {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	slot := s.slot(channel)
	s.slotOf[channel] = slot
	s.members[slot]++
	s.mu.Lock()
	ps := s.conns[slot]
	s.mu.Unlock()
	if ps != nil {
		if err := ps.SSubscribe(ctx, channel); err != nil {
			s.logger.Warn("redisadapter: ssubscribe", "channel", channel, "err", err)
		}
		return
	}
	ps = s.rdb.SSubscribe(ctx, channel)
	s.mu.Lock()
	s.conns[slot] = ps
	s.mu.Unlock()
	ch := ps.Channel(redis.WithChannelSize(1024))
	s.readers.Go(func() {
		for m := range ch {
			s.onMessage(m.Channel, []byte(m.Payload))
		}
	})
}

// unsubscribe ends a subscription; on a Redis Cluster, a slot's
// connection is closed with its last channel.
func (s *shardSubs) unsubscribe(channel string) {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	slot := s.slotOf[channel]
	delete(s.slotOf, channel)
	s.members[slot]--
	s.mu.Lock()
	ps := s.conns[slot]
	last := s.members[slot] == 0 && isCluster(s.rdb)
	if last {
		delete(s.conns, slot)
		delete(s.members, slot)
	}
	s.mu.Unlock()
	var err error
	if last {
		err = ps.Close()
	} else {
		err = ps.SUnsubscribe(ctx, channel)
	}
	if err != nil {
		s.logger.Warn("redisadapter: sunsubscribe", "channel", channel, "err", err)
	}
}

func isCluster(rdb redis.UniversalClient) bool {
	_, ok := rdb.(*redis.ClusterClient)
	return ok
}

// close ends the subscriptions, without waiting for queued changes, and
// waits for the readers.
func (s *shardSubs) close() error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return nil
	}
	s.running = false
	s.mu.Unlock()
	s.cancel()
	<-s.done
	var errs []string
	for _, ps := range s.conns {
		if err := ps.Close(); err != nil {
			errs = append(errs, err.Error())
		}
	}
	s.readers.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("redisadapter: closing subscriptions: %s", strings.Join(errs, "; "))
	}
	return nil
}

// hashSlot is the Redis Cluster slot of key: CRC16 (XMODEM) of the key,
// or of its hash tag (the text between the first "{" and the next "}",
// when not empty), modulo 16384.
func hashSlot(key string) int {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if n := strings.IndexByte(key[open+1:], '}'); n > 0 {
			key = key[open+1 : open+1+n]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

var _ adapter.Adapter = (*ShardedAdapter)(nil)
