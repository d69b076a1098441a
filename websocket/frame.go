package websocket

import (
	"encoding/binary"
	"fmt"
)

// opcode is the 4-bit frame opcode of RFC 6455 section 5.2.
type opcode byte

const (
	opContinuation opcode = 0x0
	opText         opcode = 0x1
	opBinary       opcode = 0x2
	opClose        opcode = 0x8
	opPing         opcode = 0x9
	opPong         opcode = 0xA
)

func (o opcode) isControl() bool { return o&0x8 != 0 }

func (o opcode) isKnown() bool {
	switch o {
	case opContinuation, opText, opBinary, opClose, opPing, opPong:
		return true
	}
	return false
}

const (
	maxHeaderSize      = 14  // 2 + 8 (length) + 4 (mask key)
	maxControlPayload  = 125 // RFC 6455 section 5.5
	maxCloseReasonSize = maxControlPayload - 2
)

// frameHeader is the decoded fixed part of a frame.
type frameHeader struct {
	fin    bool
	rsv1   bool
	rsv2   bool
	rsv3   bool
	op     opcode
	masked bool
	length int64
	key    [4]byte
}

// headerSize returns how many bytes the header of a frame with this payload
// length occupies.
func headerSize(length int, masked bool) int {
	n := 2
	switch {
	case length > 0xFFFF:
		n += 8
	case length > 125:
		n += 2
	}
	if masked {
		n += 4
	}
	return n
}

// putHeader encodes h into b (which must hold maxHeaderSize bytes) and
// returns the number of bytes written.
func putHeader(b []byte, h *frameHeader) int {
	b0 := byte(h.op)
	if h.fin {
		b0 |= 0x80
	}
	if h.rsv1 {
		b0 |= 0x40
	}
	if h.rsv2 {
		b0 |= 0x20
	}
	if h.rsv3 {
		b0 |= 0x10
	}
	b[0] = b0
	var b1 byte
	if h.masked {
		b1 = 0x80
	}
	n := 2
	switch {
	case h.length > 0xFFFF:
		b[1] = b1 | 127
		binary.BigEndian.PutUint64(b[2:], uint64(h.length))
		n += 8
	case h.length > 125:
		b[1] = b1 | 126
		binary.BigEndian.PutUint16(b[2:], uint16(h.length))
		n += 2
	default:
		b[1] = b1 | byte(h.length)
	}
	if h.masked {
		copy(b[n:], h.key[:])
		n += 4
	}
	return n
}

// parseHeaderStart decodes the first two bytes of a frame and reports how
// many more header bytes follow (extended length and mask key).
func parseHeaderStart(b0, b1 byte, h *frameHeader) (extra int) {
	h.fin = b0&0x80 != 0
	h.rsv1 = b0&0x40 != 0
	h.rsv2 = b0&0x20 != 0
	h.rsv3 = b0&0x10 != 0
	h.op = opcode(b0 & 0x0F)
	h.masked = b1&0x80 != 0
	h.length = int64(b1 & 0x7F)
	switch h.length {
	case 126:
		extra = 2
	case 127:
		extra = 8
	}
	if h.masked {
		extra += 4
	}
	return extra
}

// parseHeaderRest decodes the extended length and mask key that follow the
// first two bytes. It returns an error for a 64-bit length with the most
// significant bit set (RFC 6455 section 5.2).
func parseHeaderRest(b []byte, h *frameHeader) error {
	switch h.length {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b))
		b = b[2:]
	case 127:
		v := binary.BigEndian.Uint64(b)
		if v>>63 != 0 {
			return fmt.Errorf("%w: 64-bit payload length with the most significant bit set", ErrProtocol)
		}
		h.length = int64(v)
		b = b[8:]
	}
	if h.masked {
		copy(h.key[:], b[:4])
	}
	return nil
}

// maskBytes XORs b with the mask key, starting at position pos of the key,
// and returns the key position after the last byte.
func maskBytes(key [4]byte, pos int, b []byte) int {
	pos &= 3
	// Byte-wise until the key is aligned with the start of the slice.
	i := 0
	for ; pos != 0 && i < len(b); i++ {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	if len(b)-i >= 8 {
		k32 := uint64(binary.LittleEndian.Uint32(key[:]))
		k := k32 | k32<<32
		for ; len(b)-i >= 32; i += 32 {
			s := b[i : i+32]
			binary.LittleEndian.PutUint64(s, binary.LittleEndian.Uint64(s)^k)
			binary.LittleEndian.PutUint64(s[8:], binary.LittleEndian.Uint64(s[8:])^k)
			binary.LittleEndian.PutUint64(s[16:], binary.LittleEndian.Uint64(s[16:])^k)
			binary.LittleEndian.PutUint64(s[24:], binary.LittleEndian.Uint64(s[24:])^k)
		}
		for ; len(b)-i >= 8; i += 8 {
			s := b[i : i+8]
			binary.LittleEndian.PutUint64(s, binary.LittleEndian.Uint64(s)^k)
		}
	}
	for ; i < len(b); i++ {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}
