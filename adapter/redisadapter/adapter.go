package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
)

// Options configures the adapter (Node: the options of createAdapter).
type Options struct {
	// Key prefixes every channel. Default: "socket.io".
	Key string
	// RequestsTimeout bounds requests to the other servers (fetchSockets,
	// serverSideEmit with acks, the client counts of broadcasts with acks).
	// Default: 5 s.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel sends responses to the requester's
	// own channel instead of the shared one.
	PublishOnSpecificResponseChannel bool
	// Memory configures the local part (rooms, and connection state
	// recovery on this server alone, as the classic adapter has no shared
	// recovery).
	Memory adapter.MemoryOptions
	// Logger receives the adapter's errors and warnings (Redis outages,
	// bad messages). Default: none.
	Logger *slog.Logger
}

// ErrClosed is returned by an adapter that is closed.
var ErrClosed = errors.New("redisadapter: closed")

// ErrQueueFull is returned when a message for the other servers is
// dropped because too many wait for Redis.
var ErrQueueFull = errors.New("redisadapter: too many messages waiting for Redis")

// Stats counts what an adapter could not do through Redis. It is shared by
// the adapters of one factory.
type Stats struct {
	// PublishErrors counts messages that could not be published (Redis
	// away); local delivery went on.
	PublishErrors atomic.Int64
	// BadMessages counts messages from Redis that could not be decoded.
	BadMessages atomic.Int64
}

// New returns the factory of the Redis adapter for socketio.Options.Adapter:
// every namespace gets an adapter that publishes through client and
// subscribes on a connection of its own. It speaks the wire format of
// @socket.io/redis-adapter 8.3.0 (classic pub/sub), so Go and Node servers
// can share one Redis. stats, when not nil, receives the counts of failures.
func New(client redis.UniversalClient, opts *Options, stats *Stats) adapter.Factory {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Key == "" {
		o.Key = "socket.io"
	}
	stats = withDefaults(&o.RequestsTimeout, &o.Logger, stats)
	return func(host adapter.Host) adapter.Adapter {
		nsp := host.Name()
		a := &Adapter{
			Memory:       adapter.NewMemory(o.Memory)(host).(*adapter.Memory),
			host:         host,
			rdb:          client,
			opts:         o,
			stats:        stats,
			uid:          newUID(),
			channel:      o.Key + "#" + nsp + "#",
			reqChannel:   o.Key + "-request#" + nsp + "#",
			resChannel:   o.Key + "-response#" + nsp + "#",
			requestTable: newRequestTable(),
		}
		a.ownResChannel = a.resChannel + a.uid + "#"
		a.outbox = &outbox{
			send: func(ctx context.Context, channel string, msg []byte) error {
				return client.Publish(ctx, channel, msg).Err()
			},
			timeout: o.RequestsTimeout, stats: stats, logger: o.Logger, nsp: nsp, stop: a.closedCh,
		}
		return a
	}
}

// withDefaults sets the defaults of the options every adapter has: a 5 s
// requests timeout, a logger that discards, and Stats of its own.
func withDefaults(timeout *time.Duration, logger **slog.Logger, stats *Stats) *Stats {
	if *timeout <= 0 {
		*timeout = 5 * time.Second
	}
	if *logger == nil {
		*logger = slog.New(slog.DiscardHandler)
	}
	if stats == nil {
		stats = &Stats{}
	}
	return stats
}

// newUID returns a 6-character id, as uid2(6) does.
func newUID() string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b[:])
}

// Adapter is the Redis adapter of one namespace. Its local part (rooms,
// local delivery) is the in-memory adapter.
type Adapter struct {
	*adapter.Memory
	host  adapter.Host
	rdb   redis.UniversalClient
	opts  Options
	stats *Stats
	uid   string

	channel, reqChannel, resChannel, ownResChannel string

	ps     *redis.PubSub
	cancel context.CancelFunc
	done   chan struct{}
	*outbox
	jobs     chan func()
	workDone chan struct{}

	requestTable
}

// Init subscribes to the namespace's channels. When Redis cannot be
// reached, the error is logged and the adapter works locally meanwhile:
// go-redis keeps trying, and subscribes once Redis answers.
func (a *Adapter) Init(ctx context.Context) error {
	ps := a.rdb.PSubscribe(ctx, a.channel+"*")
	if err := ps.Subscribe(ctx, a.reqChannel, a.resChannel, a.ownResChannel); err != nil {
		a.failed(fmt.Errorf("subscribe: %w", err))
	}
	rctx, cancel := context.WithCancel(context.Background())
	a.ps, a.cancel, a.done = ps, cancel, make(chan struct{})
	a.jobs, a.workDone = make(chan func(), 256), make(chan struct{})
	a.outbox.start(rctx)
	ch := ps.Channel(redis.WithChannelSize(1024))
	go a.receive(rctx, ch)
	go a.worker()
	return nil
}

// Close unsubscribes and ends the adapter's goroutine.
func (a *Adapter) Close() error {
	if !a.markClosed() {
		return nil
	}
	a.expireAcks()
	if a.ps == nil {
		return nil
	}
	// What is still queued for Redis is dropped with the adapter.
	a.cancel()
	err := a.ps.Close()
	<-a.done
	a.outbox.wait()
	<-a.workDone
	return err
}

func (a *Adapter) receive(ctx context.Context, ch <-chan *redis.Message) {
	defer close(a.done)
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			a.onMessage(msg)
		}
	}
}

func (a *Adapter) onMessage(msg *redis.Message) {
	payload := []byte(msg.Payload)
	switch {
	case msg.Channel == a.reqChannel:
		a.onRequest(payload)
	case msg.Channel == a.resChannel || msg.Channel == a.ownResChannel:
		a.onResponse(payload)
	case strings.HasPrefix(msg.Channel, a.channel):
		a.onBroadcast(msg.Channel, payload)
	}
}

func (a *Adapter) bad(what string, err error) {
	a.stats.BadMessages.Add(1)
	a.opts.Logger.Warn("redisadapter: bad message", "what", what, "nsp", a.host.Name(), "err", err)
}

func (a *Adapter) publishJSON(channel string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return a.publish(channel, b)
}

// ServerCount returns the number of servers subscribed to the namespace's
// request channel, this one included.
// On a Redis Cluster it adds up the counts of every node, as Node's
// adapter does. It waits at most RequestsTimeout.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	return countSubscribers(ctx, a.rdb, a.opts.RequestsTimeout, a.reqChannel, redis.Cmdable.PubSubNumSub)
}

// countSubscribers returns the subscribers of channel (numsub is PUBSUB
// NUMSUB or SHARDNUMSUB), added up over the nodes of a Redis Cluster, as
// Node's adapters do, waiting at most timeout.
func countSubscribers(ctx context.Context, rdb redis.UniversalClient, timeout time.Duration, channel string,
	numsub func(redis.Cmdable, context.Context, ...string) *redis.MapStringIntCmd) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var mu sync.Mutex
	total := 0
	count := func(ctx context.Context, c redis.Cmdable) error {
		res, err := numsub(c, ctx, channel).Result()
		mu.Lock()
		total += int(res[channel])
		mu.Unlock()
		return err
	}
	var err error
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error { return count(ctx, c) })
	} else {
		err = count(ctx, rdb)
	}
	if err != nil {
		return 1, fmt.Errorf("redisadapter: server count: %w", err)
	}
	return total, nil
}

// Broadcast delivers pkt to the local sockets and publishes it for the
// other servers (unless Local).
func (a *Adapter) Broadcast(pkt *sioparser.Packet, opts adapter.BroadcastOptions) error {
	var err error
	if !opts.Flags.Local {
		err = a.publishBroadcast(pkt, opts)
	}
	_ = a.Memory.Broadcast(pkt, opts)
	return err
}

func (a *Adapter) publishBroadcast(pkt *sioparser.Packet, opts adapter.BroadcastOptions) error {
	wp, err := toWirePacket(pkt)
	if err != nil {
		return err
	}
	wp.ID = nil
	msg, err := encodeMsgpack([]any{a.uid, wp, toWireOpts(opts)})
	if err != nil {
		return err
	}
	channel := a.channel
	if len(opts.Rooms) == 1 {
		channel += opts.Rooms[0] + "#"
	}
	return a.publish(channel, msg)
}

func (a *Adapter) onBroadcast(channel string, payload []byte) {
	if room := strings.TrimSuffix(strings.TrimPrefix(channel, a.channel), "#"); room != "" {
		if !a.HasRoom(room) {
			return
		}
	}
	var parts []msgpack.RawMessage
	if err := decodeMsgpack(payload, &parts); err != nil || len(parts) < 3 {
		a.bad("broadcast", err)
		return
	}
	var uid string
	if err := decodeMsgpack(parts[0], &uid); err != nil {
		a.bad("broadcast uid", err)
		return
	}
	if uid == a.uid {
		return
	}
	var wp wirePacket
	var wo wireOpts
	if err := decodeMsgpack(parts[1], &wp); err != nil {
		a.bad("broadcast packet", err)
		return
	}
	if err := decodeMsgpack(parts[2], &wo); err != nil {
		a.bad("broadcast options", err)
		return
	}
	if wp.Nsp == "" {
		wp.Nsp = "/"
	}
	if wp.Nsp != a.host.Name() {
		return
	}
	pkt, err := wp.packet(a.host.Name())
	if err != nil {
		a.bad("broadcast packet", err)
		return
	}
	_ = a.Memory.Broadcast(pkt, wo.options())
}

// BroadcastWithAck delivers pkt locally and through the other servers, and
// reports the total of clients reached once every server has answered (or
// RequestsTimeout passed).
func (a *Adapter) BroadcastWithAck(pkt *sioparser.Packet, opts adapter.BroadcastOptions, clientCount func(int), ack func(sioparser.Args)) error {
	if opts.Flags.Local {
		return a.Memory.BroadcastWithAck(pkt, opts, clientCount, ack)
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	servers, err := a.ServerCount(ctx)
	cancel()
	if err != nil || servers <= 1 {
		return a.Memory.BroadcastWithAck(pkt, opts, clientCount, ack)
	}
	wp, err := toWirePacket(pkt)
	if err != nil {
		return err
	}
	wp.ID = nil // each server gives it its own
	wo := toWireOpts(opts)
	id, count, expire := a.expectAcks(servers, clientCount, ack)
	msg, err := encodeMsgpack(request{UID: a.uid, RequestID: id, Type: reqBroadcast, Packet: &wp, Opts: &wo})
	if err != nil {
		expire()
		return err
	}
	perr := a.publish(a.reqChannel, msg)
	_ = a.Memory.BroadcastWithAck(pkt, opts, count, ack)
	// Armed after the local count is in.
	a.armExpiry(id, ackTimeout(opts, a.opts.RequestsTimeout), expire)
	return perr
}

// Sockets returns the ids of the selected sockets across the cluster.
func (a *Adapter) Sockets(ctx context.Context, rooms []string) ([]string, error) {
	details, err := a.FetchSockets(ctx, adapter.BroadcastOptions{Rooms: rooms})
	ids := make([]string, 0, len(details))
	for _, d := range details {
		ids = append(ids, d.ID)
	}
	return ids, err
}

// FetchSockets returns the selected sockets of every server. When some
// server does not answer within RequestsTimeout (or ctx), it returns what
// came and adapter.ErrTimeout.
func (a *Adapter) FetchSockets(ctx context.Context, opts adapter.BroadcastOptions) ([]adapter.SocketDetails, error) {
	local, _ := a.Memory.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	servers, err := a.ServerCount(ctx)
	if err != nil || servers <= 1 {
		return local, err
	}
	p, err := a.request(ctx, request{Type: reqRemoteFetch, Opts: selection(opts)}, servers-1)
	if p == nil {
		return local, err
	}
	return append(local, p.sockets...), err
}

// request publishes r (with a new request id) and waits for want
// responses, RequestsTimeout or ctx. It returns what came.
func (a *Adapter) request(ctx context.Context, r request, want int) (*pending, error) {
	return a.await(ctx, r.Type, want, a.opts.RequestsTimeout, func(id string) error {
		r.UID, r.RequestID = a.uid, id
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return a.publishNow(a.reqChannel, b)
	})
}

// The socket operations apply here at once and reach the other servers
// through the request channel. (Node's adapter applies its own when the
// request comes back through its subscription; ours skips its own uid
// instead, so that a local change is done when the call returns. Both
// kinds of server act on each other's requests.)

// AddSockets makes the selected sockets of every server join rooms.
func (a *Adapter) AddSockets(opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.AddSockets(opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	return a.publishJSON(a.reqChannel, request{UID: a.uid, Type: reqRemoteJoin, Opts: selection(opts), Rooms: rooms})
}

// DelSockets makes the selected sockets of every server leave rooms.
func (a *Adapter) DelSockets(opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.DelSockets(opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	return a.publishJSON(a.reqChannel, request{UID: a.uid, Type: reqRemoteLeave, Opts: selection(opts), Rooms: rooms})
}

// DisconnectSockets disconnects the selected sockets of every server.
func (a *Adapter) DisconnectSockets(opts adapter.BroadcastOptions, close bool) error {
	_ = a.Memory.DisconnectSockets(opts, close)
	if opts.Flags.Local {
		return nil
	}
	return a.publishJSON(a.reqChannel, request{UID: a.uid, Type: reqRemoteDisconnect, Opts: selection(opts), Close: close})
}

// selection is the rooms and except of opts, for a request.
func selection(opts adapter.BroadcastOptions) *wireOpts {
	wo := toWireOpts(adapter.BroadcastOptions{Rooms: opts.Rooms, Except: opts.Except})
	wo.Flags = nil
	return &wo
}

// ServerSideEmit sends an event to the other servers' namespaces.
func (a *Adapter) ServerSideEmit(event string, args []any) error {
	data, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return err
	}
	return a.publishJSON(a.reqChannel, request{UID: a.uid, Type: reqServerSideEmit, Data: data})
}

// ServerSideEmitWithAck sends an event to the other servers and returns
// their answers (each the first argument of its ack, as Node sends it).
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([][]any, error) {
	servers, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if servers <= 1 {
		return [][]any{}, nil
	}
	data, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return nil, err
	}
	p, err := a.request(ctx, request{Type: reqServerSideEmit, Data: data}, servers-1)
	if p == nil {
		return nil, err
	}
	return p.answers, err
}

// onRequest handles a message of the request channel.
func (a *Adapter) onRequest(payload []byte) {
	var r request
	if len(payload) > 0 && payload[0] == '{' {
		if err := json.Unmarshal(payload, &r); err != nil {
			a.bad("request", err)
			return
		}
	} else if err := decodeMsgpack(payload, &r); err != nil {
		a.bad("request", err)
		return
	}
	var opts adapter.BroadcastOptions
	if r.Opts != nil {
		opts = adapter.BroadcastOptions{Rooms: r.Opts.Rooms, Except: r.Opts.Except}
	}
	switch r.Type {
	case reqRemoteJoin, reqRemoteLeave, reqRemoteDisconnect:
		if r.UID == a.uid {
			return // applied when it was sent
		}
		if r.Opts == nil {
			a.onLegacySocketRequest(r)
			return
		}
		// Socket operations may run the application's handlers (a
		// disconnect's): they run on the worker, not on the receiver.
		a.work(func() {
			switch r.Type {
			case reqRemoteJoin:
				_ = a.Memory.AddSockets(opts, r.Rooms)
			case reqRemoteLeave:
				_ = a.Memory.DelSockets(opts, r.Rooms)
			default:
				_ = a.Memory.DisconnectSockets(opts, r.Close)
			}
		})
	case reqRemoteFetch:
		if a.ownRequest(r.RequestID) {
			return
		}
		local, _ := a.Memory.FetchSockets(context.Background(), opts)
		sockets := make([]wireSocket, 0, len(local))
		for _, d := range local {
			sockets = append(sockets, toWireSocket(d))
		}
		a.respondJSON(r, map[string]any{"requestId": r.RequestID, "sockets": sockets})
	case reqAllRooms:
		if a.ownRequest(r.RequestID) {
			return
		}
		rooms := make([]string, 0)
		for room := range a.Rooms() {
			rooms = append(rooms, room)
		}
		a.respondJSON(r, map[string]any{"requestId": r.RequestID, "rooms": rooms})
	case reqSockets:
		if a.ownRequest(r.RequestID) {
			return
		}
		ids, _ := a.Memory.Sockets(context.Background(), r.Rooms)
		if ids == nil {
			ids = []string{}
		}
		a.respondJSON(r, map[string]any{"requestId": r.RequestID, "sockets": ids})
	case reqServerSideEmit:
		a.onServerSideEmit(r)
	case reqBroadcast:
		a.onBroadcastRequest(r)
	}
}

// onLegacySocketRequest handles the forms of socketsJoin/Leave and
// disconnectSockets that name one socket (sid, room), which Node's adapter
// still answers.
func (a *Adapter) onLegacySocketRequest(r request) {
	if r.SID == "" {
		return
	}
	sock, ok := a.host.Socket(r.SID)
	if !ok {
		return
	}
	a.work(func() {
		switch r.Type {
		case reqRemoteJoin:
			sock.Join(r.Room)
		case reqRemoteLeave:
			sock.Leave(r.Room)
		default:
			sock.Disconnect(r.Close)
		}
		if r.RequestID != "" {
			a.respondJSON(r, map[string]any{"requestId": r.RequestID})
		}
	})
}

// work runs fn on the adapter's worker goroutine, in order: the
// application's handlers (server-side events, disconnects) run there, so
// that the receiver goes on reading responses meanwhile (a handler may
// itself fetch sockets).
func (a *Adapter) work(fn func()) {
	select {
	case a.jobs <- fn:
	case <-a.closedCh:
	}
}

func (a *Adapter) worker() {
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

func (a *Adapter) responseChannel(r request) string {
	if a.opts.PublishOnSpecificResponseChannel && r.UID != "" {
		return a.resChannel + r.UID + "#"
	}
	return a.resChannel
}

func (a *Adapter) respondJSON(r request, v any) {
	_ = a.publishJSON(a.responseChannel(r), v)
}

func (a *Adapter) onServerSideEmit(r request) {
	if r.UID == a.uid {
		return
	}
	var data []any
	if err := json.Unmarshal(r.Data, &data); err != nil || len(data) == 0 {
		a.bad("serverSideEmit", err)
		return
	}
	event, ok := data[0].(string)
	if !ok {
		a.bad("serverSideEmit", fmt.Errorf("event name %T", data[0]))
		return
	}
	var ack func(args ...any)
	if r.RequestID != "" {
		var once sync.Once
		ack = func(args ...any) {
			once.Do(func() {
				var first any
				if len(args) > 0 {
					first = args[0]
				}
				b, err := json.Marshal(first)
				if err != nil {
					return
				}
				// Always the shared channel, as Node's adapter does.
				_ = a.publishJSON(a.resChannel, response{Type: reqServerSideEmit, RequestID: r.RequestID, Data: b})
			})
		}
	}
	args := data[1:]
	a.work(func() { a.host.OnServerSideEmit(event, args, ack) })
}

func (a *Adapter) onBroadcastRequest(r request) {
	if a.ackRequest(r.RequestID) != nil || r.UID == a.uid || r.Packet == nil {
		return
	}
	if r.Packet.Nsp == "" {
		r.Packet.Nsp = "/"
	}
	if r.Packet.Nsp != a.host.Name() {
		return
	}
	pkt, err := r.Packet.packet(a.host.Name())
	if err != nil {
		a.bad("broadcast with ack", err)
		return
	}
	var opts adapter.BroadcastOptions
	if r.Opts != nil {
		opts = adapter.BroadcastOptions{Rooms: r.Opts.Rooms, Except: r.Opts.Except}
	}
	pkt.ID, pkt.HasID = 0, false // the host gives it this server's ack id
	_ = a.Memory.BroadcastWithAck(pkt, opts,
		func(n int) {
			a.respondJSON(r, response{Type: reqBroadcastClientCount, RequestID: r.RequestID, ClientCount: &n})
		},
		func(args sioparser.Args) {
			var first any
			if vals, err := args.Values(); err == nil && len(vals) > 0 {
				first = vals[0]
			}
			msg, err := encodeMsgpack(response{Type: reqBroadcastAck, RequestID: r.RequestID, Packet: first})
			if err == nil {
				_ = a.publish(a.responseChannel(r), msg)
			}
		})
}

// onResponse handles a message of a response channel.
func (a *Adapter) onResponse(payload []byte) {
	var res response
	if len(payload) > 0 && payload[0] == '{' {
		if err := json.Unmarshal(payload, &res); err != nil {
			a.bad("response", err)
			return
		}
	} else if err := decodeMsgpack(payload, &res); err != nil {
		a.bad("response", err)
		return
	}
	a.mu.Lock()
	if ar := a.ackRequests[res.RequestID]; ar != nil {
		a.mu.Unlock()
		switch {
		case res.Type == reqBroadcastClientCount && res.ClientCount != nil:
			ar.clientCount(*res.ClientCount)
		case res.Type == reqBroadcastAck:
			var vals []any
			if res.Packet != nil {
				vals = append(vals, normalizeValue(res.Packet))
			}
			p, err := sioparser.NewAck("/", 0, vals...)
			if err != nil {
				return
			}
			if args, err := sioparser.ParseArgs(p); err == nil {
				ar.ack(args)
			}
		}
		return
	}
	p := a.requests[res.RequestID]
	if p == nil {
		a.mu.Unlock()
		return
	}
	switch p.typ {
	case reqRemoteFetch:
		var sockets []wireSocket
		if err := json.Unmarshal(res.Sockets, &sockets); err != nil {
			a.mu.Unlock()
			a.bad("fetchSockets response", err)
			return
		}
		for _, s := range sockets {
			p.sockets = append(p.sockets, s.details())
		}
	case reqServerSideEmit:
		var v any
		if len(res.Data) > 0 {
			_ = json.Unmarshal(res.Data, &v)
		}
		p.answers = append(p.answers, []any{v})
	}
	p.answered()
	a.mu.Unlock()
}

var _ adapter.Adapter = (*Adapter)(nil)
