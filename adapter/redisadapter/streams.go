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

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
)

// Message types of socket.io-adapter's ClusterAdapter, which
// @socket.io/redis-streams-adapter 0.3.x uses.
const (
	ctBroadcast            = 3
	ctSocketsJoin          = 4
	ctSocketsLeave         = 5
	ctDisconnectSockets    = 6
	ctFetchSockets         = 7
	ctFetchSocketsResponse = 8
	ctServerSideEmit       = 9
	ctServerSideEmitResp   = 10
	ctBroadcastClientCount = 11
	ctBroadcastAck         = 12
)

// StreamsOptions configures the Redis Streams adapter (Node: the options of
// @socket.io/redis-streams-adapter's createAdapter).
type StreamsOptions struct {
	// StreamName is the stream's key. Default: "socket.io".
	StreamName string
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
// reads the stream for every namespace of the factory.
func NewStreams(client redis.UniversalClient, opts *StreamsOptions, stats *Stats) adapter.Factory {
	var o StreamsOptions
	if opts != nil {
		o = *opts
	}
	if o.StreamName == "" {
		o.StreamName = "socket.io"
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
	if o.RequestsTimeout <= 0 {
		o.RequestsTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if stats == nil {
		stats = &Stats{}
	}
	r := &streamReader{rdb: client, opts: o, adapters: map[string]*StreamsAdapter{}}
	return func(host adapter.Host) adapter.Adapter {
		nsp := host.Name()
		a := &StreamsAdapter{
			Memory:       adapter.NewMemory(adapter.MemoryOptions{})(host).(*adapter.Memory),
			host:         host,
			rdb:          client,
			opts:         o,
			stats:        stats,
			reader:       r,
			uid:          newUID() + newUID(),
			public:       o.ChannelPrefix + "#" + nsp + "#",
			requestTable: newRequestTable(),
		}
		a.private = a.public + a.uid + "#"
		return a
	}
}

// streamReader reads the stream for the adapters of one factory.
type streamReader struct {
	rdb  redis.UniversalClient
	opts StreamsOptions

	mu       sync.Mutex
	adapters map[string]*StreamsAdapter
	cancel   context.CancelFunc
	done     chan struct{}
}

func (r *streamReader) add(a *StreamsAdapter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.adapters[a.host.Name()] = a
	if r.cancel == nil {
		// Read from the stream's last entry now, rather than from "$" when
		// the first XREAD runs: what is added after Init is not missed.
		last := "$"
		ctx, cancel := context.WithTimeout(context.Background(), r.opts.RequestsTimeout)
		if es, err := r.rdb.XRevRangeN(ctx, r.opts.StreamName, "+", "-", 1).Result(); err == nil {
			last = "0-0"
			if len(es) > 0 {
				last = es[0].ID
			}
		}
		cancel()
		ctx, cancel = context.WithCancel(context.Background())
		r.cancel, r.done = cancel, make(chan struct{})
		go r.run(ctx, last, r.done)
	}
}

func (r *streamReader) remove(a *StreamsAdapter) {
	r.mu.Lock()
	if r.adapters[a.host.Name()] == a {
		delete(r.adapters, a.host.Name())
	}
	var cancel context.CancelFunc
	var done chan struct{}
	if len(r.adapters) == 0 && r.cancel != nil {
		cancel, done = r.cancel, r.done
		r.cancel, r.done = nil, nil
	}
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (r *streamReader) run(ctx context.Context, last string, done chan struct{}) {
	defer close(done)
	for ctx.Err() == nil {
		res, err := r.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{r.opts.StreamName, last}, Count: r.opts.ReadCount, Block: r.opts.BlockTime}).Result()
		if err != nil {
			if !errors.Is(err, redis.Nil) && ctx.Err() == nil {
				r.opts.Logger.Warn("redisadapter: reading the stream", "err", err)
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
				if a != nil {
					a.onEntry(m)
				}
			}
		}
	}
}

// StreamsAdapter is the Redis Streams adapter of one namespace. Its local
// part is the in-memory adapter.
type StreamsAdapter struct {
	*adapter.Memory
	host   adapter.Host
	rdb    redis.UniversalClient
	opts   StreamsOptions
	stats  *Stats
	reader *streamReader
	uid    string

	public, private string
	ps              *redis.PubSub
	cancel          context.CancelFunc
	done            chan struct{}
	jobs            chan func() // server-side events (the application's handlers)
	workDone        chan struct{}
	entries         chan redis.XMessage // stream entries, handled in stream order
	entriesDone     chan struct{}

	requestTable
}

// clusterMessage is a message of the ClusterAdapter protocol.
type clusterMessage struct {
	UID  string         `msgpack:"uid,omitempty" json:"uid,omitempty"`
	Nsp  string         `msgpack:"nsp,omitempty" json:"nsp,omitempty"`
	Type int            `msgpack:"type" json:"type"`
	Data map[string]any `msgpack:"data,omitempty" json:"data,omitempty"`
}

// Init subscribes to the namespace's channels and joins the stream reader.
func (a *StreamsAdapter) Init(ctx context.Context) error {
	ps := a.rdb.Subscribe(ctx, a.public, a.private)
	rctx, cancel := context.WithCancel(context.Background())
	a.ps, a.cancel, a.done = ps, cancel, make(chan struct{})
	a.jobs, a.workDone = make(chan func(), 256), make(chan struct{})
	a.entries, a.entriesDone = make(chan redis.XMessage, 4096), make(chan struct{})
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
	go a.worker()
	go a.entryLoop()
	a.reader.add(a)
	return nil
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
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	close(a.closedCh)
	a.mu.Unlock()
	if a.ps == nil {
		return nil
	}
	a.reader.remove(a)
	a.cancel()
	err := a.ps.Close()
	<-a.done
	<-a.workDone
	<-a.entriesDone
	return err
}

func (a *StreamsAdapter) worker() {
	defer close(a.workDone)
	for {
		select {
		case fn := <-a.jobs:
			fn()
		case <-a.closedCh:
			return
		}
	}
}

func (a *StreamsAdapter) work(fn func()) {
	select {
	case a.jobs <- fn:
	case <-a.closedCh:
	}
}

func (a *StreamsAdapter) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
}

func (a *StreamsAdapter) failed(err error) {
	a.stats.PublishErrors.Add(1)
	a.opts.Logger.Warn("redisadapter: streams adapter", "nsp", a.host.Name(), "err", err)
}

// ServerCount returns the servers subscribed to the namespace's public
// channel.
func (a *StreamsAdapter) ServerCount(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.RequestsTimeout)
	defer cancel()
	res, err := a.rdb.PubSubNumSub(ctx, a.public).Result()
	if err != nil {
		return 1, fmt.Errorf("redisadapter: server count: %w", err)
	}
	return int(res[a.public]), nil
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
	id, err := a.rdb.XAdd(ctx, &redis.XAddArgs{Stream: a.opts.StreamName, MaxLen: a.opts.MaxLen, Approx: true, Values: values}).Result()
	if err != nil {
		a.failed(err)
		return "", fmt.Errorf("redisadapter: xadd: %w", err)
	}
	return id, nil
}

// encodeData is the data field of a stream entry: JSON, or base64 msgpack
// when binary data is inside (for the types that may carry it).
func encodeData(typ int, data map[string]any) (string, error) {
	if (typ == ctBroadcast || typ == ctFetchSocketsResponse || typ == ctServerSideEmit || typ == ctServerSideEmitResp || typ == ctBroadcastAck) && hasBinary(data) {
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

// publishEphemeral sends m to every server on the public channel.
func (a *StreamsAdapter) publishEphemeral(m clusterMessage) error {
	m.UID, m.Nsp = a.uid, a.host.Name()
	b, err := encodeMsgpack(m)
	if err != nil {
		return err
	}
	ctx, cancel := a.ctx()
	defer cancel()
	if err := a.rdb.Publish(ctx, a.public, b).Err(); err != nil {
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
	if err := a.rdb.Publish(ctx, a.public+requester+"#", b).Err(); err != nil {
		a.failed(err)
	}
}

// packetOf and the reverse convert between our packets and the wire form.
func wireOf(pkt *sioparser.Packet) (map[string]any, error) {
	wp, err := toWirePacket(pkt)
	if err != nil {
		return nil, err
	}
	m := map[string]any{"type": wp.Type, "data": wp.Data, "nsp": wp.Nsp}
	if wp.ID != nil {
		m["id"] = *wp.ID
	}
	return m, nil
}

func optsOf(o adapter.BroadcastOptions) map[string]any {
	w := toWireOpts(o)
	return map[string]any{"rooms": []string(w.Rooms), "except": []string(w.Except), "flags": w.Flags}
}

func optsFrom(v any) adapter.BroadcastOptions {
	m, _ := v.(map[string]any)
	o := adapter.BroadcastOptions{Rooms: roomsFrom(m["rooms"]), Except: roomsFrom(m["except"])}
	if f, ok := m["flags"].(map[string]any); ok {
		if v, ok := f["volatile"].(bool); ok {
			o.Flags.Volatile = v
		}
		if v, ok := f["compress"].(bool); ok {
			o.Flags.NoCompress = !v
		}
	}
	return o
}

func roomsFrom(v any) []string {
	vs, _ := v.([]any)
	return roomNames(vs)
}

// packetFrom converts a wire packet (an EVENT) for namespace nsp, with
// offset appended when not empty.
func packetFrom(v any, nsp, offset string) (*sioparser.Packet, error) {
	m, _ := v.(map[string]any)
	data, _ := m["data"].([]any)
	if len(data) == 0 {
		return nil, errors.New("redisadapter: packet without data")
	}
	name, ok := data[0].(string)
	if !ok {
		return nil, fmt.Errorf("redisadapter: event name %T", data[0])
	}
	args := normalize(data[1:])
	if offset != "" {
		args = append(args, offset)
	}
	return sioparser.NewEvent(nsp, name, args...)
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

// handleEntry handles an entry of the stream, from any server.
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
	opts := optsFrom(data["opts"])
	switch typ {
	case ctBroadcast:
		if _, withAck := data["requestId"]; withAck {
			return // acks go through pub/sub
		}
		offset := ""
		if a.opts.MaxDisconnectionDuration > 0 && !opts.Flags.Volatile {
			offset = m.ID
		}
		pm, _ := data["packet"].(map[string]any)
		if _, hasID := pm["id"]; hasID {
			offset = ""
		}
		pkt, err := packetFrom(data["packet"], a.host.Name(), offset)
		if err != nil {
			a.stats.BadMessages.Add(1)
			return
		}
		_ = a.Memory.Broadcast(pkt, opts)
	case ctSocketsJoin:
		_ = a.Memory.AddSockets(opts, roomsFrom(data["rooms"]))
	case ctSocketsLeave:
		_ = a.Memory.DelSockets(opts, roomsFrom(data["rooms"]))
	case ctDisconnectSockets:
		closeConn, _ := data["close"].(bool)
		_ = a.Memory.DisconnectSockets(opts, closeConn)
	}
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

// Sockets returns the ids of the selected sockets across the cluster.
func (a *StreamsAdapter) Sockets(ctx context.Context, rooms []string) ([]string, error) {
	details, err := a.FetchSockets(ctx, adapter.BroadcastOptions{Rooms: rooms})
	ids := make([]string, 0, len(details))
	for _, d := range details {
		ids = append(ids, d.ID)
	}
	return ids, err
}

// request publishes m with a new request id and waits for want answers,
// RequestsTimeout, ctx or Close.
func (a *StreamsAdapter) request(ctx context.Context, m clusterMessage, want int, timeout time.Duration) (*pending, error) {
	return a.await(ctx, m.Type, want, timeout, func(id string) error {
		m.Data["requestId"] = id
		return a.publishEphemeral(m)
	})
}

// FetchSockets returns the selected sockets of every server.
func (a *StreamsAdapter) FetchSockets(ctx context.Context, opts adapter.BroadcastOptions) ([]adapter.SocketDetails, error) {
	local, _ := a.Memory.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	servers, err := a.ServerCount(ctx)
	if err != nil || servers <= 1 {
		return local, err
	}
	timeout := ackTimeout(opts, a.opts.RequestsTimeout) // as Node: opts.flags.timeout || 5000
	p, err := a.request(ctx, clusterMessage{Type: ctFetchSockets, Data: map[string]any{"opts": optsOf(opts)}}, servers-1, timeout)
	if p == nil {
		return local, err
	}
	return append(local, p.sockets...), err
}

// ServerSideEmit sends an event to the other servers.
func (a *StreamsAdapter) ServerSideEmit(event string, args []any) error {
	return a.publishEphemeral(clusterMessage{Type: ctServerSideEmit, Data: map[string]any{"packet": append([]any{event}, args...)}})
}

// ServerSideEmitWithAck sends an event to the other servers and returns
// their answers.
func (a *StreamsAdapter) ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([][]any, error) {
	servers, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if servers <= 1 {
		return [][]any{}, nil
	}
	p, err := a.request(ctx, clusterMessage{Type: ctServerSideEmit, Data: map[string]any{"packet": append([]any{event}, args...)}}, servers-1, a.opts.RequestsTimeout)
	if p == nil {
		return nil, err
	}
	return p.answers, err
}

// BroadcastWithAck delivers pkt locally and through the other servers
// (over pub/sub), and reports the total of clients reached once every
// server has answered, or at the timeout.
func (a *StreamsAdapter) BroadcastWithAck(pkt *sioparser.Packet, opts adapter.BroadcastOptions, clientCount func(int), ack func(sioparser.Args)) error {
	if opts.Flags.Local {
		return a.Memory.BroadcastWithAck(pkt, opts, clientCount, ack)
	}
	servers, err := a.ServerCount(context.Background())
	if err != nil || servers <= 1 {
		return a.Memory.BroadcastWithAck(pkt, opts, clientCount, ack)
	}
	wp, err := wireOf(pkt)
	if err != nil {
		return err
	}
	delete(wp, "id")
	id, count, expire := a.expectAcks(servers, clientCount, ack)
	perr := a.publishEphemeral(clusterMessage{Type: ctBroadcast, Data: map[string]any{"packet": wp, "requestId": id, "opts": optsOf(opts)}})
	_ = a.Memory.BroadcastWithAck(pkt, opts, count, ack)
	// Armed after the local count is in.
	time.AfterFunc(ackTimeout(opts, a.opts.RequestsTimeout), expire)
	return perr
}

// onPubSub handles a message of the public or the private channel.
func (a *StreamsAdapter) onPubSub(payload []byte) {
	var m clusterMessage
	if err := decodeMsgpack(payload, &m); err != nil {
		a.stats.BadMessages.Add(1)
		return
	}
	requestID, _ := m.Data["requestId"].(string)
	switch m.Type {
	case ctFetchSocketsResponse, ctServerSideEmitResp, ctBroadcastClientCount, ctBroadcastAck:
		a.onResponse(m, requestID)
		return
	}
	if m.UID == a.uid || m.Nsp != a.host.Name() {
		return
	}
	opts := optsFrom(m.Data["opts"])
	switch m.Type {
	case ctBroadcast:
		if requestID == "" {
			return
		}
		pkt, err := packetFrom(m.Data["packet"], a.host.Name(), "")
		if err != nil {
			a.stats.BadMessages.Add(1)
			return
		}
		pkt.ID, pkt.HasID = 0, false // the host gives it this server's ack id
		requester := m.UID
		_ = a.Memory.BroadcastWithAck(pkt, opts,
			func(n int) {
				a.respond(requester, clusterMessage{Type: ctBroadcastClientCount, Data: map[string]any{"requestId": requestID, "clientCount": n}})
			},
			func(args sioparser.Args) {
				data := map[string]any{"requestId": requestID}
				if vals, err := args.Values(); err == nil && len(vals) > 0 {
					data["packet"] = vals[0]
				}
				a.respond(requester, clusterMessage{Type: ctBroadcastAck, Data: data})
			})
	case ctFetchSockets:
		local, _ := a.Memory.FetchSockets(context.Background(), opts)
		sockets := make([]any, 0, len(local))
		for _, d := range local {
			b, _ := json.Marshal(toWireSocket(d))
			var v any
			_ = json.Unmarshal(b, &v)
			sockets = append(sockets, v)
		}
		a.respond(m.UID, clusterMessage{Type: ctFetchSocketsResponse, Data: map[string]any{"requestId": requestID, "sockets": sockets}})
	case ctServerSideEmit:
		packet, _ := m.Data["packet"].([]any)
		if len(packet) == 0 {
			return
		}
		event, ok := packet[0].(string)
		if !ok {
			return
		}
		args := normalize(packet[1:])
		var ackFn func(...any)
		if requestID != "" {
			requester := m.UID
			var once sync.Once
			ackFn = func(out ...any) {
				once.Do(func() {
					data := map[string]any{"requestId": requestID}
					if len(out) > 0 {
						data["packet"] = out[0]
					}
					a.respond(requester, clusterMessage{Type: ctServerSideEmitResp, Data: data})
				})
			}
		}
		a.work(func() { a.host.OnServerSideEmit(event, args, ackFn) })
	}
}

func (a *StreamsAdapter) onResponse(m clusterMessage, requestID string) {
	if ar := a.ackRequest(requestID); ar != nil {
		switch m.Type {
		case ctBroadcastClientCount:
			n, _ := toInt(m.Data["clientCount"])
			ar.clientCount(n)
		case ctBroadcastAck:
			var vals []any
			if v, ok := m.Data["packet"]; ok {
				vals = append(vals, normalizeValue(v))
			}
			if p, err := sioparser.NewAck("/", 0, vals...); err == nil {
				if args, err := sioparser.ParseArgs(p); err == nil {
					ar.ack(args)
				}
			}
		}
		return
	}
	a.mu.Lock()
	p := a.requests[requestID]
	if p == nil {
		a.mu.Unlock()
		return
	}
	switch m.Type {
	case ctFetchSocketsResponse:
		list, _ := m.Data["sockets"].([]any)
		for _, s := range list {
			b, err := json.Marshal(normalizeValue(s))
			if err != nil {
				continue
			}
			var ws wireSocket
			if json.Unmarshal(b, &ws) == nil {
				p.sockets = append(p.sockets, ws.details())
			}
		}
	case ctServerSideEmitResp:
		p.answers = append(p.answers, []any{normalizeValue(m.Data["packet"])})
	default:
		a.mu.Unlock()
		return
	}
	p.answered()
	a.mu.Unlock()
}

func toInt(v any) (int, bool) {
	switch t := v.(type) {
	case int8:
		return int(t), true
	case int16:
		return int(t), true
	case int32:
		return int(t), true
	case int64:
		return int(t), true
	case uint8:
		return int(t), true
	case uint16:
		return int(t), true
	case uint32:
		return int(t), true
	case uint64:
		return int(t), true
	case float64:
		return int(t), true
	case int:
		return t, true
	}
	return 0, false
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
	at, err := a.rdb.XRange(ctx, a.opts.StreamName, offset, offset).Result()
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
		entries, err := a.rdb.XRange(ctx, a.opts.StreamName, nextOffset(offset), "+").Result()
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
