package sioclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wsio/wsio/eioclient"
	"github.com/wsio/wsio/sioparser"
)

// Disconnect reasons, as socket.io-client names them.
const (
	ReasonClientDisconnect = "io client disconnect" // Socket.Disconnect
	ReasonServerDisconnect = "io server disconnect" // the server disconnected the socket
	ReasonForcedClose      = "forced close"         // Manager.Close
	ReasonParseError       = "parse error"          // the server sent a malformed packet
	// The engine's reasons are passed through: "transport close",
	// "transport error", "ping timeout".
)

// Errors.
var (
	// ErrClosed is returned once the Manager is closed.
	ErrClosed = errors.New("sioclient: manager closed")
	// ErrDisconnected ends an EmitWithAck whose socket disconnected before
	// the answer came.
	ErrDisconnected = errors.New("sioclient: socket disconnected")
	// ErrReservedEvent is returned for an emit of a reserved event name.
	ErrReservedEvent = errors.New("sioclient: reserved event name")
	// ErrConnectTimeout is the cause when the connection did not open
	// within Options.Timeout.
	ErrConnectTimeout = errors.New("sioclient: connection timeout")
)

const (
	stateClosed = iota
	stateOpening
	stateOpen
)

// Manager is one Engine.IO connection to a server, shared by the Sockets
// of several namespaces (multiplexing), and reopened after a loss with
// backoff (Node: Manager). Its methods are safe for concurrent use.
//
// Callbacks (the Manager's and the Sockets' handlers) are called one at a
// time, in the order of the packets and events behind them, on a goroutine
// of the Manager: a handler that blocks holds up the others, but not the
// connection, which goes on reading (acknowledgements included, so a
// handler may wait in EmitWithAck).
type Manager struct {
	url  string
	opts Options

	mu           sync.Mutex
	state        int
	engine       *eioclient.Client
	opened       chan struct{} // closed when the open attempt under way ends
	openErr      error
	sockets      map[string]*Socket // active sockets, by namespace
	closed       bool
	reconnecting bool
	retry        *time.Timer
	retryGen     uint64 // identifies the scheduled reconnection chain
	back         backoff
	closeReason  string                         // overrides the engine's reason (parse error)
	autoCancel   map[*Socket]context.CancelFunc // stop the Connects of AutoConnect sockets
	ctx          context.Context                // ends with Close: bounds every dial
	cancel       context.CancelFunc
	handlers     managerHandlers

	// dec is used only by the engine's reading goroutine.
	dec sioparser.Decoder

	// sendMu keeps a packet's text and attachments together.
	sendMu sync.Mutex

	// dispatch: callbacks in order, on a goroutine that exists only while
	// there are some.
	dmu         sync.Mutex
	inbox       []func()
	dispatching bool
	dclosed     bool       // Close has drained the dispatcher: later callbacks are dropped
	didle       *sync.Cond // on dmu: broadcast when the dispatcher stops

	wg sync.WaitGroup // open attempts, retries, engines, AutoConnect; Add only under mu while open
}

type managerHandlers struct {
	open             []func()
	close            []func(reason string)
	errs             []func(error)
	ping             []func()
	reconnectAttempt []func(attempt int)
	reconnect        []func(attempt int)
	reconnectError   []func(error)
	reconnectFailed  []func()
}

// NewManager returns a Manager for the server at rawURL (http, https, ws
// or wss; its path is ignored: the connection uses opts.Path). It does not
// connect: a Socket's Connect does.
func NewManager(rawURL string, opts *Options) (*Manager, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sioclient: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("sioclient: unsupported URL scheme %q", u.Scheme)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	o = o.withDefaults()
	if q := u.Query(); len(q) > 0 {
		if o.Query == nil {
			o.Query = url.Values{}
		} else {
			o.Query = cloneValues(o.Query)
		}
		for k, vs := range q {
			o.Query[k] = append(o.Query[k], vs...)
		}
	}
	m := &Manager{
		url:        u.Scheme + "://" + u.Host + "/",
		opts:       o,
		sockets:    map[string]*Socket{},
		autoCancel: map[*Socket]context.CancelFunc{},
		back:       backoff{min: o.ReconnectionDelay, max: o.ReconnectionDelayMax, jitter: o.RandomizationFactor},
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.didle = sync.NewCond(&m.dmu)
	m.dec.Limits = sioparser.Limits{MaxAttachments: o.MaxAttachments}
	return m, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Socket returns a new Socket for namespace nsp ("/" when empty) on this
// Manager's connection. It is not connected: call its Connect.
func (m *Manager) Socket(nsp string, opts *SocketOptions) *Socket {
	if nsp == "" {
		nsp = "/"
	} else if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	s := &Socket{m: m, nsp: nsp, changed: make(chan struct{})}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.AutoConnect {
		m.mu.Lock()
		if !m.closed {
			ctx, cancel := context.WithCancel(m.ctx)
			m.autoCancel[s] = cancel
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				_ = s.Connect(ctx) // failures reach the connect_error handlers
				m.mu.Lock()
				delete(m.autoCancel, s)
				m.mu.Unlock()
				cancel()
			}()
		}
		m.mu.Unlock()
	}
	return s
}

// Transport returns the connection's current transport, or "" when it is
// not open.
func (m *Manager) Transport() string {
	m.mu.Lock()
	e := m.engine
	m.mu.Unlock()
	if e == nil {
		return ""
	}
	return e.Transport()
}

// OnOpen adds a function called when the connection opens.
func (m *Manager) OnOpen(fn func()) { m.on(func(h *managerHandlers) { h.open = append(h.open, fn) }) }

// OnClose adds a function called when the connection closes, with the
// reason.
func (m *Manager) OnClose(fn func(reason string)) {
	m.on(func(h *managerHandlers) { h.close = append(h.close, fn) })
}

// OnError adds a function called when opening the connection fails (Node:
// the "error" event).
func (m *Manager) OnError(fn func(error)) {
	m.on(func(h *managerHandlers) { h.errs = append(h.errs, fn) })
}

// OnPing adds a function called for each ping from the server.
func (m *Manager) OnPing(fn func()) { m.on(func(h *managerHandlers) { h.ping = append(h.ping, fn) }) }

// OnReconnectAttempt adds a function called before each reconnection
// attempt, with its number (from 1).
func (m *Manager) OnReconnectAttempt(fn func(attempt int)) {
	m.on(func(h *managerHandlers) { h.reconnectAttempt = append(h.reconnectAttempt, fn) })
}

// OnReconnect adds a function called when a reconnection succeeded, with
// the number of attempts it took.
func (m *Manager) OnReconnect(fn func(attempt int)) {
	m.on(func(h *managerHandlers) { h.reconnect = append(h.reconnect, fn) })
}

// OnReconnectError adds a function called when a reconnection attempt
// failed.
func (m *Manager) OnReconnectError(fn func(error)) {
	m.on(func(h *managerHandlers) { h.reconnectError = append(h.reconnectError, fn) })
}

// OnReconnectFailed adds a function called when ReconnectionAttempts
// attempts have failed and the Manager gives up. Its sockets then become
// inactive and their Connect returns ErrReconnectFailed (the JS client
// keeps them subscribed instead); Connect starts over.
func (m *Manager) OnReconnectFailed(fn func()) {
	m.on(func(h *managerHandlers) { h.reconnectFailed = append(h.reconnectFailed, fn) })
}

func (m *Manager) on(add func(*managerHandlers)) {
	m.mu.Lock()
	add(&m.handlers)
	m.mu.Unlock()
}

// Close closes the connection and stops reconnecting: every connected
// socket disconnects with "forced close" and is no longer active, and what
// waits on a socket (Connect, EmitWithAck) returns. It waits for the
// Manager's goroutines, the handlers included, so it must not be called
// from a handler.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.wg.Wait()
		m.drainDispatcher()
		return nil
	}
	m.closed = true
	m.cancel()
	m.stopRetryLocked()
	e := m.engine
	m.engine, m.state = nil, stateClosed
	sockets := m.activeLocked()
	m.sockets = map[string]*Socket{}
	m.mu.Unlock()
	for _, s := range sockets {
		s.onClose(ReasonForcedClose, false)
	}
	if e != nil {
		_ = e.Close()
	}
	m.wg.Wait()
	m.drainDispatcher()
	return nil
}

// drainDispatcher waits until the queued callbacks have run; later ones
// are dropped.
func (m *Manager) drainDispatcher() {
	m.dmu.Lock()
	for m.dispatching {
		m.didle.Wait()
	}
	m.dclosed = true
	m.inbox = nil
	m.dmu.Unlock()
}

func (m *Manager) stopRetryLocked() {
	if m.retry != nil && m.retry.Stop() {
		m.wg.Done() // the attempt will not run
	}
	m.retry = nil
	m.retryGen++
	m.reconnecting = false
}

func (m *Manager) activeLocked() []*Socket {
	out := make([]*Socket, 0, len(m.sockets))
	for _, s := range m.sockets {
		out = append(out, s)
	}
	return out
}

// open opens the connection if it is not open, or waits for the attempt
// under way. Every active socket sends its CONNECT once it is open. ctx
// and Close bound the dial.
func (m *Manager) open(ctx context.Context) error {
	m.mu.Lock()
	for {
		switch {
		case m.closed:
			m.mu.Unlock()
			return ErrClosed
		case m.state == stateOpen:
			m.mu.Unlock()
			return nil
		case m.state == stateOpening:
			ch := m.opened
			m.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
			m.mu.Lock()
			if m.state != stateOpen && m.openErr != nil {
				err := m.openErr
				m.mu.Unlock()
				return err
			}
			continue
		}
		break
	}
	m.state = stateOpening
	done := make(chan struct{})
	m.opened = done
	m.openErr = nil
	m.wg.Add(1)
	m.mu.Unlock()
	defer m.wg.Done()

	e, ready, err := m.dial(ctx)

	m.mu.Lock()
	switch {
	case err != nil:
	case m.closed:
		err = ErrClosed
	case len(m.sockets) == 0:
		err = ErrDisconnected // every socket left while it opened
	}
	if err != nil {
		m.state, m.openErr = stateClosed, err
		handlers := m.handlers.errs
		m.mu.Unlock()
		close(done)
		if e != nil {
			close(ready)
			_ = e.Close()
		}
		m.dispatch(func() {
			for _, fn := range handlers {
				fn(err)
			}
		})
		m.notifySockets(func(s *Socket) { s.onOpenError(err) })
		return err
	}
	// Installed before the engine's callbacks may run (they wait for
	// ready), so that a close that comes at once is not missed.
	m.state, m.engine = stateOpen, e
	sockets := m.activeLocked()
	handlers := m.handlers.open
	m.mu.Unlock()
	close(ready)
	close(done)
	m.dispatch(func() {
		for _, fn := range handlers {
			fn()
		}
	})
	for _, s := range sockets {
		s.sendConnect()
	}
	return nil
}

// dial opens an Engine.IO connection, bounded by ctx, Options.Timeout and
// Close. The engine's callbacks wait until the caller closes ready.
func (m *Manager) dial(ctx context.Context) (*eioclient.Client, chan struct{}, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, m.opts.Timeout, ErrConnectTimeout)
	defer cancel()
	stop := context.AfterFunc(m.ctx, cancel)
	defer stop()
	var e *eioclient.Client
	ready := make(chan struct{})
	o := &eioclient.Options{
		Path:             m.opts.Path,
		Transports:       m.opts.Transports,
		NoUpgrade:        m.opts.NoUpgrade,
		TryAllTransports: m.opts.TryAllTransports,
		Query:            m.opts.Query,
		Header:           m.opts.Header,
		HTTPClient:       m.opts.HTTPClient,
		TLSConfig:        m.opts.TLSConfig,
		Logger:           m.opts.Logger,
		OnMessage: func(data []byte, binary bool) {
			<-ready
			m.onMessage(e, data, binary)
		},
		OnPing: func() {
			m.mu.Lock()
			handlers := m.handlers.ping
			m.mu.Unlock()
			m.dispatch(func() {
				for _, fn := range handlers {
					fn()
				}
			})
		},
		OnClose: func(reason string, err error) {
			<-ready
			m.onEngineClose(e, reason)
		},
	}
	e, err := eioclient.Dial(ctx, m.url, o)
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, ErrConnectTimeout) {
			err = fmt.Errorf("%w: %w", ErrConnectTimeout, err)
		}
		return nil, nil, err
	}
	// The engine's goroutines end by Done; open holds a count on wg
	// meanwhile, so this Add never races with Close's Wait.
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		<-e.Done()
	}()
	return e, ready, nil
}

// notifySockets calls fn for each active socket.
func (m *Manager) notifySockets(fn func(*Socket)) {
	m.mu.Lock()
	sockets := m.activeLocked()
	m.mu.Unlock()
	for _, s := range sockets {
		fn(s)
	}
}

// onEngineClose handles the end of the connection e: sockets disconnect
// with the reason, and the Manager reconnects when it should.
func (m *Manager) onEngineClose(e *eioclient.Client, reason string) {
	m.mu.Lock()
	if m.engine != e {
		m.mu.Unlock()
		return
	}
	if m.closeReason != "" {
		reason, m.closeReason = m.closeReason, ""
	}
	m.engine, m.state = nil, stateClosed
	m.back.reset()
	again := !m.closed && !m.opts.NoReconnection && len(m.sockets) > 0
	sockets := m.activeLocked()
	handlers := m.handlers.close
	m.mu.Unlock()
	for _, s := range sockets {
		s.onClose(reason, again)
	}
	m.dispatch(func() {
		for _, fn := range handlers {
			fn(reason)
		}
	})
	if again {
		m.mu.Lock()
		m.reconnectLocked()
		m.mu.Unlock()
	}
}

// reconnectLocked schedules the next reconnection attempt, or gives up.
func (m *Manager) reconnectLocked() {
	if m.reconnecting || m.closed || m.state != stateClosed || len(m.sockets) == 0 || m.opts.NoReconnection {
		return
	}
	if n := m.opts.ReconnectionAttempts; n > 0 && m.back.attempts >= n {
		m.back.reset()
		handlers := m.handlers.reconnectFailed
		sockets := m.activeLocked()
		m.dispatch(func() {
			for _, fn := range handlers {
				fn()
			}
			for _, s := range sockets {
				s.onReconnectFailed()
			}
		})
		return
	}
	m.reconnecting = true
	m.retryGen++
	gen := m.retryGen
	m.wg.Add(1)
	m.retry = time.AfterFunc(m.back.next(), func() { m.attempt(gen) })
}

// attempt is one reconnection attempt of the chain gen, run by its timer.
// A chain that was stopped (Close, the last socket leaving) or replaced
// does nothing more.
func (m *Manager) attempt(gen uint64) {
	defer m.wg.Done()
	m.mu.Lock()
	if m.closed || gen != m.retryGen {
		m.mu.Unlock()
		return
	}
	m.retry = nil
	n := m.back.attempts
	handlers := m.handlers.reconnectAttempt
	m.mu.Unlock()
	m.dispatch(func() {
		for _, fn := range handlers {
			fn(n)
		}
	})
	err := m.open(context.Background())
	m.mu.Lock()
	if gen != m.retryGen {
		m.mu.Unlock()
		return
	}
	m.reconnecting = false
	if err != nil {
		errHandlers := m.handlers.reconnectError
		m.reconnectLocked()
		m.mu.Unlock()
		m.dispatch(func() {
			for _, fn := range errHandlers {
				fn(err)
			}
		})
		return
	}
	n = m.back.attempts
	m.back.reset()
	okHandlers := m.handlers.reconnect
	// The new connection may have closed already: its close found this
	// attempt still running and scheduled nothing.
	m.reconnectLocked()
	m.mu.Unlock()
	m.dispatch(func() {
		for _, fn := range okHandlers {
			fn(n)
		}
	})
}

// Connection states as addSocket reports them.
const (
	connOpen    = iota // open: send the CONNECT now
	connPending        // opening, or a reconnection is scheduled: wait for it
	connClosed         // closed: open it
)

// addSocket makes s active: it connects whenever the connection opens.
func (m *Manager) addSocket(s *Socket) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	m.sockets[s.nsp] = s
	switch {
	case m.state == stateOpen:
		return connOpen, nil
	case m.state == stateOpening || m.reconnecting:
		return connPending, nil
	}
	return connClosed, nil
}

// removeSocket makes s inactive; the connection closes when no socket is
// left (an open under way closes it when it completes).
func (m *Manager) removeSocket(s *Socket) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sockets[s.nsp] != s {
		return
	}
	delete(m.sockets, s.nsp)
	if len(m.sockets) > 0 {
		return
	}
	m.stopRetryLocked()
	if m.state != stateOpen || m.closed {
		return
	}
	// The connection is done with: a Connect from now on opens a new one.
	e := m.engine
	m.engine, m.state = nil, stateClosed
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		_ = e.Close()
	}()
}

// send writes a packet: its text, then its attachments.
func (m *Manager) send(p *sioparser.Packet) error {
	m.mu.Lock()
	e := m.engine
	m.mu.Unlock()
	if e == nil {
		return ErrDisconnected
	}
	text := sioparser.AppendText(nil, p)
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	ctx := context.Background()
	if err := e.Send(ctx, text, false); err != nil {
		return err
	}
	for _, a := range p.Attachments {
		if err := e.Send(ctx, a, true); err != nil {
			return err
		}
	}
	return nil
}

// onMessage decodes a message of the connection e and hands the packet to
// its socket.
func (m *Manager) onMessage(e *eioclient.Client, data []byte, binary bool) {
	var p *sioparser.Packet
	var err error
	if binary {
		p, err = m.dec.Binary(data)
	} else {
		p, err = m.dec.Text(data)
	}
	if err != nil {
		m.opts.Logger.Debug("sioclient: bad packet", "err", err)
		m.mu.Lock()
		if m.engine == e {
			m.closeReason = ReasonParseError
		}
		m.mu.Unlock()
		if e == nil {
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			_ = e.Close()
		}()
		return
	}
	if p == nil { // attachments to come
		return
	}
	m.mu.Lock()
	s := m.sockets[p.Namespace]
	m.mu.Unlock()
	if s == nil {
		m.opts.Logger.Debug("sioclient: packet for an inactive namespace", "nsp", p.Namespace, "type", p.Type)
		return
	}
	s.onPacket(p)
}

// dispatch queues fn to run after the callbacks queued before it. After
// Close has drained the queue, fn is dropped.
func (m *Manager) dispatch(fn func()) {
	m.dmu.Lock()
	if m.dclosed {
		m.dmu.Unlock()
		return
	}
	m.inbox = append(m.inbox, fn)
	if m.dispatching {
		m.dmu.Unlock()
		return
	}
	m.dispatching = true
	m.dmu.Unlock()
	go m.runInbox()
}

func (m *Manager) runInbox() {
	for {
		m.dmu.Lock()
		if len(m.inbox) == 0 {
			m.inbox = nil
			m.dispatching = false
			m.didle.Broadcast()
			m.dmu.Unlock()
			return
		}
		fn := m.inbox[0]
		m.inbox[0] = nil
		m.inbox = m.inbox[1:]
		m.dmu.Unlock()
		fn()
	}
}
