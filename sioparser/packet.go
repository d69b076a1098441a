package sioparser

import (
	"errors"
	"strconv"
)

// Type is a Socket.IO packet type.
type Type byte

// The packet types of protocol v5.
const (
	Connect      Type = 0
	Disconnect   Type = 1
	Event        Type = 2
	Ack          Type = 3
	ConnectError Type = 4
	BinaryEvent  Type = 5
	BinaryAck    Type = 6
)

var typeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

// String returns the type's name as the protocol spells it.
func (t Type) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the seven packet types.
func (t Type) Valid() bool { return t <= BinaryAck }

// Binary reports whether packets of type t carry binary attachments.
func (t Type) Binary() bool { return t == BinaryEvent || t == BinaryAck }

// MaxID is the largest acknowledgement id accepted: the largest integer a
// JavaScript number holds exactly.
const MaxID = 1<<53 - 1

// Packet is one Socket.IO packet.
type Packet struct {
	Type Type
	// Namespace is the packet's namespace, "/" for the main one.
	Namespace string
	// ID is the acknowledgement id, when HasID is set.
	ID    uint64
	HasID bool
	// Data is the JSON payload, nil when the packet has none. In a binary
	// packet, attachments appear in it as {"_placeholder":true,"num":N}.
	Data []byte
	// Attachments holds a binary packet's attachments, in order.
	Attachments [][]byte
}

// Errors returned by the decoder. Every decoding error wraps ErrInvalid.
var (
	ErrInvalid            = errors.New("sioparser: invalid packet")
	ErrTooManyAttachments = errors.New("sioparser: too many attachments")
	ErrAttachmentsTooBig  = errors.New("sioparser: attachments too large")
	ErrUnexpectedBinary   = errors.New("sioparser: binary data without a pending binary packet")
)

// reserved lists the event names a peer may not send: they name events of
// the library itself.
var reserved = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// IsReserved reports whether name is an event name a peer may not send.
func IsReserved(name string) bool { return reserved[name] }

// AppendText appends the text part of p, as the reference encoder writes
// it: type, attachment count for binary types, namespace unless "/", id,
// then the JSON data.
func AppendText(dst []byte, p *Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if p.Type.Binary() {
		dst = strconv.AppendInt(dst, int64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}
