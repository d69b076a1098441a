package sioclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/wsio/wsio/internal/handler"
	"github.com/wsio/wsio/sioparser"
)

// Ack answers an event from the server that asked for an acknowledgement.
// Only the first call sends; later ones return ErrAlreadyAcked.
type Ack func(args ...any) error

var (
	// ErrAlreadyAcked is returned by an Ack called a second time.
	ErrAlreadyAcked = errors.New("sioclient: event already acknowledged")
	// ErrNoAck is returned by the Ack given to a handler whose event asked
	// for no acknowledgement; nothing is sent.
	ErrNoAck = errors.New("sioclient: the event asked for no acknowledgement")
	// ErrHandlerType is wrapped by the error logged when a handler's
	// parameters do not fit an event's arguments.
	ErrHandlerType = handler.ErrType
	// ErrReconnectFailed ends a Connect when the Manager gave up after
	// Options.ReconnectionAttempts attempts.
	ErrReconnectFailed = errors.New("sioclient: reconnection attempts exhausted")
	// ErrAckTimeout ends a wait for an acknowledgement that did not come
	// within SocketOptions.AckTimeout (after the retries, if any).
	ErrAckTimeout = errors.New("sioclient: acknowledgement timed out")
)

// defaultRetryTimeout is the ack timeout of retried events when
// SocketOptions.AckTimeout is not set.
const defaultRetryTimeout = time.Second

func noAck(...any) error { return ErrNoAck }

// ConnectError is the server's refusal of a CONNECT (a middleware's error,
// or an unknown namespace), as socket.io-client's connect_error.
type ConnectError struct {
	Message string
	// Data is the error's data, as JSON (null when there was none).
	Data json.RawMessage
}

func (e *ConnectError) Error() string { return "sioclient: connect refused: " + e.Message }

// AnyHandler receives every event: its name and its arguments.
type AnyHandler func(event string, args sioparser.Args)

type (
	eventHandler = handler.Handler[Ack, sioparser.Args]
	handlerList  = handler.List[Ack, sioparser.Args]
)

// Socket is a Go program's connection to one namespace of a server, over
// its Manager's shared connection (Node: the client Socket). Its methods
// are safe for concurrent use; its handlers run as the Manager describes.
type Socket struct {
	m    *Manager
	nsp  string
	opts SocketOptions
	owns bool // Close closes the Manager too (made by Connect)

	mu        sync.Mutex
	active    bool // wants to be connected: connects whenever the connection opens
	connected bool
	id, pid   string
	offset    string // the last event's offset, for connection state recovery
	recovered bool
	changed   chan struct{} // closed and replaced when connected, active or connErr change
	connErr   error
	sendBuf   []*sioparser.Packet // emits made while disconnected
	acks      map[uint64]func(sioparser.Args, error)
	nextAck   uint64
	queue     []*queued // with Retries: events sent one at a time until acknowledged
	flushing  bool      // the send buffer is being sent: new emits queue behind it

	handlers       map[string]handlerList
	anyIn, anyOut  []AnyHandler
	onConnect      []func()
	onConnectError []func(error)
	onDisconnect   []func(reason string, willReconnect bool)
}

// Connect returns a connected Socket for the namespace in rawURL's path
// ("/" when empty) on a new Manager of its own, as io(url) with forceNew.
// Close the Socket to close that Manager.
func Connect(ctx context.Context, rawURL string, opts *Options, sopts *SocketOptions) (*Socket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sioclient: %w", err)
	}
	m, err := NewManager(rawURL, opts)
	if err != nil {
		return nil, err
	}
	s := m.Socket(u.Path, sopts)
	s.owns = true
	if err := s.Connect(ctx); err != nil {
		_ = m.Close()
		return nil, err
	}
	return s, nil
}

// ID returns the socket's id while it is connected, or "".
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() string { return s.nsp }

// Manager returns the socket's Manager.
func (s *Socket) Manager() *Manager { return s.m }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Active reports whether the socket is connected or will connect when
// the connection (re)opens: false after Disconnect, a refusal by the
// server, or its disconnecting the socket.
func (s *Socket) Active() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// Recovered reports whether the last connection restored the socket's
// previous session (connection state recovery).
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// Connect connects the socket, opening the Manager's connection if needed,
// and waits until it is connected, the server refuses it (a
// *ConnectError), or ctx ends. With reconnection on (the default), failed
// attempts to open the connection are retried with backoff meanwhile, and
// when ctx ends the socket stays active and goes on trying: call
// Disconnect to stop it. Without reconnection, the first failure is
// returned.
func (s *Socket) Connect(ctx context.Context) error {
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		return nil
	}
	s.active, s.connErr = true, nil
	s.mu.Unlock()
	state, err := s.m.addSocket(s)
	if err != nil {
		s.deactivate(err)
		return err
	}
	switch state {
	case connOpen:
		s.sendConnect()
	case connClosed:
		if err := s.m.open(ctx); err != nil {
			// Without reconnection the socket is now inactive, with err;
			// with it, the Manager tries again after a delay.
			s.m.mu.Lock()
			s.m.reconnectLocked()
			s.m.mu.Unlock()
		}
	}
	for {
		s.mu.Lock()
		connected, active, cerr, ch := s.connected, s.active, s.connErr, s.changed
		s.mu.Unlock()
		switch {
		case connected:
			return nil
		case !active:
			if cerr == nil {
				cerr = ErrDisconnected
			}
			return cerr
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("sioclient: connect: %w", ctx.Err())
		}
	}
}

// signalLocked wakes those waiting for a change of state.
func (s *Socket) signalLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// deactivate makes the socket inactive with err as the reason Connect
// returns.
func (s *Socket) deactivate(err error) {
	s.mu.Lock()
	s.active, s.connErr = false, err
	s.signalLocked()
	s.mu.Unlock()
	s.m.removeSocket(s)
}

// sendConnect sends the CONNECT packet, with the auth payload.
func (s *Socket) sendConnect() {
	auth := s.opts.Auth
	if s.opts.AuthFunc != nil {
		auth = s.opts.AuthFunc()
	}
	p := &sioparser.Packet{Type: sioparser.Connect, Namespace: s.nsp}
	data, err := s.connectPayload(auth)
	if err != nil {
		s.deactivate(fmt.Errorf("sioclient: auth: %w", err))
		return
	}
	p.Data = data
	_ = s.m.send(p)
}

// connectPayload is the CONNECT packet's data: auth, plus the session id
// and offset to recover after a connection that the server keeps (as the
// JS client does: {pid, offset, ...auth}).
func (s *Socket) connectPayload(auth any) (json.RawMessage, error) {
	s.mu.Lock()
	pid, offset := s.pid, s.offset
	s.mu.Unlock()
	if pid == "" {
		if auth == nil {
			return nil, nil
		}
		return json.Marshal(auth)
	}
	fields := map[string]any{"pid": pid, "offset": offset}
	if auth != nil {
		// The auth fields win, as in the JS client's {pid, offset, ...auth}.
		b, err := json.Marshal(auth)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &fields); err != nil {
			return nil, fmt.Errorf("auth is not a JSON object: %w", err)
		}
	}
	return json.Marshal(fields)
}

// onOpenError reports a failure to open the connection.
func (s *Socket) onOpenError(err error) {
	s.mu.Lock()
	connected := s.connected
	handlers := s.onConnectError
	s.mu.Unlock()
	if connected {
		return
	}
	if s.m.opts.NoReconnection {
		s.deactivate(err)
	}
	s.m.dispatch(func() {
		for _, fn := range handlers {
			fn(err)
		}
	})
}

func (s *Socket) onReconnectFailed() { s.deactivate(ErrReconnectFailed) }

// onPacket handles a packet from the server, on the connection's reading
// goroutine: state changes and acks at once, callbacks through the
// Manager's dispatcher.
func (s *Socket) onPacket(p *sioparser.Packet) {
	switch p.Type {
	case sioparser.Connect:
		s.onConnectPacket(p)
	case sioparser.ConnectError:
		ce := &ConnectError{}
		var body struct {
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(p.Data, &body); err == nil {
			ce.Message, ce.Data = body.Message, body.Data
		}
		s.mu.Lock()
		handlers := s.onConnectError
		s.mu.Unlock()
		s.deactivate(ce)
		s.m.dispatch(func() {
			for _, fn := range handlers {
				fn(ce)
			}
		})
	case sioparser.Event, sioparser.BinaryEvent:
		s.trackOffset(p)
		s.m.dispatch(func() { s.onEvent(p) })
	case sioparser.Ack, sioparser.BinaryAck:
		s.onAck(p)
	case sioparser.Disconnect:
		s.mu.Lock()
		s.active = false
		s.mu.Unlock()
		s.m.removeSocket(s)
		s.onClose(ReasonServerDisconnect, false)
	}
}

// trackOffset keeps the offset the server appends to each event when
// connection state recovery is on (the session has a pid), so that a
// reconnection asks for what came after it. It runs as packets arrive,
// before their handlers.
func (s *Socket) trackOffset(p *sioparser.Packet) {
	s.mu.Lock()
	recovering := s.pid != ""
	s.mu.Unlock()
	if !recovering || p.HasID {
		// An event asking for an ack has no offset: in the JS client its
		// last argument is the ack function.
		return
	}
	args, err := sioparser.ParseArgs(p)
	if err != nil || args.Len() < 2 {
		return
	}
	var off string
	if json.Unmarshal(args.Raw(args.Len()-1), &off) == nil {
		s.mu.Lock()
		s.offset = off
		s.mu.Unlock()
	}
}

func (s *Socket) onConnectPacket(p *sioparser.Packet) {
	var body struct {
		SID string `json:"sid"`
		PID string `json:"pid"`
	}
	if err := json.Unmarshal(p.Data, &body); err != nil || body.SID == "" {
		err := errors.New("sioclient: CONNECT answer without a sid (a Socket.IO v2 server?)")
		s.mu.Lock()
		handlers := s.onConnectError
		s.mu.Unlock()
		s.m.dispatch(func() {
			for _, fn := range handlers {
				fn(err)
			}
		})
		return
	}
	s.mu.Lock()
	if !s.active || s.connected {
		s.mu.Unlock()
		return
	}
	s.connected, s.id = true, body.SID
	s.recovered = body.PID != "" && body.PID == s.pid
	s.pid = body.PID
	s.flushing = true
	handlers := s.onConnect
	s.signalLocked()
	s.mu.Unlock()
	s.flushBuffer()
	s.drainQueue(true)
	s.m.dispatch(func() {
		for _, fn := range handlers {
			fn()
		}
	})
}

// flushBuffer sends what was emitted while disconnected, oldest first;
// emits made meanwhile join the buffer (flushing is set), so they cannot
// overtake it. What fails to go out stays buffered for the next
// connection.
func (s *Socket) flushBuffer() {
	for {
		s.mu.Lock()
		buf := s.sendBuf
		s.sendBuf = nil
		if len(buf) == 0 || !s.connected {
			s.sendBuf = append(buf, s.sendBuf...)
			s.flushing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for i, p := range buf {
			s.notifyOutgoing(p)
			if err := s.m.send(p); err != nil {
				s.mu.Lock()
				s.sendBuf = append(buf[i:len(buf):len(buf)], s.sendBuf...)
				s.flushing = false
				s.mu.Unlock()
				return
			}
		}
	}
}

// onClose ends the socket's connection with reason. willReconnect tells
// whether it stays active.
func (s *Socket) onClose(reason string, willReconnect bool) {
	s.mu.Lock()
	was := s.connected
	s.connected, s.id = false, ""
	if !willReconnect {
		s.active = false
	}
	// Acks of packets still waiting in the send buffer stay while the
	// socket will reconnect: they are sent then. An inactive socket sends
	// nothing more: every wait ends, and the buffered packets that had
	// one are dropped (plain emits stay for a later Connect).
	waiting := make(map[uint64]bool, len(s.sendBuf))
	if willReconnect {
		for _, p := range s.sendBuf {
			if p.HasID {
				waiting[p.ID] = true
			}
		}
	} else {
		s.sendBuf = slices.DeleteFunc(s.sendBuf, func(p *sioparser.Packet) bool { return p.HasID })
	}
	var failed []func(sioparser.Args, error)
	for id, fn := range s.acks {
		if !waiting[id] {
			failed = append(failed, fn)
			delete(s.acks, id)
		}
	}
	var dropped []*queued
	if !willReconnect {
		dropped, s.queue = s.queue, nil
	}
	handlers := s.onDisconnect
	s.signalLocked()
	s.mu.Unlock()
	for _, fn := range failed {
		fn(sioparser.Args{}, ErrDisconnected)
	}
	for _, q := range dropped {
		if q.done != nil {
			q.done(sioparser.Args{}, ErrDisconnected)
		}
	}
	if was {
		s.m.dispatch(func() {
			for _, fn := range handlers {
				fn(reason, willReconnect)
			}
		})
	}
}

// Disconnect leaves the namespace (the server sees "client namespace
// disconnect") and stops the socket from reconnecting; the Manager's
// connection closes when no active socket is left. Disconnect handlers get
// "io client disconnect".
func (s *Socket) Disconnect() {
	s.mu.Lock()
	was, active := s.connected, s.active
	s.active = false
	s.mu.Unlock()
	if was {
		_ = s.m.send(&sioparser.Packet{Type: sioparser.Disconnect, Namespace: s.nsp})
	}
	s.m.removeSocket(s)
	if was || active {
		s.onClose(ReasonClientDisconnect, false)
	}
}

// Close disconnects the socket; for a socket made by the package's Connect,
// it also closes its Manager and waits for it, so it must then not be
// called from a handler.
func (s *Socket) Close() error {
	s.Disconnect()
	if s.owns {
		return s.m.Close()
	}
	return nil
}

// Emit sends an event with arguments, encoded as JSON ([]byte values,
// at any depth, as binary attachments). While the socket is disconnected
// the event waits in a buffer and goes out once it connects (Node's
// offline buffering).
func (s *Socket) Emit(event string, args ...any) error { return s.emit(emitFlags{}, event, args) }

// EmitWithAck sends an event asking for an acknowledgement and returns the
// server's answer, or an error when ctx ends or the socket disconnects
// first.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (sioparser.Args, error) {
	return s.emitWithAck(ctx, emitFlags{}, event, args)
}

// Volatile returns an emitter whose events are dropped instead of
// buffered while the socket is disconnected.
func (s *Socket) Volatile() *Emitter { return &Emitter{s: s, flags: emitFlags{volatile: true}} }

// Timeout returns an emitter whose EmitWithAck gives up after d.
func (s *Socket) Timeout(d time.Duration) *Emitter {
	return &Emitter{s: s, flags: emitFlags{timeout: d}}
}

// Emitter emits with flags set (Volatile, Timeout).
type Emitter struct {
	s     *Socket
	flags emitFlags
}

type emitFlags struct {
	volatile bool
	timeout  time.Duration
}

// Volatile sets the volatile flag.
func (e *Emitter) Volatile() *Emitter { e.flags.volatile = true; return e }

// Timeout sets the acknowledgement timeout.
func (e *Emitter) Timeout(d time.Duration) *Emitter { e.flags.timeout = d; return e }

// Emit is Socket.Emit with the emitter's flags.
func (e *Emitter) Emit(event string, args ...any) error { return e.s.emit(e.flags, event, args) }

// EmitWithAck is Socket.EmitWithAck with the emitter's flags.
func (e *Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (sioparser.Args, error) {
	return e.s.emitWithAck(ctx, e.flags, event, args)
}

func (s *Socket) emit(flags emitFlags, event string, args []any) error {
	if sioparser.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	p, err := sioparser.NewEvent(s.nsp, event, args...)
	if err != nil {
		return err
	}
	if s.opts.Retries > 0 && !flags.volatile {
		s.enqueue(p, flags.timeout, nil)
		return nil
	}
	return s.sendPacket(p, flags.volatile)
}

func (s *Socket) emitWithAck(ctx context.Context, flags emitFlags, event string, args []any) (sioparser.Args, error) {
	if sioparser.IsReserved(event) {
		return sioparser.Args{}, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	p, err := sioparser.NewEvent(s.nsp, event, args...)
	if err != nil {
		return sioparser.Args{}, err
	}
	type result struct {
		args sioparser.Args
		err  error
	}
	ch := make(chan result, 1)
	if s.opts.Retries > 0 && !flags.volatile {
		q := s.enqueue(p, flags.timeout, func(a sioparser.Args, err error) { ch <- result{a, err} })
		select {
		case r := <-ch:
			return r.args, r.err
		case <-ctx.Done():
			s.abandon(q)
			return sioparser.Args{}, fmt.Errorf("sioclient: ack: %w", ctx.Err())
		}
	}
	if d := s.ackTimeout(flags.timeout); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	s.mu.Lock()
	s.nextAck++
	p.ID, p.HasID = s.nextAck, true
	if s.acks == nil {
		s.acks = map[uint64]func(sioparser.Args, error){}
	}
	s.acks[p.ID] = func(a sioparser.Args, err error) { ch <- result{a, err} }
	s.mu.Unlock()
	if err := s.sendPacket(p, flags.volatile); err != nil {
		s.dropAck(p.ID)
		return sioparser.Args{}, err
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		s.dropAck(p.ID)
		return sioparser.Args{}, fmt.Errorf("sioclient: ack: %w", ctx.Err())
	}
}

// ackTimeout is the wait for an acknowledgement: the emit's own timeout,
// else the socket's AckTimeout.
func (s *Socket) ackTimeout(own time.Duration) time.Duration {
	if own > 0 {
		return own
	}
	return s.opts.AckTimeout
}

// queued is an event of the retry queue.
type queued struct {
	p       *sioparser.Packet
	timeout time.Duration
	tries   int
	pending bool
	done    func(sioparser.Args, error) // nil for Emit
}

// enqueue adds an event to the retry queue and sends it when it is first.
func (s *Socket) enqueue(p *sioparser.Packet, timeout time.Duration, done func(sioparser.Args, error)) *queued {
	if timeout <= 0 {
		timeout = s.opts.AckTimeout
	}
	if timeout <= 0 {
		timeout = defaultRetryTimeout
	}
	q := &queued{p: p, timeout: timeout, done: done}
	s.mu.Lock()
	s.queue = append(s.queue, q)
	s.mu.Unlock()
	s.drainQueue(false)
	return q
}

// abandon drops q from the queue (its caller gave up).
func (s *Socket) abandon(q *queued) {
	s.mu.Lock()
	q.done = nil
	if i := slices.Index(s.queue, q); i > 0 || (i == 0 && !q.pending) {
		s.queue = slices.Delete(s.queue, i, i+1)
	}
	s.mu.Unlock()
}

// drainQueue sends the first queued event unless it is already out (or
// force, after a reconnection). Each attempt has a new ack id.
func (s *Socket) drainQueue(force bool) {
	s.mu.Lock()
	if !s.connected || len(s.queue) == 0 {
		s.mu.Unlock()
		return
	}
	q := s.queue[0]
	if q.pending && !force {
		s.mu.Unlock()
		return
	}
	q.pending = true
	q.tries++
	attempt := q.tries
	s.nextAck++
	p := *q.p
	p.ID, p.HasID = s.nextAck, true
	if s.acks == nil {
		s.acks = map[uint64]func(sioparser.Args, error){}
	}
	var timer *time.Timer
	s.acks[p.ID] = func(a sioparser.Args, err error) {
		timer.Stop()
		s.attemptDone(q, attempt, a, err)
	}
	timer = time.AfterFunc(q.timeout, func() {
		s.mu.Lock()
		_, waiting := s.acks[p.ID]
		delete(s.acks, p.ID)
		s.mu.Unlock()
		if waiting {
			s.attemptDone(q, attempt, sioparser.Args{}, ErrAckTimeout)
		}
	})
	s.mu.Unlock()
	// Sent now or never: if the connection is gone, this attempt fails
	// with it, and the reconnection sends the event again.
	s.notifyOutgoing(&p)
	_ = s.m.send(&p)
}

// attemptDone ends attempt number attempt of the first queued event:
// answered, or failed and then either retried or, past Retries, given up.
// The end of an attempt that is no longer the latest (one resent after a
// reconnection meanwhile) is ignored.
func (s *Socket) attemptDone(q *queued, attempt int, a sioparser.Args, err error) {
	s.mu.Lock()
	if len(s.queue) == 0 || s.queue[0] != q || q.tries != attempt || !q.pending {
		s.mu.Unlock()
		return
	}
	finished := err == nil || q.tries > s.opts.Retries
	if finished {
		s.queue = s.queue[1:]
	}
	q.pending = false
	done := q.done
	s.mu.Unlock()
	if finished && done != nil {
		done(a, err)
	}
	s.drainQueue(false)
}

func (s *Socket) dropAck(id uint64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// sendPacket sends p now, or buffers it while the socket is disconnected
// (volatile packets are dropped then).
func (s *Socket) sendPacket(p *sioparser.Packet, volatile bool) error {
	s.mu.Lock()
	if !s.connected || s.flushing {
		if !volatile || s.connected {
			s.sendBuf = append(s.sendBuf, p)
		}
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	s.notifyOutgoing(p)
	if err := s.m.send(p); err != nil && !volatile {
		// The connection is going away: keep the packet for the next one,
		// unless its ack has already been failed (the caller was told).
		s.mu.Lock()
		if !p.HasID || s.acks[p.ID] != nil {
			s.sendBuf = append(s.sendBuf, p)
		}
		s.mu.Unlock()
	}
	return nil
}

// notifyOutgoing hands an event being sent to the OnAnyOutgoing handlers.
func (s *Socket) notifyOutgoing(p *sioparser.Packet) {
	s.mu.Lock()
	anyOut := s.anyOut
	s.mu.Unlock()
	if len(anyOut) == 0 || p.Type != sioparser.Event {
		return
	}
	if name, args, err := sioparser.ParseEvent(p); err == nil {
		s.m.dispatch(func() {
			for _, fn := range anyOut {
				fn(name, args)
			}
		})
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
	fn(args, err)
}

// onEvent calls the handlers of an event, on the dispatcher.
func (s *Socket) onEvent(p *sioparser.Packet) {
	name, args, err := sioparser.ParseEvent(p)
	if err != nil || sioparser.IsReserved(name) {
		s.m.opts.Logger.Debug("sioclient: event refused", "nsp", s.nsp, "event", name, "err", err)
		return
	}
	ack := Ack(noAck)
	if p.HasID {
		ack = s.ackFunc(p.ID)
	}
	s.mu.Lock()
	anyIn := s.anyIn
	hs := s.handlers[name]
	if hs.HasOnce() {
		s.handlers[name] = hs.WithoutOnce()
	}
	s.mu.Unlock()
	for _, fn := range anyIn {
		fn(name, args)
	}
	for _, h := range hs {
		if err := h.Call(args, ack); err != nil {
			s.m.opts.Logger.Warn("sioclient: handler", "nsp", s.nsp, "event", name, "err", err)
		}
	}
}

// ackFunc returns the Ack that answers the server's event id once.
func (s *Socket) ackFunc(id uint64) Ack {
	var once sync.Once
	return func(args ...any) error {
		err := ErrAlreadyAcked
		once.Do(func() {
			var p *sioparser.Packet
			if p, err = sioparser.NewAck(s.nsp, id, args...); err == nil {
				err = s.m.send(p)
			}
		})
		return err
	}
}

// On adds a handler for event. fn is a func whose parameters are decoded
// from the event's arguments (JSON into Go values, binary attachments into
// []byte); a last parameter of type Ack answers the event. Arguments that
// do not fit are logged, and fn is not called.
func (s *Socket) On(event string, fn any) { s.addHandler(event, handler.New[Ack, sioparser.Args](fn)) }

// Once adds a handler called for the next event only.
func (s *Socket) Once(event string, fn any) {
	h := handler.New[Ack, sioparser.Args](fn)
	h.Once = true
	s.addHandler(event, h)
}

func (s *Socket) addHandler(event string, h *eventHandler) {
	s.mu.Lock()
	if s.handlers == nil {
		s.handlers = map[string]handlerList{}
	}
	s.handlers[event] = append(s.handlers[event], h)
	s.mu.Unlock()
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
	s.anyIn = append(s.anyIn[:len(s.anyIn):len(s.anyIn)], fn)
	s.mu.Unlock()
}

// PrependAny adds a handler called with every incoming event, before the
// other OnAny handlers.
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

// OnAnyOutgoing adds a handler called with every event the socket sends.
func (s *Socket) OnAnyOutgoing(fn AnyHandler) {
	s.mu.Lock()
	s.anyOut = append(s.anyOut[:len(s.anyOut):len(s.anyOut)], fn)
	s.mu.Unlock()
}

// OffAnyOutgoing removes every OnAnyOutgoing handler.
func (s *Socket) OffAnyOutgoing() {
	s.mu.Lock()
	s.anyOut = nil
	s.mu.Unlock()
}

// OnConnect adds a function called each time the socket connects (after a
// reconnection too). Like every handler it runs on the Manager's callback
// goroutine, so Connect may return, and acks may arrive, before it has
// run.
func (s *Socket) OnConnect(fn func()) {
	s.mu.Lock()
	s.onConnect = append(s.onConnect, fn)
	s.mu.Unlock()
}

// OnConnectError adds a function called when connecting fails: with a
// *ConnectError when the server refused, or the error of opening the
// connection.
func (s *Socket) OnConnectError(fn func(error)) {
	s.mu.Lock()
	s.onConnectError = append(s.onConnectError, fn)
	s.mu.Unlock()
}

// OnDisconnect adds a function called when the connected socket
// disconnects, with the reason (the Reason constants, or the engine's
// "transport close", "transport error", "ping timeout") and whether it will
// reconnect by itself.
func (s *Socket) OnDisconnect(fn func(reason string, willReconnect bool)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}
