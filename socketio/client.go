package socketio

import (
	"encoding/json"
	"net"
	"sync"
	"time"

	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/engineio"
	"github.com/wsio/wsio/sioparser"
)

// Disconnect reasons, as Node's server names them.
const (
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	ReasonServerShuttingDown        = "server shutting down"
	ReasonForcedServerClose         = "forced server close"
	ReasonParseError                = "parse error"
	// Engine.IO's reasons are passed through: "transport close",
	// "transport error", "ping timeout", "forced close".
)

// recoverable lists the reasons after which a session is kept for
// connection state recovery, as in Node.
var recoverable = map[string]bool{
	"transport error": true, "transport close": true, "forced close": true,
	"ping timeout": true, ReasonServerShuttingDown: true, ReasonForcedServerClose: true,
}

// client is one Engine.IO connection and the sockets (one per namespace)
// multiplexed on it.
type client struct {
	srv  *Server
	sess *engineio.Session

	// dec is used only by the engine's delivering goroutine. The timers
	// are created with the client and only reset or stopped after.
	dec       sioparser.Decoder
	binTimer  *time.Timer // a binary packet's attachments are late; created when first needed, under mu
	connTimer *time.Timer // no namespace joined in time
	// A message read by the engine's WebSocket reader is handled on that
	// goroutine, handlers included (runInline). slowTimer hands reading on
	// to a new goroutine when they take longer than inlineBudget, so that
	// acks, pongs and other namespaces' packets are never held up behind a
	// blocking handler. releasable is true while handlers run inline;
	// released counts the hand-overs.
	relMu      sync.Mutex
	releasable bool
	released   uint64
	slowTimer  *time.Timer

	mu      sync.Mutex
	sockets map[string]*Socket // by namespace
	closed  bool
	shared  *adapter.Handshake // the parts every socket of the client shares

	// sendMu keeps a packet's text and attachments together on the wire.
	sendMu sync.Mutex
}

func newClient(srv *Server, sess *engineio.Session) *client {
	c := &client{srv: srv, sess: sess, sockets: map[string]*Socket{}}
	c.dec.Limits = sioparser.Limits{MaxAttachments: srv.cfg.MaxAttachments, MaxAttachmentBytes: srv.cfg.Engine.MaxHTTPBufferSize}
	c.connTimer = time.AfterFunc(srv.cfg.ConnectTimeout, func() {
		c.mu.Lock()
		idle := len(c.sockets) == 0
		c.mu.Unlock()
		if idle {
			_ = sess.Close()
		}
	})
	sess.OnMessage(c.onMessage)
	sess.OnClose(c.onEngineClose)
	return c
}

// inlineBudget is how long handlers may run on the engine's reader before
// it hands reading on to a new goroutine.
const inlineBudget = 10 * time.Millisecond

func (c *client) onMessage(data []byte, binary bool) {
	c.handleMessage(data, binary, c.sess.CanReleaseReader())
}

// runInline runs the handlers of s on the engine's reader. If they
// run longer than inlineBudget, or wait for an ack, reading goes on on
// another goroutine and this one ends when they return.
func (c *client) runInline(s *Socket) {
	c.relMu.Lock()
	c.releasable = true
	gen := c.released
	if c.slowTimer == nil {
		c.slowTimer = time.AfterFunc(inlineBudget, c.releaseReader)
	} else {
		c.slowTimer.Reset(inlineBudget)
	}
	c.relMu.Unlock()
	s.dispatch()
	c.relMu.Lock()
	if c.released == gen {
		// Still the reader: the flag and the timer are this call's.
		c.releasable = false
		c.slowTimer.Stop()
	}
	c.relMu.Unlock()
}

// releaseReader lets the engine read the client's next packets on another
// goroutine while handlers go on on the current reader. Outside runInline
// it does nothing.
func (c *client) releaseReader() {
	c.relMu.Lock()
	defer c.relMu.Unlock()
	if c.releasable && c.sess.ReleaseReader() {
		c.releasable = false
		c.released++
	}
}

// handleMessage decodes one engine message. inline is true on the engine's
// WebSocket reader: handlers may run on this goroutine.
func (c *client) handleMessage(data []byte, binary, inline bool) {
	var p *sioparser.Packet
	var err error
	if binary {
		p, err = c.dec.Binary(data)
	} else {
		p, err = c.dec.Text(data)
	}
	if err != nil {
		c.srv.cfg.logger.Debug("socketio: bad packet", "sid", c.sess.ID(), "err", err)
		c.fail(ReasonParseError)
		return
	}
	if c.dec.Pending() {
		c.mu.Lock()
		if c.binTimer == nil {
			c.binTimer = time.AfterFunc(c.srv.cfg.BinaryTimeout, func() { c.fail(ReasonParseError) })
		} else {
			c.binTimer.Reset(c.srv.cfg.BinaryTimeout)
		}
		c.mu.Unlock()
		return
	}
	if c.binTimer != nil {
		c.binTimer.Stop()
	}
	if p != nil {
		c.onPacket(p, inline)
	}
}

func (c *client) onPacket(p *sioparser.Packet, inline bool) {
	c.mu.Lock()
	s := c.sockets[p.Namespace]
	c.mu.Unlock()
	switch {
	case s == nil && p.Type == sioparser.Connect:
		c.connect(p)
		if inline {
			// Joining ran deep on this goroutine and grew its stack, and a
			// connection often idles after it: a fresh reader waits with
			// the smallest stack while this one ends.
			c.sess.ReleaseReader()
		}
	case s != nil && p.Type != sioparser.Connect && p.Type != sioparser.ConnectError:
		s.onPacket(p, inline)
	default:
		c.fail(ReasonParseError)
	}
}

// connect handles a CONNECT: finds or creates the namespace, runs its
// middlewares and admits the socket, or answers with CONNECT_ERROR.
func (c *client) connect(p *sioparser.Packet) {
	auth := map[string]any{}
	if p.Data != nil {
		_ = json.Unmarshal(p.Data, &auth)
	}
	nsp := c.srv.lookup(p.Namespace, auth)
	if nsp == nil {
		c.connectError(p.Namespace, &ConnectError{Message: "Invalid namespace"})
		return
	}
	nsp.admit(c, auth)
}

func (c *client) connectError(nsp string, err error) {
	ce, ok := err.(*ConnectError)
	if !ok {
		ce = &ConnectError{Message: err.Error()}
	}
	body := map[string]any{"message": ce.Message}
	if ce.Data != nil {
		body["data"] = ce.Data
	}
	data, jerr := sioparser.MarshalJSON(nil, body, new([][]byte))
	if jerr != nil {
		data, _ = sioparser.MarshalJSON(nil, map[string]any{"message": ce.Message}, new([][]byte))
	}
	c.send(&sioparser.Packet{Type: sioparser.ConnectError, Namespace: nsp, Data: data}, adapter.BroadcastFlags{})
}

// handshake returns the parts of a handshake that come from the engine
// connection's request, computed once and shared by the client's sockets
// (as in Node, where they all read the same request): headers and query
// are not copied.
func (c *client) handshake() adapter.Handshake {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shared == nil {
		r := c.sess.Request()
		addr := r.RemoteAddr
		if host, _, err := net.SplitHostPort(addr); err == nil {
			addr = host
		}
		c.shared = &adapter.Handshake{
			Headers: r.Header,
			Address: addr,
			XDomain: r.Header.Get("Origin") != "",
			Secure:  r.TLS != nil,
			URL:     r.URL.RequestURI(),
			Query:   r.URL.Query(),
		}
	}
	return *c.shared
}

// add registers a socket admitted to its namespace.
func (c *client) add(s *Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.sockets[s.nsp.name] = s
	c.connTimer.Stop()
	return true
}

func (c *client) remove(s *Socket) {
	c.mu.Lock()
	if c.sockets[s.nsp.name] == s {
		delete(c.sockets, s.nsp.name)
	}
	c.mu.Unlock()
}

// send writes one packet: its text, then its attachments. A volatile
// packet is dropped while the transport is not ready (something is still
// queued); NoCompress passes down to the engine.
func (c *client) send(p *sioparser.Packet, flags adapter.BroadcastFlags) {
	if flags.Volatile && c.sess.Buffered() > 0 {
		return
	}
	opts := engineio.SendOptions{NoCompress: flags.NoCompress}
	text := sioparser.AppendText(make([]byte, 0, len(p.Data)+len(p.Namespace)+24), p)
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.sess.SendWithOptions(text, false, opts) != nil {
		return
	}
	for _, a := range p.Attachments {
		if c.sess.SendWithOptions(a, true, opts) != nil {
			return
		}
	}
}

// encoded is a packet encoded once for many clients.
type encoded []*engineio.Message

func encodeShared(p *sioparser.Packet, flags adapter.BroadcastFlags) encoded {
	opts := engineio.SendOptions{NoCompress: flags.NoCompress}
	out := make(encoded, 0, 1+len(p.Attachments))
	out = append(out, engineio.NewMessageWithOptions(sioparser.AppendText(nil, p), false, opts))
	for _, a := range p.Attachments {
		out = append(out, engineio.NewMessageWithOptions(a, true, opts))
	}
	return out
}

func (c *client) sendShared(e encoded, flags adapter.BroadcastFlags) {
	if flags.Volatile && c.sess.Buffered() > 0 {
		return
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	for _, m := range e {
		if c.sess.SendMessage(m) != nil {
			return
		}
	}
}

// fail closes the connection after a protocol violation: every socket
// disconnects with reason, then the engine connection closes.
func (c *client) fail(reason string) {
	c.closeSockets(reason)
	_ = c.sess.Close()
}

// closeSockets disconnects every socket of the client with reason.
func (c *client) closeSockets(reason string) {
	c.mu.Lock()
	c.closed = true
	sockets := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		sockets = append(sockets, s)
	}
	c.mu.Unlock()
	for _, s := range sockets {
		s.onClose(reason)
	}
}

func (c *client) onEngineClose(reason string, _ error) {
	c.connTimer.Stop()
	c.mu.Lock()
	if c.binTimer != nil {
		c.binTimer.Stop()
	}
	c.mu.Unlock()
	c.closeSockets(reason)
	c.srv.removeClient(c)
}

// disconnectAll is Socket.Disconnect(true): every socket of the client
// leaves its namespace, then the connection closes.
func (c *client) disconnectAll() {
	c.mu.Lock()
	sockets := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		sockets = append(sockets, s)
	}
	c.mu.Unlock()
	for _, s := range sockets {
		s.Disconnect(false)
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	_ = c.sess.Close()
}
