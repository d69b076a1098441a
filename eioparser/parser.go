// Package eioparser encodes and decodes Engine.IO protocol v4 packets and
// HTTP long-polling payloads. It is pure: no I/O, no goroutines.
//
// A packet is a type and data. On WebSocket, a text packet is one text
// message: the type as one ASCII digit followed by the data; a binary packet
// (always a message) is one binary message holding the raw data. On
// long-polling, packets are joined with the record separator 0x1e and a
// binary packet is written as "b" followed by the data in standard base64.
//
// Decoding is bounded: DecodePayload refuses input larger than the limit
// and more packets than the limit before allocating for them.
package eioparser

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// PacketType is an Engine.IO packet type.
type PacketType byte

// The packet types of protocol v4.
const (
	PacketOpen    PacketType = 0
	PacketClose   PacketType = 1
	PacketPing    PacketType = 2
	PacketPong    PacketType = 3
	PacketMessage PacketType = 4
	PacketUpgrade PacketType = 5
	PacketNoop    PacketType = 6
)

var typeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

func (t PacketType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("PacketType(%d)", byte(t))
}

// Valid reports whether t is one of the seven packet types.
func (t PacketType) Valid() bool { return t <= PacketNoop }

// Separator joins packets in a long-polling payload.
const Separator = 0x1e

// Packet is one Engine.IO packet. Binary is true for a message whose data
// is binary; only PacketMessage may be binary.
type Packet struct {
	Type   PacketType
	Data   []byte
	Binary bool
}

// Errors returned by the decoders.
var (
	ErrEmpty          = errors.New("eioparser: empty packet")
	ErrUnknownType    = errors.New("eioparser: unknown packet type")
	ErrBadBase64      = errors.New("eioparser: invalid base64 in binary packet")
	ErrPayloadTooBig  = errors.New("eioparser: payload larger than the limit")
	ErrTooManyPackets = errors.New("eioparser: more packets than the limit")
)

// AppendText appends the text encoding of p: the type digit and the data,
// or for a binary message "b" and the data in base64 (the long-polling
// form). On WebSocket, send binary messages raw instead.
func AppendText(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// DecodeText decodes one packet in text form: a WebSocket text message or
// one segment of a polling payload. Data aliases b, except for base64
// binary, which is decoded into a new slice.
func DecodeText(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, ErrEmpty
	}
	if b[0] == 'b' {
		data := make([]byte, base64.StdEncoding.DecodedLen(len(b)-1))
		n, err := base64.StdEncoding.Decode(data, b[1:])
		if err != nil {
			return Packet{}, fmt.Errorf("%w: %v", ErrBadBase64, err)
		}
		return Packet{Type: PacketMessage, Data: data[:n], Binary: true}, nil
	}
	t := PacketType(b[0] - '0')
	if b[0] < '0' || !t.Valid() {
		return Packet{}, fmt.Errorf("%w: %q", ErrUnknownType, b[0])
	}
	return Packet{Type: t, Data: b[1:]}, nil
}

// DecodeBinary decodes a WebSocket binary message: always a binary message
// packet whose data is the whole frame.
func DecodeBinary(b []byte) Packet {
	return Packet{Type: PacketMessage, Data: b, Binary: true}
}

// AppendPayload appends the long-polling payload of packets: their text
// encodings joined with Separator.
func AppendPayload(dst []byte, packets []Packet) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, Separator)
		}
		dst = AppendText(dst, p)
	}
	return dst
}

// Limits bound DecodePayload. Zero fields take the defaults: MaxBytes
// 1e6 (Node's maxHttpBufferSize) and MaxPackets 1e4.
type Limits struct {
	MaxBytes   int
	MaxPackets int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 1e6
	}
	if l.MaxPackets <= 0 {
		l.MaxPackets = 1e4
	}
	return l
}

// DecodePayload decodes a long-polling payload. The whole payload must be
// within the limits; a malformed packet fails the whole payload, as in the
// reference implementation.
func DecodePayload(b []byte, lim Limits) ([]Packet, error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrPayloadTooBig, len(b))
	}
	if n := bytes.Count(b, []byte{Separator}) + 1; n > lim.MaxPackets {
		return nil, fmt.Errorf("%w: %d packets", ErrTooManyPackets, n)
	}
	var out []Packet
	for seg := range bytes.SplitSeq(b, []byte{Separator}) {
		p, err := DecodeText(seg)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
