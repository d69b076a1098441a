package socketio

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
)

// Errors of socket operations.
var (
	ErrReservedEvent = errors.New("socketio: reserved event name")
	ErrDisconnected  = errors.New("socketio: socket disconnected")
)

// maxInbox bounds the events of one socket waiting for its handlers.
const maxInbox = 1024

func isReserved(event string) bool { return sioparser.IsReserved(event) }

// Handshake describes how a socket connected (Node: socket.handshake).
type Handshake = adapter.Handshake

// AnyHandler receives every event: its name and its arguments.
type AnyHandler func(event string, args sioparser.Args)

// Socket is one client connected to one namespace (Node: Socket). It sends
// events to that client and receives its events. Every method is safe for
// concurrent use. The client's events reach the handlers one at a time, in
// the order sent, on a goroutine that exists while there are events to
// deliver.
type Socket struct {
	nsp       *Namespace
	client    *client
	id        string
	pid       string
	handshake adapter.Handshake
	recovered bool

	restoredRooms []string
	missed        []*sioparser.Packet

	mu              sync.Mutex
	connected       bool
	data            any
	handlers        map[string]handlerList
	anyIn           []AnyHandler
	anyOut          []AnyHandler
	packetMWs       []func(event string, args sioparser.Args) error
	onDisconnect    []func(reason string)
	onDisconnecting []func(reason string)
	onError         []func(error)
	acks            map[uint64]func(sioparser.Args, error)
	inbox           []*sioparser.Packet
	dispatching     bool
	leaving         bool       // the client sent DISCONNECT
	inboxRoom       *sync.Cond // signalled when the inbox shrinks or the socket closes
}

// ID returns the socket's id, also the name of its own room.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns the details of the connection.
func (s *Socket) Handshake() Handshake { return s.handshake }

// Recovered reports whether the socket's session was restored by
// connection state recovery.
func (s *Socket) Recovered() bool { return s.recovered }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Transport returns the name of the connection's current transport.
func (s *Socket) Transport() string { return s.client.sess.Transport() }

// Data returns the socket's data (Node: socket.data), kept across a
// recovered reconnection and sent with FetchSockets.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// SetData sets the socket's data.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// Rooms returns the rooms the socket is in, its own room included.
func (s *Socket) Rooms() []string { return s.nsp.adapter.SocketRooms(s.id) }

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) { s.nsp.adapter.AddAll(s.id, rooms...) }

// Leave removes the socket from room.
func (s *Socket) Leave(room string) { s.nsp.adapter.Del(s.id, room) }

// Details implements adapter.Socket.
func (s *Socket) Details() adapter.SocketDetails {
	return adapter.SocketDetails{ID: s.id, Handshake: s.handshake, Rooms: s.Rooms(), Data: s.Data()}
}

// On adds a handler for event. fn is a func whose parameters are decoded
// from the event's arguments (JSON into Go values, binary attachments into
// []byte); a last parameter of type Ack answers the event. Arguments that
// do not fit are reported to the OnError handlers, and fn is not called.
func (s *Socket) On(event string, fn any) {
	s.addHandler(event, newHandler(fn))
}

func (s *Socket) addHandler(event string, h *eventHandler) {
	s.mu.Lock()
	if s.handlers == nil {
		s.handlers = map[string]handlerList{}
	}
	s.handlers[event] = append(s.handlers[event], h)
	s.mu.Unlock()
}

// Once adds a handler called for the next event only.
func (s *Socket) Once(event string, fn any) {
	h := newHandler(fn)
	h.Once = true
	s.addHandler(event, h)
}

// Off removes the handler fn of event, or all its handlers when fn is nil.
func (s *Socket) Off(event string, fn any) {
	s.mu.Lock()
	if hs := s.handlers[event].Without(fn); len(hs) > 0 {
		s.handlers[event] = hs
	} else {
		delete(s.handlers, event)
	}
	s.mu.Unlock()
}

// OnAny adds a handler called with every incoming event, before the
// event's own handlers.
func (s *Socket) OnAny(fn AnyHandler) {
	s.mu.Lock()
	s.anyIn = append(s.anyIn, fn)
	s.mu.Unlock()
}

// PrependAny adds a handler called before the other OnAny handlers.
func (s *Socket) PrependAny(fn AnyHandler) {
	s.mu.Lock()
	s.anyIn = append([]AnyHandler{fn}, s.anyIn...)
	s.mu.Unlock()
}

// OffAny removes every OnAny handler.
func (s *Socket) OffAny() {
	s.mu.Lock()
	s.anyIn = nil
	s.mu.Unlock()
}

// OnAnyOutgoing adds a handler called with every event sent to the client.
func (s *Socket) OnAnyOutgoing(fn AnyHandler) {
	s.mu.Lock()
	s.anyOut = append(s.anyOut, fn)
	s.mu.Unlock()
}

// OffAnyOutgoing removes every OnAnyOutgoing handler.
func (s *Socket) OffAnyOutgoing() {
	s.mu.Lock()
	s.anyOut = nil
	s.mu.Unlock()
}

// Use adds a packet middleware: it sees every incoming event first and may
// stop it by returning an error, which goes to the OnError handlers.
func (s *Socket) Use(fn func(event string, args sioparser.Args) error) {
	s.mu.Lock()
	s.packetMWs = append(s.packetMWs, fn)
	s.mu.Unlock()
}

// OnDisconnecting adds a handler called when the socket is about to
// disconnect, while it is still in its rooms.
func (s *Socket) OnDisconnecting(fn func(reason string)) {
	s.mu.Lock()
	s.onDisconnecting = append(s.onDisconnecting, fn)
	s.mu.Unlock()
}

// OnDisconnect adds a handler called once the socket has disconnected,
// with Node's reason string.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// OnError adds a handler for errors about the socket's events: arguments
// that do not fit a handler, a packet middleware's refusal.
func (s *Socket) OnError(fn func(error)) {
	s.mu.Lock()
	s.onError = append(s.onError, fn)
	s.mu.Unlock()
}

func (s *Socket) reportError(err error) {
	s.mu.Lock()
	hs := slices.Clone(s.onError)
	s.mu.Unlock()
	if len(hs) == 0 {
		s.nsp.srv.cfg.logger.Warn("socketio: event error", "nsp", s.nsp.name, "sid", s.id, "err", err)
	}
	for _, fn := range hs {
		fn(err)
	}
}

// emitter holds the flags of a socket's emit.
type emitter struct {
	s     *Socket
	flags adapter.BroadcastFlags
}

// Volatile returns an emitter whose events may be dropped when the client
// is not ready to receive them.
func (s *Socket) Volatile() *Emitter {
	return &Emitter{emitter{s: s, flags: adapter.BroadcastFlags{Volatile: true}}}
}

// Compress returns an emitter with the compress flag set to on.
func (s *Socket) Compress(on bool) *Emitter {
	return &Emitter{emitter{s: s, flags: adapter.BroadcastFlags{NoCompress: !on}}}
}

// Timeout returns an emitter whose EmitWithAck waits at most d.
func (s *Socket) Timeout(d time.Duration) *Emitter {
	return &Emitter{emitter{s: s, flags: adapter.BroadcastFlags{Timeout: d}}}
}

// Emitter sends events to one socket's client with flags.
type Emitter struct{ emitter }

// Volatile sets the volatile flag.
func (e *Emitter) Volatile() *Emitter { e.flags.Volatile = true; return e }

// Compress sets the compress flag.
func (e *Emitter) Compress(on bool) *Emitter { e.flags.NoCompress = !on; return e }

// Timeout sets the acknowledgement timeout.
func (e *Emitter) Timeout(d time.Duration) *Emitter { e.flags.Timeout = d; return e }

// Emit sends an event to the client.
func (e *Emitter) Emit(event string, args ...any) error { return e.s.emit(e.flags, event, args) }

// EmitWithAck sends an event and waits for the client's answer.
func (e *Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (sioparser.Args, error) {
	return e.s.emitWithAck(ctx, e.flags, event, args)
}

// Emit sends an event to the client. Arguments are encoded as JSON; []byte
// values, at any depth, travel as binary attachments.
func (s *Socket) Emit(event string, args ...any) error {
	return s.emit(adapter.BroadcastFlags{}, event, args)
}

// EmitWithAck sends an event and waits for the client's answer, until ctx
// ends or the socket disconnects.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (sioparser.Args, error) {
	return s.emitWithAck(ctx, adapter.BroadcastFlags{}, event, args)
}

func (s *Socket) emit(flags adapter.BroadcastFlags, event string, args []any) error {
	if isReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	pkt, err := sioparser.NewEvent(s.nsp.name, event, args...)
	if err != nil {
		return err
	}
	if s.nsp.srv.cfg.ConnectionStateRecovery != nil {
		// Through the adapter, so that the packet gets an offset and is
		// kept for recovery, as in Node.
		return s.nsp.adapter.Broadcast(pkt, adapter.BroadcastOptions{Rooms: []string{s.id}, Flags: flags})
	}
	s.notifyOutgoing(pkt)
	s.client.send(pkt, flags)
	return nil
}

func (s *Socket) emitWithAck(ctx context.Context, flags adapter.BroadcastFlags, event string, args []any) (sioparser.Args, error) {
	if isReserved(event) {
		return sioparser.Args{}, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	pkt, err := sioparser.NewEvent(s.nsp.name, event, args...)
	if err != nil {
		return sioparser.Args{}, err
	}
	if flags.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, flags.Timeout)
		defer cancel()
	}
	type result struct {
		args sioparser.Args
		err  error
	}
	ch := make(chan result, 1)
	pkt.ID, pkt.HasID = s.nsp.nextAckID(), true
	if !s.expectAck(pkt.ID, func(a sioparser.Args, err error) { ch <- result{a, err} }) {
		return sioparser.Args{}, ErrDisconnected
	}
	s.notifyOutgoing(pkt)
	s.client.send(pkt, flags)
	// A handler waiting for its own client's answer must not hold up the
	// reader that will bring it.
	s.client.releaseReader()
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.acks, pkt.ID)
		s.mu.Unlock()
		return sioparser.Args{}, ctx.Err()
	}
}

// expectAck registers fn for the answer to ack id; false when the socket
// is disconnected.
func (s *Socket) expectAck(id uint64, fn func(sioparser.Args, error)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return false
	}
	if s.acks == nil {
		s.acks = map[uint64]func(sioparser.Args, error){}
	}
	s.acks[id] = fn
	return true
}

func (s *Socket) notifyOutgoing(pkt *sioparser.Packet) {
	s.mu.Lock()
	hs := s.anyOut
	s.mu.Unlock()
	if len(hs) == 0 || (pkt.Type != sioparser.Event && pkt.Type != sioparser.BinaryEvent) {
		return
	}
	name, args, err := sioparser.ParseEvent(pkt)
	if err != nil {
		return
	}
	for _, fn := range hs {
		fn(name, args)
	}
}

// Broadcast returns an operator that sends to every socket of the
// namespace except this one.
func (s *Socket) Broadcast() *BroadcastOperator {
	return &BroadcastOperator{nsp: s.nsp, except: []string{s.id}}
}

// To returns an operator that sends to the sockets in rooms, except this
// one.
func (s *Socket) To(rooms ...string) *BroadcastOperator { return s.Broadcast().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...string) *BroadcastOperator { return s.To(rooms...) }

// Except returns an operator that sends to every socket except this one
// and those in rooms.
func (s *Socket) Except(rooms ...string) *BroadcastOperator { return s.Broadcast().Except(rooms...) }

// Disconnect disconnects the socket from its namespace, with reason
// "server namespace disconnect"; close also closes the connection, and
// with it the client's other namespaces.
func (s *Socket) Disconnect(close bool) {
	if !s.Connected() {
		return
	}
	if close {
		s.client.disconnectAll()
		return
	}
	s.client.send(&sioparser.Packet{Type: sioparser.Disconnect, Namespace: s.nsp.name}, adapter.BroadcastFlags{})
	s.onClose(ReasonServerNamespaceDisconnect)
}

// onConnect admits the socket: it joins its own room (and its restored
// rooms), the client gets CONNECT, then any missed packets.
func (s *Socket) onConnect() {
	s.mu.Lock()
	s.connected = true
	s.mu.Unlock()
	s.Join(append([]string{s.id}, s.restoredRooms...)...)
	body := map[string]any{"sid": s.id}
	if s.pid != "" {
		body["pid"] = s.pid
	}
	data, _ := sioparser.MarshalJSON(nil, body, new([][]byte))
	s.client.send(&sioparser.Packet{Type: sioparser.Connect, Namespace: s.nsp.name, Data: data}, adapter.BroadcastFlags{})
	for _, p := range s.missed {
		s.client.send(p, adapter.BroadcastFlags{})
	}
	s.missed, s.restoredRooms = nil, nil
}

// onPacket takes a packet from the client. Acks are handled at once, so
// that a handler waiting for one is not blocked behind itself; events and
// DISCONNECT are queued for the socket's dispatcher. inline is true on the
// engine's WebSocket reader: with no dispatcher running, this goroutine
// becomes it.
func (s *Socket) onPacket(p *sioparser.Packet, inline bool) {
	switch p.Type {
	case sioparser.Ack, sioparser.BinaryAck:
		s.onAck(p)
		return
	}
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	// A client that sends faster than its handlers run waits here, on its
	// own connection's goroutine: the inbox never holds more than
	// maxInbox packets.
	for len(s.inbox) >= maxInbox && s.connected {
		if s.inboxRoom == nil {
			s.inboxRoom = sync.NewCond(&s.mu)
		}
		s.inboxRoom.Wait()
	}
	if !s.connected {
		s.mu.Unlock()
		return
	}
	if p.Type == sioparser.Disconnect {
		// The client may close its connection right after; that close
		// must not hide why the socket ends.
		s.leaving = true
	}
	s.inbox = append(s.inbox, p)
	if !s.dispatching {
		s.dispatching = true
		if inline {
			// On the engine's reader: run the handlers here, with no
			// goroutine switch. The client's slow timer hands reading
			// on if they block.
			s.mu.Unlock()
			s.client.runInline(s)
			return
		}
		go s.dispatch()
	}
	s.mu.Unlock()
}

func (s *Socket) dispatch() {
	for {
		s.mu.Lock()
		if len(s.inbox) == 0 || !s.connected {
			s.inbox = nil
			s.dispatching = false
			s.mu.Unlock()
			return
		}
		p := s.inbox[0]
		s.inbox[0] = nil
		s.inbox = s.inbox[1:]
		if s.inboxRoom != nil {
			s.inboxRoom.Signal()
		}
		s.mu.Unlock()
		switch p.Type {
		case sioparser.Event, sioparser.BinaryEvent:
			s.onEvent(p)
		case sioparser.Disconnect:
			s.onClose(ReasonClientNamespaceDisconnect)
		}
	}
}

func (s *Socket) onAck(p *sioparser.Packet) {
	if !p.HasID {
		return
	}
	s.mu.Lock()
	fn := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if fn == nil {
		return
	}
	args, err := sioparser.ParseArgs(p)
	if err != nil {
		return
	}
	fn(args, nil)
}

func (s *Socket) onEvent(p *sioparser.Packet) {
	name, args, err := sioparser.ParseEvent(p)
	if err != nil {
		s.reportError(err)
		return
	}
	var ack Ack
	if p.HasID {
		ack = s.ackFunc(p.ID)
	}
	s.mu.Lock()
	mws := s.packetMWs
	anyIn := s.anyIn
	hs := s.handlers[name]
	if hs.HasOnce() {
		s.handlers[name] = hs.WithoutOnce()
	}
	s.mu.Unlock()
	for _, mw := range mws {
		if err := mw(name, args); err != nil {
			s.reportError(err)
			return
		}
	}
	for _, fn := range anyIn {
		fn(name, args)
	}
	for _, h := range hs {
		if err := h.Call(args, orNoAck(ack)); err != nil {
			s.reportError(fmt.Errorf("event %q: %w", name, err))
		}
	}
}

// ackFunc returns the Ack that answers the client's event id once.
func (s *Socket) ackFunc(id uint64) Ack {
	var once sync.Once
	return func(args ...any) error {
		err := ErrAlreadyAcked
		once.Do(func() {
			var p *sioparser.Packet
			if p, err = sioparser.NewAck(s.nsp.name, id, args...); err == nil {
				s.client.send(p, adapter.BroadcastFlags{})
			}
		})
		return err
	}
}

// onClose disconnects the socket with reason.
func (s *Socket) onClose(reason string) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	if s.leaving {
		reason = ReasonClientNamespaceDisconnect
	}
	disconnecting := slices.Clone(s.onDisconnecting)
	s.mu.Unlock()
	for _, fn := range disconnecting {
		fn(reason)
	}
	if s.nsp.srv.cfg.ConnectionStateRecovery != nil && recoverable[reason] {
		s.nsp.adapter.PersistSession(adapter.SessionToPersist{SID: s.id, PID: s.pid, Rooms: s.Rooms(), Data: s.Data()})
	}
	s.mu.Lock()
	s.connected = false
	if s.inboxRoom != nil {
		s.inboxRoom.Broadcast()
	}
	acks := s.acks
	s.acks = nil
	handlers := slices.Clone(s.onDisconnect)
	s.mu.Unlock()
	s.nsp.adapter.DelAll(s.id)
	s.nsp.remove(s)
	s.client.remove(s)
	for _, fn := range acks {
		fn(sioparser.Args{}, ErrDisconnected)
	}
	for _, fn := range handlers {
		fn(reason)
	}
}
