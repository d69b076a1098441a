package websocket

import (
	"io"
	"net"
	"sync"
	"time"

	"context"

	"github.com/wsio/wsio/internal/bufpool"
)

// smallReadSize is the inline buffer a connection reads into while it waits
// for a message, so that an idle connection holds no pooled buffer. Small
// messages (a ping, a short event) fit in it whole.
const smallReadSize = 128

// pooledReadSize is the buffer borrowed when a message needs more room.
const pooledReadSize = 4096

// connReader buffers reads from the network. Its pooled buffer goes back to
// the pool as soon as everything buffered has been consumed.
type connReader struct {
	src    io.Reader
	pooled *[]byte
	buf    []byte // small[:] or *pooled
	r, w   int
	small  [smallReadSize]byte
}

func (b *connReader) init(src io.Reader, buffered []byte) {
	b.src = src
	b.buf = b.small[:]
	if len(buffered) > len(b.small) {
		b.pooled = bufpool.Get(len(buffered))
		b.buf = *b.pooled
	}
	b.w = copy(b.buf, buffered)
}

func (b *connReader) buffered() int { return b.w - b.r }

// releaseIfIdle returns the pooled buffer when nothing is buffered.
func (b *connReader) releaseIfIdle() {
	if b.r != b.w || b.pooled == nil {
		return
	}
	bufpool.Put(b.pooled)
	b.pooled = nil
	b.buf = b.small[:]
	b.r, b.w = 0, 0
}

// fill reads until at least n bytes (n <= pooledReadSize) are buffered.
func (b *connReader) fill(n int) error {
	if b.r == b.w {
		b.r, b.w = 0, 0
		b.releaseIfIdle()
	}
	if len(b.buf)-b.r < n {
		if len(b.buf) < n {
			b.grow()
		} else {
			b.w = copy(b.buf, b.buf[b.r:b.w])
			b.r = 0
		}
	}
	for b.w-b.r < n {
		if b.w == len(b.buf) && b.pooled == nil {
			b.grow()
		}
		m, err := b.src.Read(b.buf[b.w:])
		b.w += m
		if err != nil {
			if b.w-b.r >= n {
				return nil
			}
			return err
		}
	}
	return nil
}

// more makes sure at least one byte is buffered, reading once if needed,
// into a pooled buffer when the inline one has been used up.
func (b *connReader) more() error {
	if b.r < b.w {
		return nil
	}
	b.r, b.w = 0, 0
	if b.pooled == nil {
		b.grow()
	}
	m, err := b.src.Read(b.buf)
	b.w = m
	if m > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// grow moves the buffered bytes to a pooled buffer.
func (b *connReader) grow() {
	p := bufpool.Get(pooledReadSize)
	n := copy(*p, b.buf[b.r:b.w])
	if b.pooled != nil {
		bufpool.Put(b.pooled)
	}
	b.pooled = p
	b.buf = *p
	b.r, b.w = 0, n
}

// next returns the next n buffered bytes (n <= buffered()).
func (b *connReader) next(n int) []byte {
	p := b.buf[b.r : b.r+n]
	b.r += n
	return p
}

// directReadSize is the smallest read that goes straight from the network
// into the caller's slice when nothing is buffered: no copy, no pooled
// buffer.
const directReadSize = 512

// read copies buffered bytes into p, or reads directly from the network
// into p when nothing is buffered and p is large.
func (b *connReader) read(p []byte) (int, error) {
	if b.r == b.w {
		if len(p) >= directReadSize {
			b.releaseIfIdle()
			return b.src.Read(p)
		}
		if err := b.more(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

// deadlineGuard lets a context interrupt blocking I/O by moving a deadline
// into the past, without ever leaving a stale past deadline behind. A
// connection keeps one for reads and one for writes, so arming it costs no
// allocation when the context can never be cancelled.
type deadlineGuard struct {
	mu   sync.Mutex
	seq  uint64
	nc   net.Conn
	kind deadlineKind
	stop func() bool
}

type deadlineKind int

const (
	readDeadline deadlineKind = iota
	writeDeadline
	bothDeadlines
)

func (g *deadlineGuard) set(t time.Time) {
	switch g.kind {
	case readDeadline:
		_ = g.nc.SetReadDeadline(t)
	case writeDeadline:
		_ = g.nc.SetWriteDeadline(t)
	default:
		_ = g.nc.SetDeadline(t)
	}
}

func (g *deadlineGuard) arm(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	g.mu.Lock()
	g.seq++
	seq := g.seq
	g.mu.Unlock()
	g.stop = context.AfterFunc(ctx, func() {
		g.mu.Lock()
		if g.seq == seq {
			g.set(time.Unix(1, 0))
		}
		g.mu.Unlock()
	})
}

func (g *deadlineGuard) disarm() {
	if g.stop == nil {
		return
	}
	fired := !g.stop()
	g.stop = nil
	g.mu.Lock()
	g.seq++
	g.mu.Unlock()
	if fired {
		g.set(time.Time{})
	}
}
