package websocket

import (
	"context"
	"fmt"
	"sync"
)

// PreparedMessage is a message encoded once and written to many
// connections, as a broadcast does. Its frame is built on first use for each
// variant (uncompressed, or compressed without context takeover) and the
// same bytes then go to every server connection using that variant. Client
// connections reuse the encoded payload but mask each frame with a fresh key.
//
// A connection that negotiated permessage-deflate with context takeover on
// its sending side compresses the message with its own context instead: a
// shared compressed form would desynchronise its peer's window.
//
// A PreparedMessage is safe for concurrent use and never changes after
// NewPreparedMessage.
type PreparedMessage struct {
	typ  MessageType
	data []byte

	plainOnce sync.Once
	plain     []byte // server frame: header + payload

	deflOnce sync.Once
	defl     []byte // compressed payload, without the tail
	deflated []byte // server frame: header + compressed payload
}

// NewPreparedMessage prepares data to be sent as a message of type typ.
// data must not be modified afterwards.
func NewPreparedMessage(typ MessageType, data []byte) (*PreparedMessage, error) {
	if typ != MessageText && typ != MessageBinary {
		return nil, ErrBadMessageType
	}
	return &PreparedMessage{typ: typ, data: data}, nil
}

func (m *PreparedMessage) plainFrame() []byte {
	m.plainOnce.Do(func() {
		h := frameHeader{fin: true, op: opcode(m.typ), length: int64(len(m.data))}
		b := make([]byte, headerSize(len(m.data), false)+len(m.data))
		n := putHeader(b, &h)
		copy(b[n:], m.data)
		m.plain = b
	})
	return m.plain
}

func (m *PreparedMessage) compressed() (payload, frame []byte) {
	m.deflOnce.Do(func() {
		var sink sliceSink
		sink.b = make([]byte, 0, len(m.data)/2+64)
		fw := getFlateWriter(defaultCompressionLevel, &sink)
		_, _ = fw.Write(m.data)
		_ = fw.Flush()
		putFlateWriter(defaultCompressionLevel, fw)
		m.defl = sink.b[:len(sink.b)-len(deflateTail)]
		h := frameHeader{fin: true, rsv1: true, op: opcode(m.typ), length: int64(len(m.defl))}
		b := make([]byte, headerSize(len(m.defl), false)+len(m.defl))
		n := putHeader(b, &h)
		copy(b[n:], m.defl)
		m.deflated = b
	})
	return m.defl, m.deflated
}

// WritePrepared sends a prepared message, compressed as Write would.
func (c *Conn) WritePrepared(ctx context.Context, m *PreparedMessage) error {
	return c.writePrepared(ctx, m, true)
}

// WritePreparedUncompressed sends a prepared message without compressing
// it, as WriteUncompressed does.
func (c *Conn) WritePreparedUncompressed(ctx context.Context, m *PreparedMessage) error {
	return c.writePrepared(ctx, m, false)
}

func (c *Conn) writePrepared(ctx context.Context, m *PreparedMessage, allow bool) error {
	if allow && c.defl != nil && !c.defl.writeNoTakeover {
		return c.Write(ctx, m.typ, m.data)
	}
	if err := c.acquire(ctx, c.wmsg); err != nil {
		return fmt.Errorf("websocket: write: %w", err)
	}
	defer func() { <-c.wmsg }()
	compress := allow && c.shouldCompress(len(m.data))
	if !c.server {
		payload := m.data
		if compress {
			payload, _ = m.compressed()
		}
		return c.writeFrameCtx(ctx, opcode(m.typ), true, compress, payload)
	}
	frame := m.plainFrame()
	if compress {
		_, frame = m.compressed()
	}
	return c.lockedWrite(ctx, 0, true, false, frame, true)
}
