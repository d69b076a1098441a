package websocket

import (
	"errors"
	"io"
)

// inflateSource feeds a compressed message to the decompressor: the raw
// payload across frames, then the 4-byte tail RFC 7692 strips. It
// implements io.ByteReader so that the decompressor does not read ahead.
type inflateSource struct {
	c    *Conn
	tail int     // bytes of deflateTail already served
	one  [1]byte // ReadByte's buffer, a field so that it does not escape
}

func (s *inflateSource) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := s.c.readRaw(p)
	if err == io.EOF {
		n = copy(p, deflateTail[s.tail:])
		s.tail += n
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
	return n, err
}

func (s *inflateSource) ReadByte() (byte, error) {
	rd := &s.c.rd
	if rd.remain > 0 && rd.br.buffered() > 0 {
		b := rd.br.next(1)
		s.c.unmask(b)
		return b[0], nil
	}
	for {
		n, err := s.Read(s.one[:])
		if n == 1 {
			return s.one[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// ErrInvalidCompressed is wrapped by the read error when a compressed
// message does not inflate; the connection has been closed with 1007.
var ErrInvalidCompressed = errors.New("websocket: invalid compressed data")

// readInflated reads decompressed payload of the current message.
func (c *Conn) readInflated(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.rd.fr.Read(p)
	c.rd.out += int64(n)
	if limit := c.readLimit.Load(); c.rd.out > limit {
		c.endInflate()
		return 0, c.fail(failf(StatusMessageTooBig, ErrMessageTooBig, "decompressed message exceeds the read limit of %d bytes", limit))
	}
	if n > 0 {
		if c.rd.op == opText && !c.rd.utf8.feed(p[:n]) {
			c.endInflate()
			return 0, c.fail(failf(StatusInvalidFramePayloadData, ErrInvalidUTF8, "text message"))
		}
		c.keepDict(p[:n])
	}
	switch {
	case err == nil:
		return n, nil
	case c.rd.err != nil:
		c.endInflate()
		return n, c.rd.err
	case errors.Is(err, io.ErrUnexpectedEOF) && c.rd.src.tail == len(deflateTail):
		// The stream ended at the sync-flush marker: the message is complete.
	case err == io.EOF:
		// The peer ended the deflate stream with a final block; what may
		// follow it is ignored, but it must be consumed from the wire.
		if derr := c.discardRaw(); derr != nil {
			c.endInflate()
			return n, derr
		}
	default:
		c.endInflate()
		return n, c.fail(failf(StatusInvalidFramePayloadData, ErrInvalidCompressed, "%v", err))
	}
	c.endInflate()
	if c.rd.op == opText && !c.rd.utf8.complete() {
		return n, c.fail(failf(StatusInvalidFramePayloadData, ErrInvalidUTF8, "text message ends inside a character"))
	}
	c.rd.active = false
	if n > 0 {
		return n, nil
	}
	return 0, io.EOF
}

// endInflate returns the message's decompressor to the pool.
func (c *Conn) endInflate() {
	if c.rd.fr != nil {
		putFlateReader(c.rd.fr)
		c.rd.fr = nil
	}
}

// keepDict remembers the last 32 KiB of plaintext when the peer keeps its
// compression context across messages.
func (c *Conn) keepDict(p []byte) {
	if c.defl.readNoTakeover {
		return
	}
	if len(p) >= deflateWindow {
		c.rd.dict = append(c.rd.dict[:0], p[len(p)-deflateWindow:]...)
		return
	}
	if over := len(c.rd.dict) + len(p) - deflateWindow; over > 0 {
		c.rd.dict = append(c.rd.dict[:0], c.rd.dict[over:]...)
	}
	c.rd.dict = append(c.rd.dict, p...)
}

// discardRaw consumes the rest of the raw message.
func (c *Conn) discardRaw() error {
	var buf [256]byte
	for {
		_, err := c.readRaw(buf[:])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
