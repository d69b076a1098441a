package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
)

// emitterUID is the uid the emitter's messages carry, as Node's emitter.
const emitterUID = "emitter"

// Emitter sends to the sockets of a cluster from a process that is not a
// Socket.IO server, through Redis (Node: @socket.io/redis-emitter 5.x,
// whose wire format it speaks). Its methods are safe for concurrent use;
// each returns once Redis has taken the message.
type Emitter struct {
	rdb  redis.UniversalClient
	key  string
	nsp  string
	opts adapter.BroadcastOptions
}

// NewEmitter returns an emitter for the main namespace. key is the
// channels' prefix: "" means "socket.io", as the servers' default.
func NewEmitter(client redis.UniversalClient, key string) *Emitter {
	if key == "" {
		key = "socket.io"
	}
	return &Emitter{rdb: client, key: key, nsp: "/"}
}

// Of returns an emitter for namespace nsp.
func (e *Emitter) Of(nsp string) *Emitter {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	return &Emitter{rdb: e.rdb, key: e.key, nsp: nsp}
}

func (e *Emitter) with(f func(*adapter.BroadcastOptions)) *Emitter {
	c := *e
	c.opts.Rooms = append([]string(nil), e.opts.Rooms...)
	c.opts.Except = append([]string(nil), e.opts.Except...)
	f(&c.opts)
	return &c
}

// To selects the sockets in rooms (added to those already selected).
func (e *Emitter) To(rooms ...string) *Emitter {
	return e.with(func(o *adapter.BroadcastOptions) { o.Rooms = append(o.Rooms, rooms...) })
}

// In is To.
func (e *Emitter) In(rooms ...string) *Emitter { return e.To(rooms...) }

// Except excludes the sockets in rooms.
func (e *Emitter) Except(rooms ...string) *Emitter {
	return e.with(func(o *adapter.BroadcastOptions) { o.Except = append(o.Except, rooms...) })
}

// Volatile marks the broadcast volatile.
func (e *Emitter) Volatile() *Emitter {
	return e.with(func(o *adapter.BroadcastOptions) { o.Flags.Volatile = true })
}

// Compress sets the compress flag.
func (e *Emitter) Compress(on bool) *Emitter {
	return e.with(func(o *adapter.BroadcastOptions) { o.Flags.NoCompress = !on })
}

func (e *Emitter) channel(suffix string) string { return e.key + suffix + "#" + e.nsp + "#" }

func (e *Emitter) publish(ctx context.Context, channel string, msg []byte) error {
	if err := e.rdb.Publish(ctx, channel, msg).Err(); err != nil {
		return fmt.Errorf("redisadapter: emit: %w", err)
	}
	return nil
}

// Emit broadcasts an event to the selected sockets of every server.
func (e *Emitter) Emit(ctx context.Context, event string, args ...any) error {
	if sioparser.IsReserved(event) {
		return fmt.Errorf("redisadapter: reserved event name %q", event)
	}
	pkt, err := sioparser.NewEvent(e.nsp, event, args...)
	if err != nil {
		return err
	}
	wp, err := toWirePacket(pkt)
	if err != nil {
		return err
	}
	msg, err := encodeMsgpack([]any{emitterUID, wp, toWireOpts(e.opts)})
	if err != nil {
		return err
	}
	channel := e.channel("")
	if len(e.opts.Rooms) == 1 {
		channel += e.opts.Rooms[0] + "#"
	}
	return e.publish(ctx, channel, msg)
}

func (e *Emitter) request(ctx context.Context, r request) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return e.publish(ctx, e.channel("-request"), b)
}

// SocketsJoin makes the selected sockets of every server join rooms.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.request(ctx, request{Type: reqRemoteJoin, Opts: selection(e.opts), Rooms: rooms})
}

// SocketsLeave makes the selected sockets of every server leave rooms.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.request(ctx, request{Type: reqRemoteLeave, Opts: selection(e.opts), Rooms: rooms})
}

// DisconnectSockets disconnects the selected sockets of every server;
// close also closes their connections.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.request(ctx, request{Type: reqRemoteDisconnect, Opts: selection(e.opts), Close: close})
}

// ServerSideEmit sends an event to the namespace on every server. An
// emitter cannot wait for acknowledgements.
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	data, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return err
	}
	return e.request(ctx, request{UID: emitterUID, Type: reqServerSideEmit, Data: data})
}
