package redisadapter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
)

// Request types of @socket.io/redis-adapter 8.x (its RequestType enum).
const (
	reqSockets              = 0
	reqAllRooms             = 1
	reqRemoteJoin           = 2
	reqRemoteLeave          = 3
	reqRemoteDisconnect     = 4
	reqRemoteFetch          = 5
	reqServerSideEmit       = 6
	reqBroadcast            = 7
	reqBroadcastClientCount = 8
	reqBroadcastAck         = 9
)

// wirePacket is a Socket.IO packet as Node's adapters exchange it: the
// socket.io-parser object, with binary data inline (msgpack bin).
type wirePacket struct {
	Type int    `msgpack:"type"`
	Data []any  `msgpack:"data"`
	Nsp  string `msgpack:"nsp"`
	ID   *int64 `msgpack:"id,omitempty"`
}

// wireOpts is a broadcast's options on the wire.
type wireOpts struct {
	Rooms  roomList       `msgpack:"rooms" json:"rooms"`
	Except roomList       `msgpack:"except" json:"except"`
	Flags  map[string]any `msgpack:"flags,omitempty" json:"flags,omitempty"`
}

// roomList is a list of room names. Node sends a numeric room name as a
// number: it reads as its decimal form, as String(n) gives it.
type roomList []string

func (l *roomList) UnmarshalJSON(b []byte) error {
	var vs []any
	if err := json.Unmarshal(b, &vs); err != nil {
		return err
	}
	*l = roomNames(vs)
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (l *roomList) DecodeMsgpack(dec *msgpack.Decoder) error {
	var vs []any
	if err := dec.Decode(&vs); err != nil {
		return err
	}
	*l = roomNames(vs)
	return nil
}

func roomNames(vs []any) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		switch t := v.(type) {
		case string:
			out = append(out, t)
		case float64:
			out = append(out, strconv.FormatFloat(t, 'f', -1, 64))
		case float32:
			out = append(out, strconv.FormatFloat(float64(t), 'f', -1, 32))
		case nil:
		default:
			out = append(out, fmt.Sprint(t))
		}
	}
	return out
}

func toWireOpts(o adapter.BroadcastOptions) wireOpts {
	w := wireOpts{Rooms: o.Rooms, Except: o.Except, Flags: map[string]any{}}
	if w.Rooms == nil {
		w.Rooms = []string{}
	}
	if w.Except == nil {
		w.Except = []string{}
	}
	if o.Flags.Volatile {
		w.Flags["volatile"] = true
	}
	if o.Flags.NoCompress {
		w.Flags["compress"] = false
	}
	if o.Flags.Timeout > 0 {
		w.Flags["timeout"] = o.Flags.Timeout.Milliseconds()
	}
	return w
}

func (w wireOpts) options() adapter.BroadcastOptions {
	o := adapter.BroadcastOptions{Rooms: w.Rooms, Except: w.Except}
	if v, ok := w.Flags["volatile"].(bool); ok {
		o.Flags.Volatile = v
	}
	if v, ok := w.Flags["compress"].(bool); ok {
		o.Flags.NoCompress = !v
	}
	return o
}

// toWirePacket converts a packet to the wire form: its arguments decoded,
// attachments as []byte.
func toWirePacket(p *sioparser.Packet) (wirePacket, error) {
	args, err := sioparser.ParseArgs(p)
	if err != nil {
		return wirePacket{}, err
	}
	vals, err := args.Values()
	if err != nil {
		return wirePacket{}, err
	}
	typ := int(p.Type)
	switch p.Type {
	case sioparser.BinaryEvent:
		typ = int(sioparser.Event)
	case sioparser.BinaryAck:
		typ = int(sioparser.Ack)
	}
	w := wirePacket{Type: typ, Data: vals, Nsp: p.Namespace}
	if p.HasID {
		id := int64(p.ID)
		w.ID = &id
	}
	return w, nil
}

// packet converts a wire packet (an EVENT) back, for namespace nsp.
func (w wirePacket) packet(nsp string) (*sioparser.Packet, error) {
	if len(w.Data) == 0 {
		return nil, fmt.Errorf("redisadapter: packet without data")
	}
	name, ok := w.Data[0].(string)
	if !ok {
		return nil, fmt.Errorf("redisadapter: event name %T", w.Data[0])
	}
	return sioparser.NewEvent(nsp, name, normalize(w.Data[1:])...)
}

// normalize turns what msgpack decoded into values encoding/json handles
// (maps with interface keys).
func normalize(vs []any) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = normalizeValue(v)
	}
	return out
}

func normalizeValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = normalizeValue(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = normalizeValue(e)
		}
		return m
	case []any:
		return normalize(t)
	}
	return v
}

// encodeMsgpack encodes v as Node's notepack does for these messages.
func encodeMsgpack(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := msgpack.NewEncoder(&b)
	enc.SetCustomStructTag("msgpack")
	enc.UseCompactInts(true)
	enc.UseCompactFloats(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// decodeMsgpack decodes one msgpack value of b into v, after checking its
// lengths against b's size.
func decodeMsgpack(b []byte, v any) error {
	if err := checkMsgpack(b); err != nil {
		return err
	}
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	dec.SetCustomStructTag("msgpack")
	return dec.Decode(v)
}

// request is a message on the request channel (JSON, or msgpack for
// BROADCAST), and response one on a response channel.
type request struct {
	UID       string          `json:"uid,omitempty" msgpack:"uid"`
	RequestID string          `json:"requestId,omitempty" msgpack:"requestId"`
	Type      int             `json:"type" msgpack:"type"`
	Opts      *wireOpts       `json:"opts,omitempty" msgpack:"opts,omitempty"`
	Rooms     roomList        `json:"rooms,omitempty" msgpack:"rooms,omitempty"`
	SID       string          `json:"sid,omitempty" msgpack:"-"`  // legacy forms, without opts
	Room      string          `json:"room,omitempty" msgpack:"-"` // legacy forms, without opts
	Close     bool            `json:"close,omitempty" msgpack:"close,omitempty"`
	Data      json.RawMessage `json:"data,omitempty" msgpack:"-"`
	Packet    *wirePacket     `json:"-" msgpack:"packet,omitempty"`
}

type response struct {
	Type      int             `json:"type,omitempty" msgpack:"type"`
	RequestID string          `json:"requestId" msgpack:"requestId"`
	Rooms     roomList        `json:"rooms,omitempty" msgpack:"-"`
	Sockets   json.RawMessage `json:"sockets,omitempty" msgpack:"-"` // []wireSocket, or ids in the legacy form

	ClientCount *int            `json:"clientCount,omitempty" msgpack:"-"`
	Data        json.RawMessage `json:"data,omitempty" msgpack:"-"`
	Packet      any             `json:"-" msgpack:"packet,omitempty"`
}

// wireSocket is a socket in a fetchSockets response.
type wireSocket struct {
	ID        string        `json:"id"`
	Handshake wireHandshake `json:"handshake"`
	Rooms     roomList      `json:"rooms"`
	Data      any           `json:"data,omitempty"`
}

// wireHandshake is socket.handshake as Node serialises it: lower-case
// header names, one string per header, query values as strings.
type wireHandshake struct {
	Headers map[string]any `json:"headers"`
	Time    string         `json:"time"`
	Address string         `json:"address"`
	XDomain bool           `json:"xdomain"`
	Secure  bool           `json:"secure"`
	Issued  int64          `json:"issued"`
	URL     string         `json:"url"`
	Query   map[string]any `json:"query"`
	Auth    map[string]any `json:"auth"`
}

func toWireSocket(d adapter.SocketDetails) wireSocket {
	h := d.Handshake
	w := wireHandshake{
		Headers: map[string]any{}, Time: h.Time, Address: h.Address, XDomain: h.XDomain,
		Secure: h.Secure, Issued: h.Issued, URL: h.URL, Query: map[string]any{}, Auth: h.Auth,
	}
	for k, vs := range h.Headers {
		sep := ", "
		if strings.EqualFold(k, "Cookie") {
			sep = "; " // as Node joins repeated cookie headers
		}
		w.Headers[strings.ToLower(k)] = strings.Join(vs, sep)
	}
	for k, vs := range h.Query {
		if len(vs) == 1 {
			w.Query[k] = vs[0]
		} else {
			w.Query[k] = vs
		}
	}
	if w.Auth == nil {
		w.Auth = map[string]any{}
	}
	rooms := d.Rooms
	if rooms == nil {
		rooms = []string{}
	}
	return wireSocket{ID: d.ID, Handshake: w, Rooms: roomList(rooms), Data: d.Data}
}

func (w wireSocket) details() adapter.SocketDetails {
	h := adapter.Handshake{
		Headers: http.Header{}, Time: w.Handshake.Time, Address: w.Handshake.Address,
		XDomain: w.Handshake.XDomain, Secure: w.Handshake.Secure, Issued: w.Handshake.Issued,
		URL: w.Handshake.URL, Query: url.Values{}, Auth: w.Handshake.Auth,
	}
	for k, v := range w.Handshake.Headers {
		switch t := v.(type) {
		case string:
			h.Headers.Add(k, t)
		case []any:
			for _, e := range t {
				h.Headers.Add(k, fmt.Sprint(e))
			}
		}
	}
	for k, v := range w.Handshake.Query {
		switch t := v.(type) {
		case string:
			h.Query.Add(k, t)
		case []any:
			for _, e := range t {
				h.Query.Add(k, fmt.Sprint(e))
			}
		}
	}
	return adapter.SocketDetails{ID: w.ID, Handshake: h, Rooms: w.Rooms, Data: w.Data}
}
