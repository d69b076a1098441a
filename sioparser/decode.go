package sioparser

import (
	"encoding/json"
	"fmt"
)

// Limits bound what the decoder accepts. Zero fields take the defaults.
type Limits struct {
	// MaxAttachments is the most binary attachments one packet may
	// announce. Default 10, as Node's parser since it bounded them.
	MaxAttachments int
	// MaxAttachmentBytes bounds the total size of one packet's
	// attachments. Default 1e6 (Engine.IO's maxPayload).
	MaxAttachmentBytes int
}

func (l Limits) maxAttachments() int {
	if l.MaxAttachments <= 0 {
		return 10
	}
	return l.MaxAttachments
}

func (l Limits) maxAttachmentBytes() int {
	if l.MaxAttachmentBytes <= 0 {
		return 1_000_000
	}
	return l.MaxAttachmentBytes
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// DecodeText decodes the text part of a packet and validates it as the
// reference parser does. It returns the packet and, for a binary type, how
// many attachments must follow. The packet's Data and Namespace refer to b
// (Namespace is a new string; Data aliases b).
func DecodeText(b []byte, lim Limits) (p Packet, attachments int, err error) {
	if len(b) == 0 {
		return p, 0, invalid("empty packet")
	}
	p.Type = Type(b[0] - '0')
	if b[0] < '0' || !p.Type.Valid() {
		return p, 0, invalid("unknown packet type %q", b[0])
	}
	i := 1
	if p.Type.Binary() {
		start := i
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 4 {
			n = n*10 + int(b[i]-'0')
			i++
		}
		if i == start || i >= len(b) || b[i] != '-' {
			return p, 0, invalid("illegal attachments")
		}
		if n > lim.maxAttachments() {
			return p, 0, fmt.Errorf("%w: %w: %d", ErrInvalid, ErrTooManyAttachments, n)
		}
		attachments = n
		i++
	}
	p.Namespace = "/"
	if i < len(b) && b[i] == '/' {
		start := i
		for i < len(b) && b[i] != ',' {
			i++
		}
		p.Namespace = string(b[start:i])
		if i < len(b) {
			i++ // the comma
		}
	}
	if i < len(b) && b[i] >= '0' && b[i] <= '9' {
		start := i
		var id uint64
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start >= 16 {
				return p, 0, invalid("ack id too large")
			}
			id = id*10 + uint64(b[i]-'0')
			i++
		}
		if id > MaxID {
			return p, 0, invalid("ack id too large")
		}
		p.ID, p.HasID = id, true
	}
	if i < len(b) {
		p.Data = b[i:]
	}
	if err := validate(&p); err != nil {
		return p, 0, err
	}
	return p, attachments, nil
}

// validate checks the payload's shape for the packet type.
func validate(p *Packet) error {
	if p.Data == nil {
		switch p.Type {
		case Connect, Disconnect:
			return nil
		}
		return invalid("%v without payload", p.Type)
	}
	if !json.Valid(p.Data) {
		return invalid("payload is not JSON")
	}
	kind := firstByte(p.Data)
	switch p.Type {
	case Connect:
		if kind != '{' {
			return invalid("CONNECT payload is not an object")
		}
	case Disconnect:
		return invalid("DISCONNECT with a payload")
	case ConnectError:
		if kind != '{' && kind != '"' {
			return invalid("CONNECT_ERROR payload is neither a string nor an object")
		}
	case Ack, BinaryAck:
		if kind != '[' {
			return invalid("ACK payload is not an array")
		}
	case Event, BinaryEvent:
		if kind != '[' {
			return invalid("EVENT payload is not an array")
		}
		first, ok := firstElement(p.Data)
		if !ok {
			return invalid("EVENT without a name")
		}
		switch firstByte(first) {
		case '"':
			var name string
			if err := json.Unmarshal(first, &name); err != nil || IsReserved(name) {
				return invalid("EVENT name %s is reserved", first)
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		default:
			return invalid("EVENT name is neither a string nor a number")
		}
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func firstByte(b []byte) byte {
	for _, c := range b {
		if !isSpace(c) {
			return c
		}
	}
	return 0
}

// firstElement returns the first element of a valid JSON array.
func firstElement(b []byte) ([]byte, bool) {
	i := skipSpace(b, 0) + 1 // past '['
	i = skipSpace(b, i)
	if i >= len(b) || b[i] == ']' {
		return nil, false
	}
	end := skipValue(b, i)
	return b[i:end], true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at b[i]. b must be
// valid JSON.
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			i++
			if depth == 0 {
				return i
			}
			continue
		case '[', '{':
			depth++
		case ']', '}':
			if depth == 0 {
				return i // the end of the enclosing array after a scalar
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		default:
			if depth == 0 && isSpace(c) {
				return i
			}
		}
		i++
	}
	return i
}

// Decoder reassembles packets from a stream of Engine.IO messages: a binary
// packet's text part is followed by its attachments as binary messages.
// It is not safe for concurrent use.
type Decoder struct {
	Limits  Limits
	pending *Packet
	want    int
	size    int
}

// Text decodes a text message. It returns the packet when it is complete;
// a binary packet is returned by the Binary call that delivers its last
// attachment. The returned packet owns its memory.
func (d *Decoder) Text(b []byte) (*Packet, error) {
	if d.pending != nil {
		return nil, invalid("text message while %d attachments are due", d.want-len(d.pending.Attachments))
	}
	p, n, err := DecodeText(b, d.Limits)
	if err != nil {
		return nil, err
	}
	p.Data = clone(p.Data)
	if n == 0 {
		if p.Type.Binary() {
			p.Attachments = [][]byte{}
		}
		return &p, nil
	}
	p.Attachments = make([][]byte, 0, n)
	d.pending, d.want, d.size = &p, n, 0
	return nil, nil
}

// Binary adds an attachment to the pending binary packet and returns the
// packet once its last attachment has arrived.
func (d *Decoder) Binary(b []byte) (*Packet, error) {
	if d.pending == nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, ErrUnexpectedBinary)
	}
	d.size += len(b)
	if d.size > d.Limits.maxAttachmentBytes() {
		d.Reset()
		return nil, fmt.Errorf("%w: %w", ErrInvalid, ErrAttachmentsTooBig)
	}
	p := d.pending
	p.Attachments = append(p.Attachments, clone(b))
	if len(p.Attachments) < d.want {
		return nil, nil
	}
	d.Reset()
	if err := checkPlaceholders(p); err != nil {
		return nil, err
	}
	return p, nil
}

// Pending reports whether a binary packet waits for attachments.
func (d *Decoder) Pending() bool { return d.pending != nil }

// Reset drops a pending binary packet.
func (d *Decoder) Reset() {
	d.pending, d.want, d.size = nil, 0, 0
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
