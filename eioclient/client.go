package eioclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wsio/wsio/eioparser"
	"github.com/wsio/wsio/websocket"
)

// Transport names, as in Options.Transports and the handshake's upgrades.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// Close reasons, as engine.io-client names them.
const (
	ReasonForcedClose    = "forced close"
	ReasonTransportClose = "transport close"
	ReasonTransportError = "transport error"
	ReasonPingTimeout    = "ping timeout"
	ReasonParseError     = "parse error"
)

// Errors. A *CloseError matches ErrClosed with errors.Is, and its cause (if
// any) through Unwrap.
var (
	// ErrClosed is returned by Send once the client is closing or closed.
	ErrClosed = errors.New("eioclient: client closed")
	// ErrHandshake is wrapped by Dial's errors when the server refused the
	// handshake or answered it with something other than an open packet.
	ErrHandshake = errors.New("eioclient: handshake failed")
	// ErrPingTimeout is the cause of a "ping timeout" close.
	ErrPingTimeout = errors.New("eioclient: no ping from the server within pingInterval + pingTimeout")
	// ErrClosedByServer is the cause of a "transport close" caused by the
	// server's close packet.
	ErrClosedByServer = errors.New("eioclient: closed by the server")
	// ErrParse is wrapped by the cause of a "parse error" close.
	ErrParse = errors.New("eioclient: malformed data from the server")
	// ErrInvalidUTF8 is returned by Send for a text message that is not
	// valid UTF-8.
	ErrInvalidUTF8 = errors.New("eioclient: text message is not valid UTF-8")
)

// CloseError tells why a client closed.
type CloseError struct {
	// Reason is one of the Reason constants.
	Reason string
	// Err is the cause, or nil (always nil for ReasonForcedClose).
	Err error
}

// Error describes the close.
func (e *CloseError) Error() string {
	if e.Err == nil {
		return "eioclient: closed: " + e.Reason
	}
	return "eioclient: closed: " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *CloseError) Unwrap() error { return e.Err }

// Is reports whether target is ErrClosed: every CloseError is.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

// Options configures Dial. The zero value is ready to use.
type Options struct {
	// Path is the server's Engine.IO path. A trailing slash is added if
	// missing. Default: the URL's path if it is neither empty nor "/",
	// otherwise "/engine.io/".
	Path string

	// Transports lists the transports to use, in order of preference: the
	// first one opens the session, a later one may be upgraded to.
	// Default: {"polling", "websocket"}. {"websocket"} connects over
	// WebSocket only; {"websocket", "polling"} with TryAllTransports
	// tries WebSocket first and falls back to polling.
	Transports []string

	// NoUpgrade keeps the session on the transport it opened with.
	NoUpgrade bool

	// TryAllTransports makes Dial try the next transport when the handshake
	// on one fails (not when ctx ends). A transport that failed is not
	// upgraded to later.
	TryAllTransports bool

	// Query holds extra query parameters, added to those of the URL. EIO,
	// transport, sid and t are set by the client.
	Query url.Values

	// Header holds extra HTTP headers for every polling request and the
	// WebSocket handshake.
	Header http.Header

	// HTTPClient makes the polling requests. Its Jar, if any, also provides
	// the cookies of the WebSocket handshake, and when its Transport is an
	// *http.Transport, the WebSocket dial uses that transport's proxy,
	// dialer and TLS configuration. The client never closes its idle
	// connections. Default: a client of its own, built on a clone of
	// http.DefaultTransport, whose connections are closed on close.
	HTTPClient *http.Client

	// TLSConfig configures TLS for https:// and wss:// URLs: for the
	// WebSocket, and for polling unless HTTPClient is set.
	TLSConfig *tls.Config

	// ReadLimit is the largest polling response body or WebSocket message
	// the client accepts; a larger one closes the client with "transport
	// error". Default: 16 MiB.
	ReadLimit int64

	// Logger receives debug logs (transport changes, failed probes).
	// Default: none.
	Logger *slog.Logger

	// OnMessage is called with each message from the server. data is the
	// callee's to keep.
	OnMessage func(data []byte, binary bool)
	// OnPing is called for each ping from the server, once its pong is
	// queued.
	OnPing func()
	// OnUpgrade is called once the session has moved to a new transport.
	OnUpgrade func(transport string)
	// OnClose is called once, last, when the client has closed (never
	// when Dial fails).
	OnClose func(reason string, err error)
}

// Handshake is what the server's open packet announced.
type Handshake struct {
	// SID is the session id.
	SID string
	// Upgrades lists the transports the session may move to.
	Upgrades []string
	// PingInterval is the time between the server's pings; PingTimeout,
	// how long the server waits for the pong. The client closes when no
	// ping comes within their sum.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// MaxPayload is the largest payload the server accepts, in bytes; 0
	// if the server did not say.
	MaxPayload int
}

const (
	defaultPath      = "/engine.io/"
	defaultReadLimit = 16 << 20
	// maxBuffered bounds the bytes of messages queued and in flight before
	// Send waits.
	maxBuffered = 1 << 20
	// probeTimeout bounds an upgrade probe.
	probeTimeout = 10 * time.Second
)

// closeTimeout bounds how long Close waits for queued packets to be
// written and the close to be acknowledged. A variable so that tests can
// shorten it.
var closeTimeout = 5 * time.Second

type state int

const (
	stateOpen    state = iota
	stateClosing       // Close was called; queued packets are being written
	stateClosed
)

type upgradeState int

const (
	upNone      upgradeState = iota
	upProbing                // the probe goroutine is at work
	upReady                  // the probe succeeded; writes pause until the reader switches
	upSwitching              // the reader is switching
)

// Client is an Engine.IO client session. Its methods are safe for
// concurrent use.
type Client struct {
	// Set by Dial, then read-only.
	opts       Options
	log        *slog.Logger
	base       url.URL // http or https, with the path and extra query
	hs         Handshake
	transports []string
	httpc      *http.Client
	ownHTTP    *http.Transport // closed on close; nil for Options.HTTPClient
	readLimit  int64
	ctx        context.Context // ends when the client closes
	cancel     context.CancelFunc
	done       chan struct{}
	wg         sync.WaitGroup // writer and probe goroutines
	pending    []eioparser.Packet

	mu        sync.Mutex
	st        state
	transport string
	ws        *websocket.Conn // the WebSocket transport, once on it
	up        upgradeState
	probe     *websocket.Conn // the probed WebSocket, from ready to switched
	buf       []eioparser.Packet
	queued    int  // message bytes queued or being written
	writing   bool // the writer goroutine runs
	changed   chan struct{}
	watchdog  *time.Timer
	closeErr  *CloseError
}

// Dial connects to the Engine.IO server at rawURL (http, https, ws or wss)
// and returns once the handshake is complete. ctx bounds the handshake
// only; Close ends the client.
func Dial(ctx context.Context, rawURL string, opts *Options) (*Client, error) {
	c, err := newClient(rawURL, opts)
	if err != nil {
		return nil, err
	}
	for {
		name := c.transports[0]
		err = c.open(ctx, name)
		if err == nil {
			break
		}
		if ctx.Err() != nil || !c.opts.TryAllTransports || len(c.transports) == 1 {
			c.releaseHTTP()
			return nil, err
		}
		c.log.Debug("eioclient: handshake failed, trying the next transport", "transport", name, "err", err)
		c.transports = c.transports[1:]
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	// Under the lock: with short intervals the timer may fire before
	// AfterFunc has returned, and its closeWith reads c.watchdog.
	c.mu.Lock()
	c.watchdog = time.AfterFunc(c.hs.PingInterval+c.hs.PingTimeout, func() {
		c.closeWith(ReasonPingTimeout, ErrPingTimeout)
	})
	c.mu.Unlock()
	if c.transport == TransportPolling && !c.opts.NoUpgrade &&
		slices.Contains(c.hs.Upgrades, TransportWebSocket) && slices.Contains(c.transports, TransportWebSocket) {
		c.up = upProbing
		c.wg.Add(1)
		go c.probeWebSocket()
	}
	go c.run()
	return c, nil
}

func newClient(rawURL string, opts *Options) (*Client, error) {
	c := &Client{done: make(chan struct{}), changed: make(chan struct{})}
	if opts != nil {
		c.opts = *opts
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("eioclient: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("eioclient: unsupported URL scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("eioclient: URL %q has no host", rawURL)
	}
	path := c.opts.Path
	if path == "" {
		path = defaultPath
		if u.Path != "" && u.Path != "/" {
			path = u.Path
		}
	}
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	q := u.Query()
	for k, vs := range c.opts.Query {
		q[k] = append(q[k], vs...)
	}
	c.base = url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: path, RawQuery: q.Encode()}

	c.transports = slices.Clone(c.opts.Transports)
	if len(c.transports) == 0 {
		c.transports = []string{TransportPolling, TransportWebSocket}
	}
	for _, t := range c.transports {
		if t != TransportPolling && t != TransportWebSocket {
			return nil, fmt.Errorf("eioclient: unknown transport %q", t)
		}
	}
	c.readLimit = c.opts.ReadLimit
	if c.readLimit <= 0 {
		c.readLimit = defaultReadLimit
	}
	c.readLimit = min(c.readLimit, math.MaxInt/2)
	c.log = c.opts.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.httpc = c.opts.HTTPClient
	if c.httpc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if c.opts.TLSConfig != nil {
			t.TLSClientConfig = c.opts.TLSConfig.Clone()
		}
		c.ownHTTP = t
		c.httpc = &http.Client{Transport: t}
	}
	return c, nil
}

// open performs the handshake on one transport.
func (c *Client) open(ctx context.Context, name string) error {
	if name == TransportWebSocket {
		conn, err := c.dialWebSocket(ctx, "")
		if err != nil {
			return fmt.Errorf("eioclient: websocket handshake: %w", err)
		}
		typ, msg, err := conn.Read(ctx)
		if err != nil {
			_ = conn.CloseNow()
			return fmt.Errorf("eioclient: websocket handshake: %w", err)
		}
		if typ != websocket.MessageText {
			_ = conn.CloseNow()
			return fmt.Errorf("%w: a binary message instead of the open packet", ErrHandshake)
		}
		p, err := eioparser.DecodeText(msg)
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrHandshake, err)
		} else {
			c.hs, err = parseOpen(p)
		}
		if err != nil {
			_ = conn.CloseNow()
			return err
		}
		c.transport, c.ws = TransportWebSocket, conn
		return nil
	}
	body, err := c.get(ctx, "")
	if err != nil {
		if _, ok := errors.AsType[*statusError](err); ok {
			err = fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		return err
	}
	packets, err := eioparser.DecodePayload(body, c.limits())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if c.hs, err = parseOpen(packets[0]); err != nil {
		return err
	}
	c.transport, c.pending = TransportPolling, packets[1:]
	return nil
}

func (c *Client) limits() eioparser.Limits {
	// A packet takes two bytes at least: the byte count bounds the packets.
	return eioparser.Limits{MaxBytes: int(c.readLimit), MaxPackets: int(c.readLimit/2 + 1)}
}

// ID returns the session id.
func (c *Client) ID() string { return c.hs.SID }

// Handshake returns what the server announced in its open packet.
func (c *Client) Handshake() Handshake {
	h := c.hs
	h.Upgrades = slices.Clone(h.Upgrades)
	return h
}

// Transport returns the name of the current transport.
func (c *Client) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Done returns a channel closed when the client has closed, OnClose has
// returned and the client's goroutines have ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns nil while the client is open, then a *CloseError telling
// why it closed.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeErr == nil {
		return nil
	}
	return c.closeErr
}

// Send queues a message for the server: text unless binary is true. It
// copies data. Send waits, bounded by ctx, while the messages queued or
// being written and this one would exceed 1 MiB; a message is always
// accepted when nothing is queued. It returns ErrInvalidUTF8 for text that
// is not UTF-8 and an error matching ErrClosed once the client is closing.
// A nil error means the message was queued, not that it was delivered.
func (c *Client) Send(ctx context.Context, data []byte, binary bool) error {
	if !binary && !utf8.Valid(data) {
		return ErrInvalidUTF8
	}
	c.mu.Lock()
	for {
		if c.st != stateOpen {
			err := c.errLocked()
			c.mu.Unlock()
			return err
		}
		if c.queued == 0 || c.queued+len(data) <= maxBuffered {
			break
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("eioclient: send: %w", ctx.Err())
		}
		c.mu.Lock()
	}
	c.buf = append(c.buf, eioparser.Packet{Type: eioparser.PacketMessage, Data: slices.Clone(data), Binary: binary})
	c.queued += len(data)
	c.startWriterLocked()
	c.mu.Unlock()
	return nil
}

func (c *Client) errLocked() error {
	if c.closeErr != nil {
		return c.closeErr
	}
	return ErrClosed
}

// Close closes the client with the reason "forced close". It first aborts
// an upgrade probe that has not switched yet, writes the messages already
// queued and tells the server (a close packet on polling, a close frame on
// WebSocket), waiting up to five seconds in all. It does not wait for the
// callbacks: wait on Done for that (outside a callback). On an already
// closed client it returns Err's value.
func (c *Client) Close() error {
	end := time.Now().Add(closeTimeout)
	deadline := time.NewTimer(closeTimeout)
	defer deadline.Stop()
	c.mu.Lock()
	if c.st != stateOpen {
		err := c.errLocked()
		c.mu.Unlock()
		return err
	}
	c.st = stateClosing
	c.broadcastLocked()
	if c.up == upReady {
		// The reader has not taken the probed WebSocket: drop it and
		// resume writing on polling.
		_ = c.probe.CloseNow()
		c.probe, c.up = nil, upNone
		c.startWriterLocked()
	}
	// Wait for a switch in progress; the reader does not run callbacks
	// while switching, so this cannot wait on the caller.
	if !c.waitLocked(deadline.C, func() bool { return c.up != upSwitching }) {
		c.mu.Unlock()
		c.closeWith(ReasonForcedClose, nil)
		return nil
	}
	ws := c.ws
	if c.transport == TransportPolling {
		c.buf = append(c.buf, eioparser.Packet{Type: eioparser.PacketClose})
		c.startWriterLocked()
	}
	drained := c.waitLocked(deadline.C, func() bool { return !c.writing && len(c.buf) == 0 })
	c.mu.Unlock()
	if drained && ws != nil {
		// The close handshake gets what is left of the time.
		cut := time.AfterFunc(time.Until(end), func() { _ = ws.CloseNow() })
		_ = ws.Close(websocket.StatusNormalClosure, "")
		cut.Stop()
	}
	c.closeWith(ReasonForcedClose, nil)
	return nil
}

// waitLocked waits, with c.mu held on entry and return, until cond holds,
// the client has closed or timeout fires. It reports whether cond held.
func (c *Client) waitLocked(timeout <-chan time.Time, cond func() bool) bool {
	for !cond() {
		if c.st == stateClosed {
			return false
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
			c.mu.Lock()
		case <-timeout:
			c.mu.Lock()
			return cond()
		}
	}
	return true
}

// broadcastLocked wakes every goroutine waiting for a change of state.
func (c *Client) broadcastLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// closeWith closes the client for reason, once; later calls do nothing.
// When Close is in progress, every reason becomes "forced close".
func (c *Client) closeWith(reason string, err error) {
	c.mu.Lock()
	if c.st == stateClosed {
		c.mu.Unlock()
		return
	}
	if c.st == stateClosing {
		reason, err = ReasonForcedClose, nil
	}
	c.st = stateClosed
	c.closeErr = &CloseError{Reason: reason, Err: err}
	c.watchdog.Stop()
	ws, probe := c.ws, c.probe
	c.buf = nil
	c.broadcastLocked()
	c.mu.Unlock()
	c.cancel()
	if ws != nil {
		_ = ws.CloseNow()
	}
	if probe != nil {
		_ = probe.CloseNow()
	}
	c.log.Debug("eioclient: closed", "sid", c.hs.SID, "reason", reason, "err", err)
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st == stateClosed
}

// run is the reader goroutine: the handshake's leftover packets, the
// polling loop, then the WebSocket loop; at the end, OnClose.
func (c *Client) run() {
	defer c.finish()
	if c.Transport() == TransportPolling {
		for _, p := range c.pending {
			if !c.handle(p) {
				return
			}
		}
		c.pending = nil
		if !c.pollLoop() {
			return
		}
	}
	c.webSocketLoop()
}

func (c *Client) finish() {
	c.closeWith(ReasonTransportClose, nil) // a no-op unless a path forgot to
	c.wg.Wait()
	c.releaseHTTP()
	if c.opts.OnClose != nil {
		ce := c.Err().(*CloseError)
		c.opts.OnClose(ce.Reason, ce.Err)
	}
	close(c.done)
}

func (c *Client) releaseHTTP() {
	if c.ownHTTP != nil {
		c.ownHTTP.CloseIdleConnections()
	}
}

// pollLoop polls until the client closes (false) or the session moves to
// the WebSocket (true).
func (c *Client) pollLoop() bool {
	for !c.isClosed() {
		if conn := c.takeProbe(); conn != nil && c.switchTo(conn) {
			return true
		}
		body, err := c.get(c.ctx, c.hs.SID)
		if err != nil {
			c.closeWith(ReasonTransportError, err)
			return false
		}
		packets, err := eioparser.DecodePayload(body, c.limits())
		if err != nil {
			c.closeWith(ReasonParseError, fmt.Errorf("%w: %w", ErrParse, err))
			return false
		}
		for _, p := range packets {
			if !c.handle(p) {
				return false
			}
		}
	}
	return false
}

func (c *Client) webSocketLoop() {
	c.mu.Lock()
	conn := c.ws
	c.mu.Unlock()
	for {
		typ, msg, err := conn.Read(c.ctx)
		if err != nil {
			if _, ok := errors.AsType[*websocket.CloseError](err); ok {
				c.closeWith(ReasonTransportClose, err)
			} else {
				c.closeWith(ReasonTransportError, err)
			}
			return
		}
		var p eioparser.Packet
		if typ == websocket.MessageBinary {
			p = eioparser.DecodeBinary(msg)
		} else if p, err = eioparser.DecodeText(msg); err != nil {
			c.closeWith(ReasonParseError, fmt.Errorf("%w: %w", ErrParse, err))
			return
		}
		if !c.handle(p) {
			return
		}
	}
}

// handle acts on one packet from the server; false means stop reading.
func (c *Client) handle(p eioparser.Packet) bool {
	c.mu.Lock()
	if c.st == stateClosed {
		c.mu.Unlock()
		return false
	}
	switch p.Type {
	case eioparser.PacketClose:
		c.mu.Unlock()
		c.closeWith(ReasonTransportClose, ErrClosedByServer)
		return false
	case eioparser.PacketPing:
		if c.st == stateOpen {
			c.buf = append(c.buf, eioparser.Packet{Type: eioparser.PacketPong})
			c.startWriterLocked()
		}
		c.watchdog.Reset(c.hs.PingInterval + c.hs.PingTimeout)
		c.mu.Unlock()
		if c.opts.OnPing != nil {
			c.opts.OnPing()
		}
	case eioparser.PacketMessage:
		c.mu.Unlock()
		if c.opts.OnMessage != nil {
			c.opts.OnMessage(p.Data[:len(p.Data):len(p.Data)], p.Binary)
		}
	default:
		// open (again), pong, upgrade, noop: nothing to do.
		c.mu.Unlock()
	}
	return true
}

// startWriterLocked starts the writer goroutine if packets wait and
// writing is allowed.
func (c *Client) startWriterLocked() {
	if c.writing || len(c.buf) == 0 || c.st == stateClosed || c.up == upReady || c.up == upSwitching {
		return
	}
	c.writing = true
	c.wg.Add(1)
	go c.writer()
}

// writer writes queued packets in order, in batches, until none is left,
// writing pauses for an upgrade, or the client closes.
func (c *Client) writer() {
	defer c.wg.Done()
	var scratch []byte
	for {
		c.mu.Lock()
		if len(c.buf) == 0 || c.st == stateClosed || c.up == upReady || c.up == upSwitching {
			c.writing = false
			c.broadcastLocked()
			c.mu.Unlock()
			return
		}
		var batch []eioparser.Packet
		if c.transport == TransportPolling {
			n := batchLen(c.buf, c.hs.MaxPayload)
			batch = c.buf[:n:n]
			c.buf = c.buf[n:]
		} else {
			batch = c.buf
			c.buf = nil
		}
		if len(c.buf) == 0 {
			c.buf = nil
		}
		transport, ws := c.transport, c.ws
		c.mu.Unlock()

		var err error
		if transport == TransportPolling {
			err = c.post(batch)
		} else {
			for _, p := range batch {
				if p.Binary {
					err = ws.Write(c.ctx, websocket.MessageBinary, p.Data)
				} else {
					scratch = eioparser.AppendText(scratch[:0], p)
					err = ws.Write(c.ctx, websocket.MessageText, scratch)
				}
				if err != nil {
					break
				}
			}
		}
		n := 0
		for _, p := range batch {
			n += len(p.Data)
		}
		c.mu.Lock()
		c.queued -= n
		c.broadcastLocked()
		c.mu.Unlock()
		if err != nil {
			c.closeWith(ReasonTransportError, err)
		}
	}
}

// batchLen returns how many packets from the head of buf fit one polling
// payload of at most maxPayload bytes: at least one. Like engine.io-client,
// it counts a binary packet by its raw size.
func batchLen(buf []eioparser.Packet, maxPayload int) int {
	if maxPayload <= 0 {
		return len(buf)
	}
	size := 0
	for i, p := range buf {
		size += 1 + len(p.Data) // type or "b", then the data
		if i > 0 {
			size++ // separator
			if size > maxPayload {
				return i
			}
		}
	}
	return len(buf)
}

// takeProbe hands a successfully probed WebSocket to the reader.
func (c *Client) takeProbe() *websocket.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.up != upReady {
		return nil
	}
	c.up = upSwitching
	return c.probe
}

// switchTo completes an upgrade on the reader goroutine, after a poll
// cycle: it waits for the POST in flight, sends the upgrade packet and
// makes conn the transport. It reports whether the session moved.
func (c *Client) switchTo(conn *websocket.Conn) bool {
	c.mu.Lock()
	if !c.waitLocked(nil, func() bool { return !c.writing }) {
		c.mu.Unlock()
		return false // closed; closeWith closes the probe
	}
	c.mu.Unlock()
	if err := conn.Write(c.ctx, websocket.MessageText, []byte{'0' + byte(eioparser.PacketUpgrade)}); err != nil {
		c.log.Debug("eioclient: upgrade failed, staying on polling", "sid", c.hs.SID, "err", err)
		_ = conn.CloseNow()
		c.mu.Lock()
		c.probe, c.up = nil, upNone
		c.startWriterLocked()
		c.broadcastLocked()
		c.mu.Unlock()
		return false
	}
	c.mu.Lock()
	if c.st == stateClosed {
		c.mu.Unlock()
		return false
	}
	c.transport, c.ws, c.probe, c.up = TransportWebSocket, conn, nil, upNone
	c.startWriterLocked()
	c.broadcastLocked()
	c.mu.Unlock()
	c.log.Debug("eioclient: upgraded", "sid", c.hs.SID, "transport", TransportWebSocket)
	if c.opts.OnUpgrade != nil {
		c.opts.OnUpgrade(TransportWebSocket)
	}
	return true
}

// probeWebSocket is the probe goroutine: it opens a WebSocket for the
// session and checks that the server answers "2probe" with "3probe".
func (c *Client) probeWebSocket() {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, probeTimeout)
	defer cancel()
	conn, err := c.dialWebSocket(ctx, c.hs.SID)
	if err == nil {
		err = conn.Write(ctx, websocket.MessageText, []byte("2probe"))
		if err == nil {
			var typ websocket.MessageType
			var msg []byte
			typ, msg, err = conn.Read(ctx)
			if err == nil && (typ != websocket.MessageText || string(msg) != "3probe") {
				err = fmt.Errorf("eioclient: probe answered with %q", msg)
			}
		}
		if err != nil {
			_ = conn.CloseNow()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && c.st != stateOpen {
		_ = conn.CloseNow()
		err = ErrClosed
	}
	if err != nil {
		c.up = upNone
		c.log.Debug("eioclient: upgrade probe failed, staying on polling", "sid", c.hs.SID, "err", err)
		return
	}
	c.up, c.probe = upReady, conn
	c.broadcastLocked()
}
