package websocket

import (
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/wsio/wsio/internal/bufpool"
)

const (
	// coalesceLimit is the largest payload a server copies behind its frame
	// header to send both in one write; larger payloads go out in a second
	// write straight from the caller's slice.
	coalesceLimit = 16 << 10
	// writeChunk is the unit in which a client masks a copy of the payload,
	// and the fragment size of a streaming Writer.
	writeChunk = 32 << 10
)

var errCloseSent = fmt.Errorf("websocket: close frame already sent: %w", net.ErrClosed)

// ErrBadMessageType is returned for a message type other than MessageText
// and MessageBinary.
var ErrBadMessageType = errors.New("websocket: bad message type")

// Write sends p as one message of type typ, compressed when
// permessage-deflate was negotiated and p reaches the threshold.
func (c *Conn) Write(ctx context.Context, typ MessageType, p []byte) error {
	return c.write(ctx, typ, p, true)
}

// WriteUncompressed sends p as one message of type typ without compressing
// it, even where permessage-deflate was negotiated: RFC 7692 leaves the
// choice to the sender, message by message.
func (c *Conn) WriteUncompressed(ctx context.Context, typ MessageType, p []byte) error {
	return c.write(ctx, typ, p, false)
}

func (c *Conn) write(ctx context.Context, typ MessageType, p []byte, compress bool) error {
	if typ != MessageText && typ != MessageBinary {
		return ErrBadMessageType
	}
	if err := c.acquire(ctx, c.wmsg); err != nil {
		return fmt.Errorf("websocket: write: %w", err)
	}
	defer func() { <-c.wmsg }()
	if compress && c.shouldCompress(len(p)) {
		if len(p) > writeChunk {
			// Large: compress chunk by chunk into fragments, so that no
			// buffer the size of the message is needed and the peer starts
			// inflating while we still compress.
			w := writerPool.Get().(*messageWriter)
			c.initMessageWriter(w, ctx, opcode(typ))
			w.slotHeld = true
			_, _ = w.Write(p)
			err := w.Close()
			*w = messageWriter{}
			writerPool.Put(w)
			return err
		}
		return c.writeCompressed(ctx, opcode(typ), p)
	}
	return c.writeFrameCtx(ctx, opcode(typ), true, false, p)
}

func (c *Conn) shouldCompress(n int) bool {
	return c.defl != nil && n >= c.defl.threshold
}

// writeCompressed deflates p with this connection's context rules and
// sends it as one frame.
func (c *Conn) writeCompressed(ctx context.Context, op opcode, p []byte) error {
	buf := bufpool.Get(len(p) + len(p)/256 + 64)
	defer bufpool.Put(buf)
	out := c.deflate((*buf)[:0], p)
	return c.writeFrameCtx(ctx, op, true, true, out)
}

// deflate appends the compressed form of p, without the sync-flush tail, to
// dst. The caller holds wmsg.
func (c *Conn) deflate(dst, p []byte) []byte {
	c.fsink.b = dst
	if c.defl.writeNoTakeover {
		fw := getFlateWriter(c.defl.level, &c.fsink)
		_, _ = fw.Write(p)
		_ = fw.Flush()
		putFlateWriter(c.defl.level, fw)
	} else {
		if c.fw == nil {
			c.fw = getFlateWriter(c.defl.level, &c.fsink)
		}
		_, _ = c.fw.Write(p)
		_ = c.fw.Flush()
	}
	out := c.fsink.b
	c.fsink.b = nil
	return out[:len(out)-len(deflateTail)]
}

// writeFrameCtx writes one frame under the frame lock, bounded by ctx.
func (c *Conn) writeFrameCtx(ctx context.Context, op opcode, fin, rsv1 bool, p []byte) error {
	return c.lockedWrite(ctx, op, fin, rsv1, p, false)
}

// lockedWrite takes the frame lock and writes p: framed as op, or as it is
// when raw (a prepared frame).
func (c *Conn) lockedWrite(ctx context.Context, op opcode, fin, rsv1 bool, p []byte, raw bool) error {
	if err := c.acquire(ctx, c.wframe); err != nil {
		// The caller may have committed state this frame was to carry (an
		// open fragmented message, a compressor's window): the connection
		// cannot go on without it.
		c.closeNow()
		return fmt.Errorf("websocket: write: %w", err)
	}
	defer func() { <-c.wframe }()
	if c.closeSent.Load() {
		return errCloseSent
	}
	if raw {
		return c.writeRaw(ctx, p)
	}
	return c.writeFrame(ctx, op, fin, rsv1, p)
}

// writeControl sends a control frame.
func (c *Conn) writeControl(ctx context.Context, op opcode, p []byte) error {
	if len(p) > maxControlPayload {
		return ErrControlTooLong
	}
	return c.writeFrameCtx(ctx, op, true, false, p)
}

// writeClose sends this side's close frame, once.
func (c *Conn) writeClose(ctx context.Context, code StatusCode, reason string) error {
	if err := c.acquire(ctx, c.wframe); err != nil {
		return fmt.Errorf("websocket: close: %w", err)
	}
	defer func() { <-c.wframe }()
	if c.closeSent.Swap(true) {
		return errCloseSent
	}
	var p [maxControlPayload]byte
	n := 0
	if code != StatusNoStatusRcvd {
		binary.BigEndian.PutUint16(p[:], uint16(code))
		n = 2 + copy(p[2:], reason)
	}
	return c.writeFrame(ctx, opClose, true, false, p[:n])
}

// writeFrame frames p and writes it. The caller holds wframe. A failed
// write closes the connection: a frame may have been cut short.
func (c *Conn) writeFrame(ctx context.Context, op opcode, fin, rsv1 bool, p []byte) error {
	h := frameHeader{fin: fin, rsv1: rsv1, op: op, length: int64(len(p)), masked: !c.server}
	return c.writeGuarded(ctx, &h, p)
}

// writeRaw writes bytes that already form a complete server frame.
func (c *Conn) writeRaw(ctx context.Context, frame []byte) error {
	return c.writeGuarded(ctx, nil, frame)
}

// writeGuarded writes a frame (h and its payload p, or with h nil the
// complete frame p) bounded by ctx. The caller holds wframe. A failed write
// closes the connection: a frame may have been cut short.
func (c *Conn) writeGuarded(ctx context.Context, h *frameHeader, p []byte) error {
	if ctx.Done() != nil {
		c.wguard.arm(ctx)
		defer c.wguard.disarm()
	}
	var err error
	switch {
	case h == nil:
		err = c.netWrite(p)
	case c.server:
		err = c.writeServerFrame(h, p)
	default:
		err = c.writeClientFrame(h, p)
	}
	if err != nil {
		c.closeNow()
		if ctx.Err() != nil {
			return fmt.Errorf("websocket: write: %w", ctx.Err())
		}
		return fmt.Errorf("websocket: write: %w", err)
	}
	return nil
}

func (c *Conn) writeServerFrame(h *frameHeader, p []byte) error {
	if len(p) <= coalesceLimit {
		buf := bufpool.Get(maxHeaderSize + len(p))
		n := putHeader(*buf, h)
		n += copy((*buf)[n:], p)
		err := c.netWrite((*buf)[:n])
		bufpool.Put(buf)
		return err
	}
	n := putHeader(c.whdr[:], h)
	if err := c.netWrite(c.whdr[:n]); err != nil {
		return err
	}
	return c.netWrite(p)
}

// writeClientFrame masks a copy of p with a fresh random key, chunk by
// chunk, leaving the caller's slice untouched.
func (c *Conn) writeClientFrame(h *frameHeader, p []byte) error {
	if _, err := rand.Read(c.wmask[:]); err != nil {
		return err
	}
	h.key = c.wmask
	buf := bufpool.Get(maxHeaderSize + min(len(p), writeChunk))
	defer bufpool.Put(buf)
	b := *buf
	n := putHeader(b, h)
	pos := 0
	for {
		m := copy(b[n:], p)
		pos = maskBytes(h.key, pos, b[n:n+m])
		if err := c.netWrite(b[:n+m]); err != nil {
			return err
		}
		p = p[m:]
		if len(p) == 0 {
			return nil
		}
		n = 0
	}
}

// Writer returns a writer for one message sent in fragments as it is
// written, for messages too large to hold in memory. The connection's other
// message writes wait until the writer is closed; Close sends the final
// fragment. With permessage-deflate negotiated the message is compressed.
func (c *Conn) Writer(ctx context.Context, typ MessageType) (io.WriteCloser, error) {
	if typ != MessageText && typ != MessageBinary {
		return nil, ErrBadMessageType
	}
	if err := c.acquire(ctx, c.wmsg); err != nil {
		return nil, fmt.Errorf("websocket: write: %w", err)
	}
	if c.closeSent.Load() || c.isClosed() {
		<-c.wmsg
		return nil, errCloseSent
	}
	return c.newMessageWriter(ctx, opcode(typ)), nil
}

// writerPool recycles the writers Write uses internally for large
// compressed messages; writers handed to callers are never recycled.
var writerPool = sync.Pool{New: func() any { return new(messageWriter) }}

// newMessageWriter starts a fragmented message; the caller holds wmsg.
func (c *Conn) newMessageWriter(ctx context.Context, op opcode) *messageWriter {
	w := new(messageWriter)
	c.initMessageWriter(w, ctx, op)
	return w
}

func (c *Conn) initMessageWriter(w *messageWriter, ctx context.Context, op opcode) {
	*w = messageWriter{c: c, ctx: ctx, op: op, buf: bufpool.Get(writeChunk + 64)}
	w.pending = (*w.buf)[:0]
	if c.defl != nil {
		w.compress = true
		c.fsink.b = w.pending
		if c.defl.writeNoTakeover {
			w.fw = getFlateWriter(c.defl.level, &c.fsink)
		} else {
			if c.fw == nil {
				c.fw = getFlateWriter(c.defl.level, &c.fsink)
			}
			w.fw = c.fw
		}
	}
}

type messageWriter struct {
	c        *Conn
	ctx      context.Context
	op       opcode
	compress bool
	fw       *flate.Writer
	buf      *[]byte
	pending  []byte
	started  bool
	done     bool
	slotHeld bool // the caller of newMessageWriter releases wmsg itself
	err      error
}

// Write buffers p, sending a fragment whenever a chunk's worth is pending.
func (w *messageWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("websocket: write on a closed message writer: %w", net.ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	total := len(p)
	for len(p) > 0 {
		if w.compress {
			m := min(len(p), writeChunk)
			_, _ = w.fw.Write(p[:m])
			p = p[m:]
			w.pending = w.c.fsink.b
		} else {
			m := copy((*w.buf)[len(w.pending):writeChunk], p)
			w.pending = (*w.buf)[:len(w.pending)+m]
			p = p[m:]
		}
		// Keep at least the deflate tail's worth of bytes back, so Close can
		// strip it from the final fragment.
		if len(w.pending) >= writeChunk+len(deflateTail) || (!w.compress && len(w.pending) == writeChunk) {
			keep := 0
			if w.compress {
				keep = len(deflateTail)
			}
			if err := w.flush(false, w.pending[:len(w.pending)-keep]); err != nil {
				return total - len(p), err
			}
			n := copy(w.pending, w.pending[len(w.pending)-keep:])
			w.pending = w.pending[:n]
			if w.compress {
				w.c.fsink.b = w.pending
			}
		}
	}
	return total, nil
}

func (w *messageWriter) flush(fin bool, p []byte) error {
	op := opContinuation
	if !w.started {
		op = w.op
	}
	rsv1 := w.compress && !w.started
	w.started = true
	if err := w.c.writeFrameCtx(w.ctx, op, fin, rsv1, p); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Close sends the final fragment and releases the connection's message slot.
func (w *messageWriter) Close() error {
	if w.done {
		return fmt.Errorf("websocket: message writer already closed: %w", net.ErrClosed)
	}
	w.done = true
	defer w.release()
	if w.err != nil {
		return w.err
	}
	p := w.pending
	if w.compress {
		_ = w.fw.Flush()
		p = w.c.fsink.b
		p = p[:len(p)-len(deflateTail)]
	}
	return w.flush(true, p)
}

func (w *messageWriter) release() {
	c := w.c
	if w.compress {
		c.fsink.b = nil
		if c.defl.writeNoTakeover {
			putFlateWriter(c.defl.level, w.fw)
		}
	}
	bufpool.Put(w.buf)
	if !w.slotHeld {
		<-c.wmsg
	}
}

// batchLimit is how many bytes Batched collects before it writes them out.
const batchLimit = 64 << 10

// netWrite writes bytes of complete frames to the network, or adds them to
// the batch being collected. The caller holds wframe.
func (c *Conn) netWrite(p []byte) error {
	b := c.wbatch
	if b == nil {
		_, err := c.nc.Write(p)
		return err
	}
	if len(*b)+len(p) > cap(*b) && len(*b) > 0 {
		if _, err := c.nc.Write(*b); err != nil {
			return err
		}
		*b = (*b)[:0]
	}
	if len(p) > cap(*b) {
		_, err := c.nc.Write(p)
		return err
	}
	*b = append(*b, p...)
	return nil
}

// Batched calls fn and sends the frames written to c meanwhile (by fn or
// by other goroutines) together when it returns, with as few system calls
// as possible: many small messages to one peer then cost one write instead
// of one each. fn should write and return; frames wait in memory until it
// does (at most 64 KiB: beyond, they are written out as they come), so fn
// must not wait for the peer, and must not call Close, whose close frame
// would wait too. A Batched call made while another one runs just calls
// fn. It returns fn's error, or else the error of the final write.
func (c *Conn) Batched(ctx context.Context, fn func() error) error {
	if err := c.acquire(ctx, c.wframe); err != nil {
		return fmt.Errorf("websocket: write: %w", err)
	}
	if c.wbatch != nil {
		<-c.wframe
		return fn()
	}
	buf := bufpool.Get(batchLimit)
	*buf = (*buf)[:0]
	c.wbatch = buf
	<-c.wframe

	err := fn()

	// Unlike acquire, never give up here: the collected frames must be
	// written (or fail with the connection), not left behind.
	c.wframe <- struct{}{}
	c.wbatch = nil
	var werr error
	if len(*buf) > 0 {
		werr = c.writeGuarded(ctx, nil, *buf)
	}
	<-c.wframe
	bufpool.Put(buf)
	if err != nil {
		return err
	}
	return werr
}
