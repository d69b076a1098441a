package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
)

// Message types of socket.io-adapter's ClusterAdapter, which
// @socket.io/redis-streams-adapter 0.3.x and the sharded adapter of
// @socket.io/redis-adapter 8.3.0 use.
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

// clusterMessage is a message of the ClusterAdapter protocol.
type clusterMessage struct {
	UID  string         `msgpack:"uid,omitempty" json:"uid,omitempty"`
	Nsp  string         `msgpack:"nsp,omitempty" json:"nsp,omitempty"`
	Type int            `msgpack:"type" json:"type"`
	Data map[string]any `msgpack:"data,omitempty" json:"data,omitempty"`
}

// isResponse reports whether a message of type typ answers a request.
func isResponse(typ int) bool {
	switch typ {
	case ctFetchSocketsResponse, ctServerSideEmitResp, ctBroadcastClientCount, ctBroadcastAck:
		return true
	}
	return false
}

// mayCarryBinary reports whether a message of type typ may hold binary
// data, which Node's cluster adapters encode with msgpack.
func mayCarryBinary(typ int) bool {
	switch typ {
	case ctBroadcast, ctFetchSocketsResponse, ctServerSideEmit, ctServerSideEmitResp, ctBroadcastAck:
		return true
	}
	return false
}

// clusterNet is how a cluster adapter reaches the other servers.
type clusterNet interface {
	// ServerCount returns the number of servers of the namespace.
	ServerCount(ctx context.Context) (int, error)
	// publishRequest sends m (fetchSockets, serverSideEmit, a broadcast
	// with acks), with the sender's uid and namespace, to every server.
	publishRequest(m clusterMessage) error
	// respond sends m, an answer, to the server whose uid is requester.
	respond(requester string, m clusterMessage)
}

// clusterNode is the part of socket.io-adapter's ClusterAdapter protocol
// that does not depend on how messages travel: requests to the other
// servers and their answers, broadcasts with acks, and the handling of
// each message type. The Streams and the sharded adapters embed it.
type clusterNode struct {
	*adapter.Memory
	host            adapter.Host
	uid             string
	stats           *Stats
	requestsTimeout time.Duration
	net             clusterNet
	recovery        bool // broadcasts carry offsets (MaxDisconnectionDuration > 0)

	jobs     chan func() // server-side events (the application's handlers)
	workDone chan struct{}

	requestTable
}

func newClusterNode(mem *adapter.Memory, host adapter.Host, uid string, stats *Stats, timeout time.Duration) *clusterNode {
	return &clusterNode{Memory: mem, host: host, uid: uid, stats: stats, requestsTimeout: timeout, requestTable: newRequestTable()}
}

// startWorker starts the goroutine that runs the application's handlers
// of server-side events, so that a handler may itself make requests.
func (c *clusterNode) startWorker() {
	c.jobs, c.workDone = make(chan func(), 256), make(chan struct{})
	go func() {
		defer close(c.workDone)
		for {
			select {
			case fn := <-c.jobs:
				fn()
			case <-c.closedCh:
				return
			}
		}
	}()
}

func (c *clusterNode) work(fn func()) {
	select {
	case c.jobs <- fn:
	case <-c.closedCh:
	}
}

// Sockets returns the ids of the selected sockets across the cluster.
func (c *clusterNode) Sockets(ctx context.Context, rooms []string) ([]string, error) {
	details, err := c.FetchSockets(ctx, adapter.BroadcastOptions{Rooms: rooms})
	ids := make([]string, 0, len(details))
	for _, d := range details {
		ids = append(ids, d.ID)
	}
	return ids, err
}

// request publishes m with a new request id and waits for want answers,
// timeout, ctx or Close.
func (c *clusterNode) request(ctx context.Context, m clusterMessage, want int, timeout time.Duration) (*pending, error) {
	return c.await(ctx, m.Type, want, timeout, func(id string) error {
		m.Data["requestId"] = id
		return c.net.publishRequest(m)
	})
}

// FetchSockets returns the selected sockets of every server.
func (c *clusterNode) FetchSockets(ctx context.Context, opts adapter.BroadcastOptions) ([]adapter.SocketDetails, error) {
	local, _ := c.Memory.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	servers, err := c.net.ServerCount(ctx)
	if err != nil || servers <= 1 {
		return local, err
	}
	timeout := ackTimeout(opts, c.requestsTimeout) // as Node: opts.flags.timeout || 5000
	p, err := c.request(ctx, clusterMessage{Type: ctFetchSockets, Data: map[string]any{"opts": optsOf(opts)}}, servers-1, timeout)
	if p == nil {
		return local, err
	}
	return append(local, p.sockets...), err
}

// ServerSideEmit sends an event to the other servers.
func (c *clusterNode) ServerSideEmit(event string, args []any) error {
	return c.net.publishRequest(clusterMessage{Type: ctServerSideEmit, Data: map[string]any{"packet": append([]any{event}, args...)}})
}

// ServerSideEmitWithAck sends an event to the other servers and returns
// their answers.
func (c *clusterNode) ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([][]any, error) {
	servers, err := c.net.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if servers <= 1 {
		return [][]any{}, nil
	}
	p, err := c.request(ctx, clusterMessage{Type: ctServerSideEmit, Data: map[string]any{"packet": append([]any{event}, args...)}}, servers-1, c.requestsTimeout)
	if p == nil {
		return nil, err
	}
	return p.answers, err
}

// BroadcastWithAck delivers pkt locally and through the other servers,
// and reports the total of clients reached once every server has
// answered, or at the timeout.
func (c *clusterNode) BroadcastWithAck(pkt *sioparser.Packet, opts adapter.BroadcastOptions, clientCount func(int), ack func(sioparser.Args)) error {
	if opts.Flags.Local {
		return c.Memory.BroadcastWithAck(pkt, opts, clientCount, ack)
	}
	servers, err := c.net.ServerCount(context.Background())
	if err != nil || servers <= 1 {
		return c.Memory.BroadcastWithAck(pkt, opts, clientCount, ack)
	}
	wp, err := wireOf(pkt)
	if err != nil {
		return err
	}
	delete(wp, "id")
	id, count, expire := c.expectAcks(servers, clientCount, ack)
	perr := c.net.publishRequest(clusterMessage{Type: ctBroadcast, Data: map[string]any{"packet": wp, "requestId": id, "opts": optsOf(opts)}})
	_ = c.Memory.BroadcastWithAck(pkt, opts, count, ack)
	// Armed after the local count is in.
	c.armExpiry(id, ackTimeout(opts, c.requestsTimeout), expire)
	return perr
}

// onMessage handles a message from another server of the namespace, as
// ClusterAdapter.onMessage and onResponse do. offset is the stream entry
// id of a broadcast (Streams adapter), or empty.
func (c *clusterNode) onMessage(m clusterMessage, offset string) {
	requestID, _ := m.Data["requestId"].(string)
	if isResponse(m.Type) {
		c.onResponse(m, requestID)
		return
	}
	if m.UID == c.uid || m.Nsp != c.host.Name() {
		return
	}
	opts := optsFrom(m.Data["opts"])
	switch m.Type {
	case ctBroadcast:
		if requestID != "" {
			c.broadcastForAck(m, requestID, opts)
			return
		}
		pm, _ := m.Data["packet"].(map[string]any)
		if _, hasID := pm["id"]; hasID || !c.recovery || opts.Flags.Volatile {
			offset = ""
		}
		pkt, err := packetFrom(m.Data["packet"], c.host.Name(), offset)
		if err != nil {
			c.stats.BadMessages.Add(1)
			return
		}
		_ = c.Memory.Broadcast(pkt, opts)
	case ctSocketsJoin:
		_ = c.Memory.AddSockets(opts, roomsFrom(m.Data["rooms"]))
	case ctSocketsLeave:
		_ = c.Memory.DelSockets(opts, roomsFrom(m.Data["rooms"]))
	case ctDisconnectSockets:
		closeConn, _ := m.Data["close"].(bool)
		_ = c.Memory.DisconnectSockets(opts, closeConn)
	case ctFetchSockets:
		c.answerFetch(m.UID, requestID, opts)
	case ctServerSideEmit:
		c.serverSideEvent(m, requestID)
	}
}

// broadcastForAck delivers another server's broadcast with acks and
// sends it the client count and each client's answer.
func (c *clusterNode) broadcastForAck(m clusterMessage, requestID string, opts adapter.BroadcastOptions) {
	pkt, err := packetFrom(m.Data["packet"], c.host.Name(), "")
	if err != nil {
		c.stats.BadMessages.Add(1)
		return
	}
	pkt.ID, pkt.HasID = 0, false // the host gives it this server's ack id
	requester := m.UID
	_ = c.Memory.BroadcastWithAck(pkt, opts,
		func(n int) {
			c.net.respond(requester, clusterMessage{Type: ctBroadcastClientCount, Data: map[string]any{"requestId": requestID, "clientCount": n}})
		},
		func(args sioparser.Args) {
			data := map[string]any{"requestId": requestID}
			if vals, err := args.Values(); err == nil && len(vals) > 0 {
				data["packet"] = vals[0]
			}
			c.net.respond(requester, clusterMessage{Type: ctBroadcastAck, Data: data})
		})
}

// answerFetch sends this server's selected sockets to the requester.
func (c *clusterNode) answerFetch(requester, requestID string, opts adapter.BroadcastOptions) {
	local, _ := c.Memory.FetchSockets(context.Background(), opts)
	sockets := make([]any, 0, len(local))
	for _, d := range local {
		b, _ := json.Marshal(toWireSocket(d))
		var v any
		_ = json.Unmarshal(b, &v)
		sockets = append(sockets, v)
	}
	c.net.respond(requester, clusterMessage{Type: ctFetchSocketsResponse, Data: map[string]any{"requestId": requestID, "sockets": sockets}})
}

// serverSideEvent hands another server's serverSideEmit to the
// namespace's handlers, on the worker.
func (c *clusterNode) serverSideEvent(m clusterMessage, requestID string) {
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
				c.net.respond(requester, clusterMessage{Type: ctServerSideEmitResp, Data: data})
			})
		}
	}
	c.work(func() { c.host.OnServerSideEmit(event, args, ackFn) })
}

// onResponse adds a response to the request or the broadcast with acks it
// answers; responses to nothing known are dropped.
func (c *clusterNode) onResponse(m clusterMessage, requestID string) {
	if ar := c.ackRequest(requestID); ar != nil {
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
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.requests[requestID]
	if p == nil {
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
		return
	}
	p.answered()
}

// wireOf converts a packet to its wire form.
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
