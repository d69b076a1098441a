package interop

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
)

// tapConn is a net.Conn that records the WebSocket frames going each way,
// so that tests can see fragmentation and compression on the wire.
type tapConn struct {
	net.Conn
	in, out frameTap
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.feed(p[:n])
	return n, err
}

func (c *tapConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.feed(p[:n])
	return n, err
}

// tapListener wraps every accepted connection in a tapConn.
// CloseWrite passes the half-close through, as a plain TCP connection
// would: our side uses it after a failure close frame.
func (c *tapConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

type tapListener struct{ net.Listener }

func (l tapListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tapConn{Conn: nc}, nil
}

// tapKey is the request context key under which the server's connection
// context holds the tapConn.
type tapKey struct{}

func withTap(ctx context.Context, nc net.Conn) context.Context {
	return context.WithValue(ctx, tapKey{}, nc)
}

// frame is one frame header seen on the wire.
type frame struct {
	op   byte
	fin  bool
	rsv1 bool
	size int64
}

// wireMessage is a data message as it crossed the wire.
type wireMessage struct {
	op         byte // 1 text, 2 binary
	frames     int
	compressed bool // RSV1 on its first frame
	size       int64
}

// frameTap parses one direction of a connection: it skips the HTTP head,
// then reads frame headers and skips their payloads.
type frameTap struct {
	mu     sync.Mutex
	inWS   bool   // past the blank line that ends the HTTP head
	last4  uint32 // the last four bytes of the HTTP head
	head   []byte // header bytes of the frame being parsed
	skip   int64  // payload bytes of the current frame still to come
	frames []frame
}

func (t *frameTap) feed(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(p) > 0 {
		switch {
		case !t.inWS:
			t.last4 = t.last4<<8 | uint32(p[0])
			t.inWS = t.last4 == 0x0d0a0d0a
			p = p[1:]
		case t.skip > 0:
			n := min(int64(len(p)), t.skip)
			t.skip -= n
			p = p[n:]
		default:
			t.head = append(t.head, p[0])
			p = p[1:]
			if n := headerSize(t.head); n > 0 && len(t.head) == n {
				f := parseHeader(t.head)
				t.frames = append(t.frames, f)
				t.skip = f.size
				t.head = t.head[:0]
			}
		}
	}
}

// headerSize returns the full size of a frame header from its first bytes,
// or 0 while fewer than two are known.
func headerSize(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	n := 2
	switch b[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b[1]&0x80 != 0 {
		n += 4
	}
	return n
}

func parseHeader(b []byte) frame {
	f := frame{op: b[0] & 0x0f, fin: b[0]&0x80 != 0, rsv1: b[0]&0x40 != 0}
	switch n := b[1] & 0x7f; n {
	case 126:
		f.size = int64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		f.size = int64(binary.BigEndian.Uint64(b[2:10]))
	default:
		f.size = int64(n)
	}
	return f
}

// messages groups the data frames seen so far into messages; control
// frames are left out.
func (t *frameTap) messages() []wireMessage {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []wireMessage
	for _, f := range t.frames {
		if f.op >= 8 {
			continue
		}
		if f.op != 0 {
			out = append(out, wireMessage{op: f.op, compressed: f.rsv1})
		}
		if len(out) == 0 {
			continue
		}
		m := &out[len(out)-1]
		m.frames++
		m.size += f.size
	}
	return out
}
