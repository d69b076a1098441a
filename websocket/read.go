package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"
)

// readState is the read side of a connection, owned by the holder of rmu.
type readState struct {
	br    connReader
	guard deadlineGuard
	ctx   context.Context

	hdr     frameHeader // current frame
	remain  int64       // payload bytes left in the current frame
	maskPos int

	inMsg      bool // a data message has started and its final frame has not been seen
	fin        bool // the current data frame is the message's last
	active     bool // a message is being delivered to the caller
	op         opcode
	compressed bool
	raw        int64 // raw payload bytes of the message so far
	out        int64 // decompressed bytes of the message so far
	utf8       utf8Validator

	mr   messageReader
	src  inflateSource
	fr   io.ReadCloser // decompressor of the current message
	dict []byte        // recent plaintext when the peer keeps its context

	ctrl [maxControlPayload]byte
	err  error // sticky: once set, every read returns it
}

// Reader waits for the next data message and returns its type and a reader
// for its payload, valid until the next call to Reader, Read or ReadAppend.
// Reading the payload to io.EOF completes the message; a message not read
// to the end is discarded by the next call. ctx governs the wait and every
// read of the payload.
func (c *Conn) Reader(ctx context.Context) (MessageType, io.Reader, error) {
	if err := c.lockRead(ctx); err != nil {
		return 0, nil, err
	}
	defer c.unlockRead()
	if err := c.awaitData(); err != nil {
		return 0, nil, err
	}
	if err := c.startMessage(); err != nil {
		return 0, nil, err
	}
	return MessageType(c.rd.op), &c.rd.mr, nil
}

// Read waits for the next data message and returns it in a new slice.
func (c *Conn) Read(ctx context.Context) (MessageType, []byte, error) {
	return c.ReadAppend(ctx, nil)
}

// ReadAppend waits for the next data message and appends its payload to
// dst. Reusing dst across calls reads without allocating.
func (c *Conn) ReadAppend(ctx context.Context, dst []byte) (MessageType, []byte, error) {
	if err := c.lockRead(ctx); err != nil {
		return 0, dst, err
	}
	// Wait for the first byte here, with as few frames on the stack as
	// possible: a connection spends most of its life parked at this point,
	// and a shallow wait keeps its goroutine's stack at the minimum size.
	if err := c.awaitData(); err != nil {
		c.unlockRead()
		return 0, dst, err
	}
	typ, dst, err := c.readAppendLocked(dst)
	c.unlockRead()
	return typ, dst, err
}

// growStep bounds how much ReadAppend grows its slice ahead of the data.
const growStep = 1 << 20

// awaitData blocks until the peer has sent something, reading into the
// inline buffer.
func (c *Conn) awaitData() error {
	if c.rd.active || c.rd.br.buffered() > 0 {
		return nil
	}
	if err := c.rd.br.fill(1); err != nil {
		return c.ioError(err)
	}
	return nil
}

func (c *Conn) readAppendLocked(dst []byte) (MessageType, []byte, error) {
	if err := c.startMessage(); err != nil {
		return 0, dst, err
	}
	typ := MessageType(c.rd.op)
	for {
		if !c.rd.compressed && c.rd.remain > 0 {
			// Grow by what the frame announces, but at most growStep at a
			// time: without a read limit the announced length is
			// unbounded, and memory must follow bytes that really arrive.
			dst = slices.Grow(dst, int(min(c.rd.remain, growStep)))
		}
		var n int
		var err error
		if len(dst) == cap(dst) {
			// Full: read a little into scratch space first, so that a
			// message that ends exactly at cap(dst) costs no growth.
			n, err = c.readMessage(c.rd.ctrl[:])
			dst = append(dst, c.rd.ctrl[:n]...)
		} else {
			n, err = c.readMessage(dst[len(dst):cap(dst)])
			dst = dst[:len(dst)+n]
		}
		if err == io.EOF {
			return typ, dst, nil
		}
		if err != nil {
			return typ, dst, err
		}
	}
}

func (c *Conn) lockRead(ctx context.Context) error {
	if err := c.acquire(ctx, c.rmu); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return c.closedReadError(ctx)
		}
		return fmt.Errorf("websocket: read: %w", err)
	}
	if c.rd.err != nil {
		<-c.rmu
		return c.rd.err
	}
	c.rd.ctx = ctx
	c.rd.guard.arm(ctx)
	return nil
}

// closedReadError waits for the reader that holds the lock to finish (the
// connection is closed, so it does promptly) and returns the error that
// ended the connection, read under the lock.
func (c *Conn) closedReadError(ctx context.Context) error {
	select {
	case c.rmu <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("websocket: read: %w", ctx.Err())
	}
	err := c.rd.err
	<-c.rmu
	if err == nil {
		err = fmt.Errorf("websocket: read: %w", net.ErrClosed)
	}
	return err
}

func (c *Conn) unlockRead() {
	c.rd.guard.disarm()
	c.rd.ctx = nil
	c.rd.br.releaseIfIdle()
	<-c.rmu
}

// messageReader is the io.Reader Reader returns.
type messageReader struct{ c *Conn }

func (m *messageReader) Read(p []byte) (int, error) {
	c := m.c
	if err := c.lockRead(context.Background()); err != nil {
		return 0, err
	}
	defer c.unlockRead()
	if !c.rd.active {
		return 0, io.EOF
	}
	return c.readMessage(p)
}

// startMessage discards what is left of the previous message and reads up
// to the first frame of the next one.
func (c *Conn) startMessage() error {
	for c.rd.active {
		if _, err := c.readMessage(c.rd.ctrl[:]); err != nil {
			if err == io.EOF {
				break
			}
			return err
		}
	}
	if err := c.nextDataFrame(); err != nil {
		return err
	}
	c.rd.active = true
	c.rd.out = 0
	c.rd.utf8.reset()
	if c.rd.compressed {
		c.rd.src.tail = 0
		c.rd.fr = getFlateReader(&c.rd.src, c.rd.dict)
	}
	return nil
}

// readMessage reads payload of the current message into p; io.EOF marks its
// end.
func (c *Conn) readMessage(p []byte) (int, error) {
	if !c.rd.active {
		return 0, io.EOF
	}
	if c.rd.compressed {
		return c.readInflated(p)
	}
	n, err := c.readRaw(p)
	if n > 0 && c.rd.op == opText && !c.rd.utf8.feed(p[:n]) {
		return 0, c.fail(failf(StatusInvalidFramePayloadData, ErrInvalidUTF8, "text message"))
	}
	if err == io.EOF {
		if c.rd.op == opText && !c.rd.utf8.complete() {
			return n, c.fail(failf(StatusInvalidFramePayloadData, ErrInvalidUTF8, "text message ends inside a character"))
		}
		c.rd.active = false
	}
	return n, err
}

// readRaw reads the message's payload as it is on the wire, unmasked,
// crossing frame boundaries; io.EOF after the final frame.
func (c *Conn) readRaw(p []byte) (int, error) {
	for c.rd.remain == 0 {
		if c.rd.fin {
			return 0, io.EOF
		}
		if err := c.nextDataFrame(); err != nil {
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > c.rd.remain {
		p = p[:c.rd.remain]
	}
	n, err := c.rd.br.read(p)
	if n > 0 {
		c.unmask(p[:n])
	}
	if err != nil && n == 0 {
		return 0, c.ioError(err)
	}
	return n, nil
}

func (c *Conn) unmask(p []byte) {
	if c.rd.hdr.masked {
		c.rd.maskPos = maskBytes(c.rd.hdr.key, c.rd.maskPos, p)
	}
	c.rd.remain -= int64(len(p))
}

// nextDataFrame reads frame headers, handling control frames, until the
// next data frame, which it checks against the fragmentation rules.
func (c *Conn) nextDataFrame() error {
	for {
		if err := c.readHeader(); err != nil {
			return err
		}
		h := &c.rd.hdr
		if h.op.isControl() {
			if err := c.handleControl(); err != nil {
				return err
			}
			continue
		}
		if h.op == opContinuation {
			if !c.rd.inMsg {
				return c.fail(failf(StatusProtocolError, ErrProtocol, "continuation frame without a message"))
			}
			if h.rsv1 {
				return c.fail(failf(StatusProtocolError, ErrProtocol, "RSV1 on a continuation frame"))
			}
		} else {
			if c.rd.inMsg {
				return c.fail(failf(StatusProtocolError, ErrProtocol, "new message inside a fragmented message"))
			}
			if h.rsv1 && c.defl == nil {
				return c.fail(failf(StatusProtocolError, ErrProtocol, "RSV1 set without a negotiated extension"))
			}
			c.rd.op = h.op
			c.rd.compressed = h.rsv1
			c.rd.raw = 0
		}
		c.rd.inMsg = !h.fin
		c.rd.fin = h.fin
		c.rd.raw += h.length
		limit := c.readLimit.Load()
		rawLimit := limit
		if c.rd.compressed && limit < 1<<62 {
			rawLimit += limit/512 + 64 // deflate may slightly expand incompressible data
		}
		if h.length > rawLimit || c.rd.raw > rawLimit {
			return c.fail(failf(StatusMessageTooBig, ErrMessageTooBig, "message exceeds the read limit of %d bytes", limit))
		}
		c.rd.remain = h.length
		c.rd.maskPos = 0
		return nil
	}
}

// readHeader reads and validates one frame header.
func (c *Conn) readHeader() error {
	br := &c.rd.br
	if err := br.fill(2); err != nil {
		return c.ioError(err)
	}
	b := br.next(2)
	h := &c.rd.hdr
	extra := parseHeaderStart(b[0], b[1], h)
	if extra > 0 {
		if err := br.fill(extra); err != nil {
			return c.ioError(err)
		}
		if err := parseHeaderRest(br.next(extra), h); err != nil {
			return c.fail(&failure{code: StatusProtocolError, err: err})
		}
	}
	switch {
	case h.rsv2 || h.rsv3:
		return c.fail(failf(StatusProtocolError, ErrProtocol, "reserved bits RSV2/RSV3 set"))
	case !h.op.isKnown():
		return c.fail(failf(StatusProtocolError, ErrProtocol, "reserved opcode %#x", byte(h.op)))
	case h.masked != c.server:
		if c.server {
			return c.fail(failf(StatusProtocolError, ErrProtocol, "unmasked frame from a client"))
		}
		return c.fail(failf(StatusProtocolError, ErrProtocol, "masked frame from a server"))
	case h.op.isControl() && !h.fin:
		return c.fail(failf(StatusProtocolError, ErrProtocol, "fragmented control frame"))
	case h.op.isControl() && h.length > maxControlPayload:
		return c.fail(failf(StatusProtocolError, ErrProtocol, "control frame of %d bytes", h.length))
	case h.op.isControl() && h.rsv1:
		return c.fail(failf(StatusProtocolError, ErrProtocol, "RSV1 on a control frame"))
	}
	return nil
}

// handleControl reads a control frame's payload and acts on it.
func (c *Conn) handleControl() error {
	h := &c.rd.hdr
	n := int(h.length)
	p := c.rd.ctrl[:n]
	if n > 0 {
		if err := c.rd.br.fill(n); err != nil {
			return c.ioError(err)
		}
		copy(p, c.rd.br.next(n))
		if h.masked {
			maskBytes(h.key, 0, p)
		}
	}
	switch h.op {
	case opPing:
		ctx := c.rd.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		if err := c.writeControl(ctx, opPong, p); err != nil && !errors.Is(err, errCloseSent) {
			return c.ioError(err)
		}
	case opPong:
		c.gotPong(p)
	case opClose:
		return c.peerClosed(p)
	}
	return nil
}

// peerClosed handles the peer's close frame: it answers with a close frame
// of its own unless this side sent one first, then closes the connection.
func (c *Conn) peerClosed(p []byte) error {
	ce, f := parseClosePayload(p)
	if f != nil {
		return c.fail(f)
	}
	c.markCloseReceived()
	if !c.closeSent.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), failWriteTimeout)
		code, reason := ce.Code, ""
		_ = c.writeClose(ctx, code, reason)
		cancel()
	}
	c.closeNow()
	c.rd.err = ce
	return ce
}

// fail closes the connection because of a protocol failure seen on the read
// side: it sends a close frame with the failure's code, closes the
// connection and makes the error sticky.
func (c *Conn) fail(f *failure) error {
	if !c.closeSent.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), failWriteTimeout)
		if c.writeClose(ctx, f.code, "") == nil {
			c.linger()
		}
		cancel()
	}
	c.closeNow()
	c.rd.err = f
	return f
}

// failLinger bounds how long a failing connection keeps reading after its
// close frame. A variable so that tests can shorten it.
var failLinger = time.Second

// linger half-closes the connection and discards what the peer still sends,
// until it hangs up or failLinger passes. Closing a socket that has unread
// data makes the kernel send a reset, and a reset can destroy the close
// frame before the peer reads it: the peer would see 1006 instead of the
// code that explains the failure.
func (c *Conn) linger() {
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(failLinger))
	buf := make([]byte, 4096)
	for {
		if _, err := c.nc.Read(buf); err != nil {
			return
		}
	}
}

// ioError turns a network read error into the error the caller sees, and
// closes the connection.
func (c *Conn) ioError(err error) error {
	var out error
	switch {
	case c.rd.ctx != nil && c.rd.ctx.Err() != nil:
		out = fmt.Errorf("websocket: read: %w", c.rd.ctx.Err())
	case c.isClosed():
		out = fmt.Errorf("websocket: read: %w", net.ErrClosed)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed):
		out = &CloseError{Code: StatusAbnormalClosure}
	case errors.Is(err, os.ErrDeadlineExceeded):
		out = fmt.Errorf("websocket: read: %w", err)
	default:
		out = fmt.Errorf("websocket: read: %w", err)
	}
	c.closeNow()
	c.rd.err = out
	return out
}

// drainUntilClose reads and discards messages until the peer's close frame,
// for Close when nobody else is reading.
func (c *Conn) drainUntilClose(ctx context.Context) {
	if c.rd.err != nil {
		return
	}
	c.rd.ctx = ctx
	c.rd.guard.arm(ctx)
	defer func() {
		c.rd.guard.disarm()
		c.rd.ctx = nil
	}()
	for c.rd.err == nil {
		if c.rd.active {
			if _, err := c.readMessage(c.rd.ctrl[:]); err != nil && err != io.EOF {
				return
			}
			continue
		}
		if err := c.startMessage(); err != nil {
			return
		}
	}
}
