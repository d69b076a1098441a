package socketio

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/internal/sid"
	"github.com/wsio/wsio/sioparser"
)

// Middleware runs for every socket that connects to a namespace, before it
// is admitted. A non-nil error refuses it with CONNECT_ERROR: the message
// is err.Error(), or a *ConnectError's Message and Data.
type Middleware func(s *Socket) error

// ConnectError refuses a connection with a message and optional data, sent
// to the client in its CONNECT_ERROR packet.
type ConnectError struct {
	Message string
	Data    any
}

// Error implements error.
func (e *ConnectError) Error() string { return e.Message }

// Namespace is a communication channel that multiplexes sockets over the
// connections (Node: Namespace). The main namespace is "/".
type Namespace struct {
	srv     *Server
	name    string
	adapter adapter.Adapter
	parent  *ParentNamespace
	ackIDs  atomic.Uint64

	mu          sync.RWMutex
	sockets     map[string]*Socket
	middlewares []Middleware
	onConnect   []func(*Socket)
	sse         map[string]handlerList
	roomEvents  map[string][]func(room, id string)
}

func newNamespace(srv *Server, name string, parent *ParentNamespace) *Namespace {
	n := &Namespace{srv: srv, name: name, parent: parent, sockets: map[string]*Socket{},
		sse: map[string]handlerList{}, roomEvents: map[string][]func(string, string){}}
	n.adapter = srv.cfg.Adapter(namespaceHost{n})
	if err := n.adapter.Init(context.Background()); err != nil {
		srv.cfg.logger.Error("socketio: adapter init", "nsp", name, "err", err)
	}
	return n
}

// Name returns the namespace's name. It implements adapter.Host.
func (n *Namespace) Name() string { return n.name }

// Adapter returns the namespace's adapter.
func (n *Namespace) Adapter() adapter.Adapter { return n.adapter }

// Server returns the server the namespace belongs to.
func (n *Namespace) Server() *Server { return n.srv }

// Use adds a middleware. Middlewares run in the order they were added.
func (n *Namespace) Use(mw Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, mw)
	n.mu.Unlock()
}

// OnConnection adds a handler called with every admitted socket, on the
// goroutine that reads its connection, before any of its events is
// delivered: set the socket's handlers there.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.mu.Lock()
	n.onConnect = append(n.onConnect, fn)
	n.mu.Unlock()
}

// OnServerSideEmit adds a handler for events other servers send with
// ServerSideEmit. Its parameters decode as an event handler's; a last
// parameter of type Ack answers a ServerSideEmitWithAck.
func (n *Namespace) OnServerSideEmit(event string, fn any) {
	h := newHandler(fn)
	n.mu.Lock()
	n.sse[event] = append(n.sse[event], h)
	n.mu.Unlock()
}

// OnRoomEvent adds a handler for the adapter's room events: "create-room",
// "delete-room", "join-room" and "leave-room".
func (n *Namespace) OnRoomEvent(event string, fn func(room, id string)) {
	n.mu.Lock()
	n.roomEvents[event] = append(n.roomEvents[event], fn)
	n.mu.Unlock()
}

// Sockets returns the namespace's local sockets.
func (n *Namespace) Sockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// Socket implements adapter.Host: the local socket with id.
func (n *Namespace) Socket(id string) (adapter.Socket, bool) {
	n.mu.RLock()
	s, ok := n.sockets[id]
	n.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return s, true
}

// Deliver implements adapter.Host: pkt is encoded once and written to each
// socket.
func (n *Namespace) Deliver(pkt *sioparser.Packet, sockets []adapter.Socket, flags adapter.BroadcastFlags) {
	if len(sockets) == 0 {
		return
	}
	if len(sockets) == 1 {
		s := sockets[0].(*Socket)
		s.notifyOutgoing(pkt)
		s.client.send(pkt, flags)
		return
	}
	e := encodeShared(pkt, flags)
	for _, as := range sockets {
		s := as.(*Socket)
		s.notifyOutgoing(pkt)
		s.client.sendShared(e, flags)
	}
}

// DeliverWithAck implements adapter.Host.
func (n *Namespace) DeliverWithAck(pkt *sioparser.Packet, sockets []adapter.Socket, flags adapter.BroadcastFlags, ack func(sioparser.Args)) {
	if !pkt.HasID {
		// From another server: this namespace's own ack id.
		cp := *pkt
		cp.ID, cp.HasID = n.nextAckID(), true
		pkt = &cp
	}
	for _, as := range sockets {
		as.(*Socket).expectAck(pkt.ID, func(args sioparser.Args, err error) {
			if err == nil {
				ack(args)
			}
		})
	}
	n.Deliver(pkt, sockets, flags)
}

// onServerSideEmit delivers a server-side event to the namespace's
// handlers.
func (n *Namespace) onServerSideEmit(event string, args []any, ack func(args ...any)) {
	n.mu.RLock()
	hs := n.sse[event]
	n.mu.RUnlock()
	var a Ack
	if ack != nil {
		var once sync.Once
		a = func(out ...any) error {
			sent := false
			once.Do(func() { sent = true; ack(out...) })
			if !sent {
				return ErrAlreadyAcked
			}
			return nil
		}
	}
	for _, h := range hs {
		if err := callValues(h, args, orNoAck(a)); err != nil {
			n.srv.cfg.logger.Warn("socketio: server-side event", "nsp", n.name, "event", event, "err", err)
		}
	}
}

// RoomEvent implements adapter.Host.
func (n *Namespace) RoomEvent(event, room, id string) {
	n.mu.RLock()
	hs := n.roomEvents[event]
	n.mu.RUnlock()
	for _, fn := range hs {
		fn(room, id)
	}
}

// namespaceHost is the Namespace as its adapter sees it (adapter.Host):
// OnServerSideEmit there delivers events, while on Namespace it registers
// handlers, as Node users expect.
type namespaceHost struct{ *Namespace }

var _ adapter.Host = namespaceHost{}

// OnServerSideEmit implements adapter.Host.
func (h namespaceHost) OnServerSideEmit(event string, args []any, ack func(args ...any)) {
	h.onServerSideEmit(event, args, ack)
}

func (n *Namespace) nextAckID() uint64 { return n.ackIDs.Add(1) - 1 }

// admit runs the CONNECT of c to this namespace.
func (n *Namespace) admit(c *client, auth map[string]any) {
	s := n.newSocket(c, auth)
	rec := n.srv.cfg.ConnectionStateRecovery
	if !(s.recovered && rec != nil && rec.SkipMiddlewares) {
		n.mu.RLock()
		mws := append([]Middleware(nil), n.middlewares...)
		if n.parent != nil {
			mws = append(n.parent.middlewares(), mws...)
		}
		n.mu.RUnlock()
		for _, mw := range mws {
			if err := mw(s); err != nil {
				c.connectError(n.name, err)
				n.cleanupIfEmpty()
				return
			}
		}
	}
	if !c.add(s) {
		return
	}
	n.mu.Lock()
	n.sockets[s.id] = s
	handlers := slices.Clone(n.onConnect)
	n.mu.Unlock()
	if n.parent != nil {
		handlers = append(n.parent.connectionHandlers(), handlers...)
	}
	s.onConnect()
	for _, fn := range handlers {
		fn(s)
	}
}

// newSocket builds the socket for a CONNECT, restoring its session when
// the client asks for recovery and the adapter still has it.
func (n *Namespace) newSocket(c *client, auth map[string]any) *Socket {
	s := &Socket{nsp: n, client: c}
	s.handshake = buildHandshake(c, auth)
	if n.srv.cfg.ConnectionStateRecovery != nil {
		pid, _ := auth["pid"].(string)
		offset, _ := auth["offset"].(string)
		if pid != "" && offset != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			sess, err := n.adapter.RestoreSession(ctx, pid, offset)
			cancel()
			if err == nil && sess != nil {
				s.id, s.pid, s.data = sess.SID, sess.PID, sess.Data
				s.restoredRooms = sess.Rooms
				s.missed = sess.MissedPackets
				s.recovered = true
				return s
			}
		}
		s.pid = newID()
	}
	s.id = newID()
	return s
}

func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.mu.Unlock()
	n.cleanupIfEmpty()
}

// cleanupIfEmpty removes a child namespace without sockets, when the
// server is configured to.
func (n *Namespace) cleanupIfEmpty() {
	if n.parent == nil || !n.srv.cfg.CleanupEmptyChildNamespaces {
		return
	}
	n.mu.RLock()
	empty := len(n.sockets) == 0
	n.mu.RUnlock()
	if empty {
		n.parent.removeChild(n)
	}
}

// newID returns a socket id as Node makes them.
func newID() string { return sid.New() }

func buildHandshake(c *client, auth map[string]any) adapter.Handshake {
	h := c.handshake()
	now := time.Now()
	h.Time = now.Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)")
	h.Issued = now.UnixMilli()
	h.Auth = auth
	return h
}

// Broadcast entry points of a namespace.

func (n *Namespace) operator() *BroadcastOperator { return &BroadcastOperator{nsp: n} }

// To selects the sockets in rooms for a broadcast.
func (n *Namespace) To(rooms ...string) *BroadcastOperator { return n.operator().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...string) *BroadcastOperator { return n.To(rooms...) }

// Except excludes the sockets in rooms from a broadcast.
func (n *Namespace) Except(rooms ...string) *BroadcastOperator { return n.operator().Except(rooms...) }

// Volatile marks a broadcast whose packets may be dropped for clients that
// are not ready.
func (n *Namespace) Volatile() *BroadcastOperator { return n.operator().Volatile() }

// Local restricts a broadcast to this server.
func (n *Namespace) Local() *BroadcastOperator { return n.operator().Local() }

// Compress sets the compress flag of a broadcast.
func (n *Namespace) Compress(on bool) *BroadcastOperator { return n.operator().Compress(on) }

// Timeout bounds the acknowledgements of EmitWithAck.
func (n *Namespace) Timeout(d time.Duration) *BroadcastOperator { return n.operator().Timeout(d) }

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.operator().Emit(event, args...) }

// EmitWithAck sends an event to every socket and collects their answers.
func (n *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]sioparser.Args, error) {
	return n.operator().EmitWithAck(ctx, event, args...)
}

// FetchSockets returns the sockets of the namespace, across the cluster.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return n.operator().FetchSockets(ctx)
}

// SocketsJoin makes every socket join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) error { return n.operator().SocketsJoin(rooms...) }

// SocketsLeave makes every socket leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) error { return n.operator().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket; close also closes their
// connections.
func (n *Namespace) DisconnectSockets(close bool) error { return n.operator().DisconnectSockets(close) }

// ServerSideEmit sends an event to the other servers of the cluster.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	if isReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	return n.adapter.ServerSideEmit(event, args)
}

// ServerSideEmitWithAck sends an event to the other servers and returns
// each one's answer.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([][]any, error) {
	if isReserved(event) {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	return n.adapter.ServerSideEmitWithAck(ctx, event, args)
}

// ParentNamespace groups the dynamic namespaces created for the names it
// matches; its middlewares and connection handlers apply to all of them.
type ParentNamespace struct {
	srv   *Server
	match func(name string, auth map[string]any) bool

	mu       sync.Mutex
	mws      []Middleware
	handlers []func(*Socket)
	children map[string]*Namespace
}

func newParentNamespace(srv *Server, match func(string, map[string]any) bool) *ParentNamespace {
	return &ParentNamespace{srv: srv, match: match, children: map[string]*Namespace{}}
}

// Use adds a middleware to every child namespace.
func (p *ParentNamespace) Use(mw Middleware) {
	p.mu.Lock()
	p.mws = append(p.mws, mw)
	p.mu.Unlock()
}

// OnConnection adds a connection handler to every child namespace.
func (p *ParentNamespace) OnConnection(fn func(*Socket)) {
	p.mu.Lock()
	p.handlers = append(p.handlers, fn)
	p.mu.Unlock()
}

// Children returns the child namespaces that exist now.
func (p *ParentNamespace) Children() []*Namespace {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Namespace, 0, len(p.children))
	for _, n := range p.children {
		out = append(out, n)
	}
	return out
}

// Emit sends an event to every socket of every child namespace.
func (p *ParentNamespace) Emit(event string, args ...any) error {
	for _, n := range p.Children() {
		if err := n.Emit(event, args...); err != nil {
			return err
		}
	}
	return nil
}

func (p *ParentNamespace) middlewares() []Middleware {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Middleware(nil), p.mws...)
}

func (p *ParentNamespace) connectionHandlers() []func(*Socket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.handlers)
}

// child returns the child namespace called name, creating it.
func (p *ParentNamespace) child(name string) *Namespace {
	p.srv.mu.Lock()
	defer p.srv.mu.Unlock()
	if n, ok := p.srv.nsps[name]; ok {
		return n
	}
	n := newNamespace(p.srv, name, p)
	p.srv.nsps[name] = n
	p.mu.Lock()
	p.children[name] = n
	p.mu.Unlock()
	return n
}

func (p *ParentNamespace) removeChild(n *Namespace) {
	p.mu.Lock()
	if p.children[n.name] == n {
		delete(p.children, n.name)
	}
	p.mu.Unlock()
	p.srv.removeNamespace(n)
	_ = n.adapter.Close()
}
