package redisadapter

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
)

// StreamsOptions configures the Redis Streams adapter (Node: the options of
// @socket.io/redis-streams-adapter's createAdapter).
type StreamsOptions struct {
	// StreamName is the stream's key. Default: "socket.io".
	StreamName string
	// StreamCount spreads the namespaces over that many streams,
	// "<StreamName>-<i>", as Node's streamCount option does (a namespace's
	// stream is chosen by a hash of its name), so that on a Redis Cluster
	// they may live on different nodes. Default: 1, the stream StreamName.
	StreamCount int
	// UseShardedPubSub sends requests and responses with the sharded
	// pub/sub of Redis 7 (SPUBLISH, SSUBSCRIBE), as Node's useShardedPubSub
	// option does. Every server of the cluster must agree.
	UseShardedPubSub bool
	// MaxLen caps the stream (XADD MAXLEN ~). Default: 10000.
	MaxLen int64
	// ReadCount is how many entries one XREAD returns at most. Default:
	// 100.
	ReadCount int64
	// BlockTime is how long one XREAD waits; Close may wait as long.
	// Default: 1 s (Node's adapter waits 5 s; the entries read are the
	// same).
	BlockTime time.Duration
	// SessionKeyPrefix prefixes the keys of persisted sessions. Default:
	// "sio:session:".
	SessionKeyPrefix string
	// ChannelPrefix prefixes the pub/sub channels of requests and
	// responses. Default: "socket.io".
	ChannelPrefix string
	// RequestsTimeout bounds requests to the other servers. Default: 5 s.
	RequestsTimeout time.Duration
	// MaxDisconnectionDuration, when positive, turns on connection state
	// recovery across servers: sessions are kept in Redis that long, and
	// broadcasts carry the stream offset. Set it to the server's
	// socketio.RecoveryOptions.MaxDisconnectionDuration.
	MaxDisconnectionDuration time.Duration
	// Logger receives the adapter's errors. Default: none.
	Logger *slog.Logger
}

// NewStreams returns the factory of the Redis Streams adapter: broadcasts
// and socket operations go through a Redis stream, requests and their
// answers through pub/sub, and sessions of disconnected sockets are kept
// in Redis, so that a client may recover through another server. It speaks
// the wire format of @socket.io/redis-streams-adapter 0.3.1. One goroutine
// per stream (see StreamCount) reads it for every namespace of the
// factory on that stream.
func NewStreams(client redis.UniversalClient, opts *StreamsOptions, stats *Stats) adapter.Factory {
	var o StreamsOptions
	if opts != nil {
		o = *opts
	}
	if o.StreamName == "" {
		o.StreamName = "socket.io"
	}
	if o.StreamCount <= 0 {
		o.StreamCount = 1
	}
	if o.MaxLen <= 0 {
		o.MaxLen = 10000
	}
	if o.ReadCount <= 0 {
		o.ReadCount = 100
	}
	if o.BlockTime <= 0 {
		o.BlockTime = time.Second
	}
	if o.SessionKeyPrefix == "" {
		o.SessionKeyPrefix = "sio:session:"
	}
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = "socket.io"
	}
	stats = withDefaults(&o.RequestsTimeout, &o.Logger, stats)
	r := &streamReader{rdb: client, opts: o, adapters: map[string]*StreamsAdapter{}, loops: map[string]*streamLoop{}}
	return func(host adapter.Host) adapter.Adapter {
		nsp := host.Name()
		mem := adapter.NewMemory(adapter.MemoryOptions{})(host).(*adapter.Memory)
		a := &StreamsAdapter{
			clusterNode: newClusterNode(mem, host, newUID()+newUID(), stats, o.RequestsTimeout),
			rdb:         client,
			opts:        o,
			reader:      r,
			stream:      streamOf(nsp, o),
			public:      o.ChannelPrefix + "#" + nsp + "#",
		}
		a.net, a.recovery = a, o.MaxDisconnectionDuration > 0
		a.private = a.public + a.uid + "#"
		if o.UseShardedPubSub {
			a.subs = &shardSubs{rdb: client, logger: o.Logger, onMessage: func(_ string, payload []byte) { a.onPubSub(payload) }}
		}
		return a
	}
}

// streamOf is the stream of namespace nsp (Node: computeStreamName).
func streamOf(nsp string, o StreamsOptions) string {
	if o.StreamCount <= 1 {
		return o.StreamName
	}
	return o.StreamName + "-" + strconv.Itoa(int(jsHashCode(nsp)%int32(o.StreamCount)))
}

// jsHashCode is the hash of Node's adapter: h = h*31 + c over the UTF-16
// code units of s, in 32-bit arithmetic. It may be negative, and so may
// the stream number taken from it, as in JavaScript.
func jsHashCode(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = h*31 + int32(u)
	}
	return h
}

// streamReader reads the streams of the adapters of one factory: one
// goroutine per stream in use, each handing entries to the adapter of
// their namespace.
type streamReader struct {
	rdb  redis.UniversalClient
	opts StreamsOptions

	mu       sync.Mutex
	adapters map[string]*StreamsAdapter // by namespace
	loops    map[string]*streamLoop     // by stream
}

// streamLoop is the reading of one stream.
type streamLoop struct {
	users  int // adapters on the stream
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *streamReader) add(a *StreamsAdapter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.adapters[a.host.Name()] = a
	if l := r.loops[a.stream]; l != nil {
		l.users++
		return
	}
	// Read from the stream's last entry now, rather than from "$" when the
	// first XREAD runs: what is added after Init is not missed.
	last := "$"
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.RequestsTimeout)
	if es, err := r.rdb.XRevRangeN(ctx, a.stream, "+", "-", 1).Result(); err == nil {
		last = "0-0"
		if len(es) > 0 {
			last = es[0].ID
		}
	}
	cancel()
	ctx, cancel = context.WithCancel(context.Background())
	l := &streamLoop{users: 1, cancel: cancel, done: make(chan struct{})}
	r.loops[a.stream] = l
	go r.run(ctx, a.stream, last, l.done)
}

func (r *streamReader) remove(a *StreamsAdapter) {
	r.mu.Lock()
	if r.adapters[a.host.Name()] == a {
		delete(r.adapters, a.host.Name())
	}
	l := r.loops[a.stream]
	last := l != nil && l.users == 1 // a was the stream's last reader
	if l != nil {
		l.users--
	}
	if last {
		delete(r.loops, a.stream)
	}
	r.mu.Unlock()
	if last {
		l.cancel()
		<-l.done
	}
}

func (r *streamReader) run(ctx context.Context, stream, last string, done chan struct{}) {
	defer close(done)
	for ctx.Err() == nil {
		res, err := r.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{stream, last}, Count: r.opts.ReadCount, Block: r.opts.BlockTime}).Result()
		if err != nil {
			if !errors.Is(err, redis.Nil) && ctx.Err() == nil {
				r.opts.Logger.Warn("redisadapter: reading the stream", "stream", stream, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
			continue
		}
		for _, s := range res {
			for _, m := range s.Messages {
				last = m.ID
				nsp, _ := m.Values["nsp"].(string)
				r.mu.Lock()
				a := r.adapters[nsp]
				r.mu.Unlock()
				if a != nil && a.stream == stream {
					a.onEntry(m)
				}
			}
		}
	}
}

// StreamsAdapter is the Redis Streams adapter of one namespace. Its local
// part is the in-memory adapter.
type StreamsAdapter struct {
	*clusterNode
	rdb    redis.UniversalClient
	opts   StreamsOptions
	reader *streamReader
	stream string // the namespace's stream

	public, private string
	ps              *redis.PubSub // with pub/sub
	subs            *shardSubs    // with sharded pub/sub
	cancel          context.CancelFunc
	done            chan struct{}
	entries         chan redis.XMessage // stream entries, handled in stream order
	entriesDone     chan struct{}
}

// Init subscribes to the namespace's channels and joins the stream reader.
func (a *StreamsAdapter) Init(ctx context.Context) error {
	a.entries, a.entriesDone = make(chan redis.XMessage, 4096), make(chan struct{})
	a.startWorker()
	go a.entryLoop()
	if a.subs != nil {
		select {
		case <-a.subs.start(a.public, a.private):
		case <-ctx.Done():
		case <-time.After(initWait):
		}
	} else {
		a.subscribe(ctx)
	}
	a.reader.add(a)
	return nil
}

// subscribe subscribes to the public and private channels with pub/sub.
func (a *StreamsAdapter) subscribe(ctx context.Context) {
	ps := a.rdb.Subscribe(ctx, a.public, a.private)
	rctx, cancel := context.WithCancel(context.Background())
	a.ps, a.cancel, a.done = ps, cancel, make(chan struct{})
	ch := ps.Channel(redis.WithChannelSize(1024))
	go func() {
		defer close(a.done)
		for {
			select {
			case <-rctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				a.onPubSub([]byte(m.Payload))
			}
		}
	}()
}

// entryLoop handles the namespace's stream entries one by one, in stream
// order: a join and the broadcast after it arrive in that order.
func (a *StreamsAdapter) entryLoop() {
	defer close(a.entriesDone)
	for {
		select {
		case m := <-a.entries:
			a.handleEntry(m)
		case <-a.closedCh:
			return
		}
	}
}

// onEntry queues an entry of the stream for the namespace; the shared
// reader waits while the namespace's queue is full.
func (a *StreamsAdapter) onEntry(m redis.XMessage) {
	select {
	case a.entries <- m:
	case <-a.closedCh:
	}
}

// Close leaves the stream reader and unsubscribes.
func (a *StreamsAdapter) Close() error {
	if !a.markClosed() {
		return nil
	}
	a.expireAcks()
	if a.entries == nil {
		return nil // not started
	}
	a.reader.remove(a)
	var err error
	if a.subs != nil {
		err = a.subs.close()
	} else {
		a.cancel()
		err = a.ps.Close()
		<-a.done
	}
	<-a.workDone
	<-a.entriesDone
	return err
}

func (a *StreamsAdapter) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
}

func (a *StreamsAdapter) failed(err error) {
	a.stats.PublishErrors.Add(1)
	a.opts.Logger.Warn("redisadapter: streams adapter", "nsp", a.host.Name(), "err", err)
}

// ServerCount returns the servers subscribed to the namespace's public
// channel (added up over the nodes of a Redis Cluster).
func (a *StreamsAdapter) ServerCount(ctx context.Context) (int, error) {
	numsub := redis.Cmdable.PubSubNumSub
	if a.opts.UseShardedPubSub {
		numsub = redis.Cmdable.PubSubShardNumSub
	}
	return countSubscribers(ctx, a.rdb, a.opts.RequestsTimeout, a.public, numsub)
}

// publish sends a request or a response on channel, with pub/sub or
// sharded pub/sub.
func (a *StreamsAdapter) publish(ctx context.Context, channel string, msg []byte) error {
	if a.opts.UseShardedPubSub {
		return a.rdb.SPublish(ctx, channel, msg).Err()
	}
	return a.rdb.Publish(ctx, channel, msg).Err()
}

// xadd appends m to the stream and returns the entry id.
func (a *StreamsAdapter) xadd(m clusterMessage) (string, error) {
	values := map[string]any{"uid": a.uid, "nsp": a.host.Name(), "type": strconv.Itoa(m.Type)}
	if m.Data != nil {
		data, err := encodeData(m.Type, m.Data)
		if err != nil {
			return "", err
		}
		values["data"] = data
	}
	ctx, cancel := a.ctx()
	defer cancel()
	id, err := a.rdb.XAdd(ctx, &redis.XAddArgs{Stream: a.stream, MaxLen: a.opts.MaxLen, Approx: true, Values: values}).Result()
	if err != nil {
		a.failed(err)
		return "", fmt.Errorf("redisadapter: xadd: %w", err)
	}
	return id, nil
}

// encodeData is the data field of a stream entry: JSON, or base64 msgpack
// when binary data is inside (for the types that may carry it).
func encodeData(typ int, data map[string]any) (string, error) {
	if mayCarryBinary(typ) && hasBinary(data) {
		b, err := encodeMsgpack(data)
		if err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(b), nil
	}
	b, err := json.Marshal(data)
	return string(b), err
}

func hasBinary(v any) bool {
	switch t := v.(type) {
	case []byte:
		return true
	case []any:
		for _, e := range t {
			if hasBinary(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range t {
			if hasBinary(e) {
				return true
			}
		}
	case wirePacket:
		return hasBinary(t.Data)
	case *wirePacket:
		return hasBinary(t.Data)
	}
	return false
}

func decodeData(s string) (map[string]any, error) {
	var out map[string]any
	if strings.HasPrefix(s, "{") {
		err := json.Unmarshal([]byte(s), &out)
		return out, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	err = decodeMsgpack(b, &out)
	return out, err
}

// publishRequest sends m to every server on the public channel.
func (a *StreamsAdapter) publishRequest(m clusterMessage) error {
	m.UID, m.Nsp = a.uid, a.host.Name()
	b, err := encodeMsgpack(m)
	if err != nil {
		return err
	}
	ctx, cancel := a.ctx()
	defer cancel()
	if err := a.publish(ctx, a.public, b); err != nil {
		a.failed(err)
		return fmt.Errorf("redisadapter: publish: %w", err)
	}
	return nil
}

func (a *StreamsAdapter) respond(requester string, m clusterMessage) {
	// Node's ClusterAdapter drops a response without the namespace.
	m.UID, m.Nsp = a.uid, a.host.Name()
	b, err := encodeMsgpack(m)
	if err != nil {
		return
	}
	ctx, cancel := a.ctx()
	defer cancel()
	if err := a.publish(ctx, a.public+requester+"#", b); err != nil {
		a.failed(err)
	}
}

// recovering reports whether a broadcast of pkt with opts carries an
// offset (as Node's addOffsetIfNecessary decides).
func (a *StreamsAdapter) recovering(pkt *sioparser.Packet, opts adapter.BroadcastOptions) bool {
	return a.opts.MaxDisconnectionDuration > 0 && (pkt.Type == sioparser.Event || pkt.Type == sioparser.BinaryEvent) &&
		!pkt.HasID && !opts.Flags.Volatile
}

// Broadcast appends pkt to the stream (its entry id becomes the packet's
// offset when recovery is on) and delivers it locally.
func (a *StreamsAdapter) Broadcast(pkt *sioparser.Packet, opts adapter.BroadcastOptions) error {
	var err error
	if !opts.Flags.Local {
		var wp map[string]any
		if wp, err = wireOf(pkt); err == nil {
			var id string
			id, err = a.xadd(clusterMessage{Type: ctBroadcast, Data: map[string]any{"packet": wp, "opts": optsOf(opts)}})
			if err == nil && a.recovering(pkt, opts) {
				if p, perr := packetFrom(wp, a.host.Name(), id); perr == nil {
					pkt = p
				}
			}
		}
	}
	_ = a.Memory.Broadcast(pkt, opts)
	return err
}

// handleEntry handles an entry of the stream, from any server: a
// broadcast or a socket operation (requests go through pub/sub).
func (a *StreamsAdapter) handleEntry(m redis.XMessage) {
	uid, _ := m.Values["uid"].(string)
	if uid == a.uid {
		return
	}
	typ, _ := strconv.Atoi(fmt.Sprint(m.Values["type"]))
	var data map[string]any
	if s, ok := m.Values["data"].(string); ok {
		var err error
		if data, err = decodeData(s); err != nil {
			a.stats.BadMessages.Add(1)
			return
		}
	}
	if _, withAck := data["requestId"]; withAck || typ < ctBroadcast || typ > ctDisconnectSockets {
		return
	}
	a.onMessage(clusterMessage{UID: uid, Nsp: a.host.Name(), Type: typ, Data: data}, m.ID)
}

// AddSockets makes the selected sockets of every server join rooms.
func (a *StreamsAdapter) AddSockets(opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.AddSockets(opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	_, err := a.xadd(clusterMessage{Type: ctSocketsJoin, Data: map[string]any{"opts": optsOf(opts), "rooms": rooms}})
	return err
}

// DelSockets makes the selected sockets of every server leave rooms.
func (a *StreamsAdapter) DelSockets(opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.DelSockets(opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	_, err := a.xadd(clusterMessage{Type: ctSocketsLeave, Data: map[string]any{"opts": optsOf(opts), "rooms": rooms}})
	return err
}

// DisconnectSockets disconnects the selected sockets of every server.
func (a *StreamsAdapter) DisconnectSockets(opts adapter.BroadcastOptions, close bool) error {
	_ = a.Memory.DisconnectSockets(opts, close)
	if opts.Flags.Local {
		return nil
	}
	_, err := a.xadd(clusterMessage{Type: ctDisconnectSockets, Data: map[string]any{"opts": optsOf(opts), "close": close}})
	return err
}

// onPubSub handles a message of the public or the private channel:
// requests, broadcasts with acks and responses (the rest goes through the
// stream).
func (a *StreamsAdapter) onPubSub(payload []byte) {
	var m clusterMessage
	if err := decodeMsgpack(payload, &m); err != nil {
		a.stats.BadMessages.Add(1)
		return
	}
	switch m.Type {
	case ctSocketsJoin, ctSocketsLeave, ctDisconnectSockets:
		return
	case ctBroadcast:
		if _, withAck := m.Data["requestId"]; !withAck {
			return
		}
	}
	a.onMessage(m, "")
}

// storedSession is a session as the Node adapter stores it (msgpack).
type storedSession struct {
	SID   string   `msgpack:"sid"`
	PID   string   `msgpack:"pid"`
	Rooms []string `msgpack:"rooms"`
	Data  any      `msgpack:"data"`
}

// PersistSession keeps a disconnected socket's session in Redis for
// MaxDisconnectionDuration.
func (a *StreamsAdapter) PersistSession(s adapter.SessionToPersist) {
	if a.opts.MaxDisconnectionDuration <= 0 {
		return
	}
	// Node's Socket reads rooms as an array and data as an object.
	rooms, data := s.Rooms, s.Data
	if rooms == nil {
		rooms = []string{}
	}
	if data == nil {
		data = map[string]any{}
	}
	b, err := encodeMsgpack(storedSession{SID: s.SID, PID: s.PID, Rooms: rooms, Data: data})
	if err != nil {
		return
	}
	ctx, cancel := a.ctx()
	defer cancel()
	if err := a.rdb.Set(ctx, a.opts.SessionKeyPrefix+s.PID, base64.StdEncoding.EncodeToString(b), a.opts.MaxDisconnectionDuration).Err(); err != nil {
		a.failed(err)
	}
}

var offsetPattern = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// restoreXRangeCalls bounds the reads of a restore, as Node's adapter does.
const restoreXRangeCalls = 100

// RestoreSession takes the session of pid out of Redis and returns it with
// the stream's broadcasts after offset that its rooms select, or nil when
// the session or the offset is gone.
func (a *StreamsAdapter) RestoreSession(ctx context.Context, pid, offset string) (*adapter.Session, error) {
	if a.opts.MaxDisconnectionDuration <= 0 || !offsetPattern.MatchString(offset) {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.opts.RequestsTimeout)
	defer cancel()
	// GET and DEL in one MULTI, as Node's adapter does (GETDEL needs
	// Redis 6.2).
	var get *redis.StringCmd
	_, err := a.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, a.opts.SessionKeyPrefix+pid)
		p.Del(ctx, a.opts.SessionKeyPrefix+pid)
		return nil
	})
	if errors.Is(err, redis.Nil) || (get != nil && errors.Is(get.Err(), redis.Nil)) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	raw := get.Val()
	at, err := a.rdb.XRange(ctx, a.stream, offset, offset).Result()
	if err != nil || len(at) == 0 {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, err
	}
	var ss storedSession
	if err := decodeMsgpack(b, &ss); err != nil {
		return nil, err
	}
	out := &adapter.Session{SessionToPersist: adapter.SessionToPersist{SID: ss.SID, PID: ss.PID, Rooms: ss.Rooms, Data: normalizeValue(ss.Data)}}
	for range restoreXRangeCalls {
		entries, err := a.rdb.XRange(ctx, a.stream, nextOffset(offset), "+").Result()
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			offset = e.ID
			if e.Values["nsp"] != a.host.Name() || fmt.Sprint(e.Values["type"]) != strconv.Itoa(ctBroadcast) {
				continue
			}
			s, _ := e.Values["data"].(string)
			data, err := decodeData(s)
			if err != nil {
				continue
			}
			if _, withAck := data["requestId"]; withAck {
				continue
			}
			opts := optsFrom(data["opts"])
			if opts.Flags.Volatile || !selects(ss.Rooms, opts) {
				// Volatile packets carry no offset and are not replayed
				// (Node's adapter replays them).
				continue
			}
			if pkt, err := packetFrom(data["packet"], a.host.Name(), e.ID); err == nil {
				out.MissedPackets = append(out.MissedPackets, pkt)
			}
		}
	}
	return out, nil
}

// selects reports whether a broadcast with opts reaches a socket in rooms.
func selects(rooms []string, opts adapter.BroadcastOptions) bool {
	included := len(opts.Rooms) == 0
	for _, r := range rooms {
		for _, o := range opts.Rooms {
			if r == o {
				included = true
			}
		}
		for _, e := range opts.Except {
			if r == e {
				return false
			}
		}
	}
	return included
}

// nextOffset is the stream id right after id.
func nextOffset(id string) string {
	ts, seq, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseUint(seq, 10, 64)
	return ts + "-" + strconv.FormatUint(n+1, 10)
}

var _ adapter.Adapter = (*StreamsAdapter)(nil)
