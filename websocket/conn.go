package websocket

import (
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// MessageType is the type of a data message.
type MessageType int

const (
	// MessageText is a UTF-8 text message.
	MessageText MessageType = 1
	// MessageBinary is a binary message.
	MessageBinary MessageType = 2
)

func (t MessageType) String() string {
	switch t {
	case MessageText:
		return "text"
	case MessageBinary:
		return "binary"
	}
	return fmt.Sprintf("MessageType(%d)", int(t))
}

// DefaultReadLimit is the largest message, in bytes after decompression,
// that a connection reads unless told otherwise. A larger message closes the
// connection with 1009 before any of its payload is buffered.
const DefaultReadLimit = 1 << 20

// closeTimeout bounds the wait for the peer's close frame after ours. A
// variable so that tests can shorten it.
var closeTimeout = 5 * time.Second

// failWriteTimeout bounds the write of the close frame that reports a
// protocol failure.
const failWriteTimeout = time.Second

// Conn is a WebSocket connection, from Accept on a server or Dial on a client.
//
// Concurrency: one goroutine at a time may read (Read, ReadAppend, Reader
// and the io.Reader it returns); a second reader waits for the first to
// finish its message. Every other method is safe for concurrent use. Whole
// messages written by Write and WritePrepared never interleave with each
// other; a Writer holds the connection's message slot until it is closed,
// while control frames (pongs, the close frame) may still go out between its
// fragments.
//
// Control frames arrive on the read path: keep a goroutine reading so that
// pings are answered and the peer's close frame is seen.
//
// Contexts: an operation whose context ends before it completes fails the
// connection, because a frame may have been cut in the middle; the
// operation returns the context's error.
//
// Memory: an idle connection holds no pooled read or write buffer. Buffers
// are borrowed for the duration of a read or write.
type Conn struct {
	nc     net.Conn
	server bool
	subp   string
	ext    string
	defl   *deflateConfig // nil without permessage-deflate

	readLimit atomic.Int64

	// Read side, owned by whoever holds rmu.
	rmu chan struct{}
	rd  readState

	// Write side. wmsg is held for a whole message, wframe for one frame.
	wmsg   chan struct{}
	wframe chan struct{}
	wguard deadlineGuard // used under wframe
	wbatch *[]byte       // under wframe: set while Batched collects frames
	whdr   [maxHeaderSize]byte
	wmask  [4]byte
	fw     *flate.Writer // compressor kept with context takeover
	fsink  sliceSink

	closeSent atomic.Bool
	closeRcvd chan struct{}
	rcvdOnce  sync.Once
	closed    chan struct{}
	closeOnce sync.Once
	pingMu    sync.Mutex
	pings     map[string]chan struct{}
}

// connConfig carries what the handshake decided.
type connConfig struct {
	nc          net.Conn
	server      bool
	buffered    []byte
	subprotocol string
	extensions  string
	deflate     *deflateConfig
	readLimit   int64
}

func newConn(cfg connConfig) *Conn {
	c := &Conn{
		nc:        cfg.nc,
		server:    cfg.server,
		subp:      cfg.subprotocol,
		ext:       cfg.extensions,
		defl:      cfg.deflate,
		rmu:       make(chan struct{}, 1),
		wmsg:      make(chan struct{}, 1),
		wframe:    make(chan struct{}, 1),
		closeRcvd: make(chan struct{}),
		closed:    make(chan struct{}),
	}
	c.SetReadLimit(cfg.readLimit)
	c.rd.br.init(cfg.nc, cfg.buffered)
	c.rd.guard = deadlineGuard{nc: cfg.nc, kind: readDeadline}
	c.wguard = deadlineGuard{nc: cfg.nc, kind: writeDeadline}
	c.rd.mr.c = c
	c.rd.src.c = c
	return c
}

// Subprotocol returns the negotiated subprotocol, or "" if none.
func (c *Conn) Subprotocol() string { return c.subp }

// Extensions returns the negotiated Sec-WebSocket-Extensions value, or "".
func (c *Conn) Extensions() string { return c.ext }

// Compressed reports whether permessage-deflate was negotiated.
func (c *Conn) Compressed() bool { return c.defl != nil }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetReadLimit sets the largest message, in bytes after decompression, that
// the connection accepts. Zero restores DefaultReadLimit; a negative value
// removes the limit. A larger message fails the connection with 1009.
func (c *Conn) SetReadLimit(n int64) {
	switch {
	case n == 0:
		n = DefaultReadLimit
	case n < 0:
		n = 1<<63 - 1
	}
	c.readLimit.Store(n)
}

// Done returns a channel closed when the underlying connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.closed }

// Close performs the closing handshake: it sends a close frame with code
// and reason, waits up to five seconds for the peer's close frame, and
// closes the connection. Use StatusNoStatusRcvd with an empty reason to send
// a close frame without a payload. Close returns ErrInvalidCloseCode or
// ErrCloseReason for values that may not be sent, and an error wrapping
// net.ErrClosed if the connection was already closed.
func (c *Conn) Close(code StatusCode, reason string) error {
	if err := checkClose(code, reason); err != nil {
		return err
	}
	if c.isClosed() {
		return fmt.Errorf("websocket: close: %w", net.ErrClosed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err := c.writeClose(ctx, code, reason)
	if err != nil && !errors.Is(err, errCloseSent) {
		c.closeNow()
		return err
	}
	c.awaitPeerClose(ctx)
	c.closeNow()
	return nil
}

// CloseNow closes the connection without a closing handshake.
func (c *Conn) CloseNow() error {
	if c.isClosed() {
		return fmt.Errorf("websocket: close: %w", net.ErrClosed)
	}
	c.closeNow()
	return nil
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *Conn) closeNow() {
	c.closeOnce.Do(func() {
		close(c.closed)
		_ = c.nc.Close()
	})
}

// awaitPeerClose waits for the peer's close frame: from the active reader if
// there is one, otherwise by reading and discarding messages itself.
func (c *Conn) awaitPeerClose(ctx context.Context) {
	select {
	case c.rmu <- struct{}{}:
		c.drainUntilClose(ctx)
		<-c.rmu
	default:
		select {
		case <-c.closeRcvd:
		case <-c.closed:
		case <-ctx.Done():
		}
	}
}

func (c *Conn) markCloseReceived() {
	c.rcvdOnce.Do(func() { close(c.closeRcvd) })
}

// Ping sends a ping and waits for its pong. A goroutine must be reading for
// the pong to be seen.
func (c *Conn) Ping(ctx context.Context) error {
	c.pingMu.Lock()
	if c.pings == nil {
		c.pings = make(map[string]chan struct{})
	}
	// A random key, so that a peer cannot answer a ping it never saw.
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	key := hex.EncodeToString(rnd[:])
	ch := make(chan struct{})
	c.pings[key] = ch
	c.pingMu.Unlock()
	defer func() {
		c.pingMu.Lock()
		delete(c.pings, key)
		c.pingMu.Unlock()
	}()
	if err := c.writeControl(ctx, opPing, []byte(key)); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-c.closed:
		return fmt.Errorf("websocket: ping: %w", net.ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("websocket: ping: %w", ctx.Err())
	}
}

func (c *Conn) gotPong(p []byte) {
	c.pingMu.Lock()
	if ch, ok := c.pings[string(p)]; ok {
		close(ch)
		delete(c.pings, string(p))
	}
	c.pingMu.Unlock()
}

// acquire takes a one-slot semaphore, giving up when ctx ends or the
// connection closes.
func (c *Conn) acquire(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case sem <- struct{}{}:
		return nil
	case <-c.closed:
		return net.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}
