package socketio

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
)

// BroadcastOperator selects sockets of a namespace, across the cluster,
// and acts on them (Node: BroadcastOperator). Each method returns a new
// operator; the receiver is not changed.
type BroadcastOperator struct {
	nsp    *Namespace
	rooms  []string
	except []string
	flags  adapter.BroadcastFlags
}

func (b *BroadcastOperator) clone() *BroadcastOperator {
	c := *b
	c.rooms = slices.Clone(b.rooms)
	c.except = slices.Clone(b.except)
	return &c
}

// To adds rooms to the selection.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.rooms = append(c.rooms, rooms...)
	return c
}

// In is To.
func (b *BroadcastOperator) In(rooms ...string) *BroadcastOperator { return b.To(rooms...) }

// Except excludes the sockets in rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.except = append(c.except, rooms...)
	return c
}

// Volatile lets packets be dropped for clients that are not ready.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := b.clone()
	c.flags.Volatile = true
	return c
}

// Compress sets the compress flag.
func (b *BroadcastOperator) Compress(on bool) *BroadcastOperator {
	c := b.clone()
	c.flags.NoCompress = !on
	return c
}

// Local restricts the operation to this server.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	c := b.clone()
	c.flags.Local = true
	return c
}

// Timeout bounds EmitWithAck.
func (b *BroadcastOperator) Timeout(d time.Duration) *BroadcastOperator {
	c := b.clone()
	c.flags.Timeout = d
	return c
}

func (b *BroadcastOperator) options() adapter.BroadcastOptions {
	return adapter.BroadcastOptions{Rooms: b.rooms, Except: b.except, Flags: b.flags}
}

// Emit sends an event to the selected sockets, encoded once.
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	if isReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	pkt, err := sioparser.NewEvent(b.nsp.name, event, args...)
	if err != nil {
		return err
	}
	return b.nsp.adapter.Broadcast(pkt, b.options())
}

// EmitWithAck sends an event to the selected sockets and returns every
// client's answer. When ctx (or Timeout) ends first, it returns the answers
// that came and the context's error.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]sioparser.Args, error) {
	if isReserved(event) {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	pkt, err := sioparser.NewEvent(b.nsp.name, event, args...)
	if err != nil {
		return nil, err
	}
	if b.flags.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.flags.Timeout)
		defer cancel()
	}
	pkt.ID, pkt.HasID = b.nsp.nextAckID(), true
	var mu sync.Mutex
	expected := -1
	var answers []sioparser.Args
	done := make(chan struct{})
	check := func() {
		if expected >= 0 && len(answers) >= expected {
			select {
			case <-done:
			default:
				close(done)
			}
		}
	}
	err = b.nsp.adapter.BroadcastWithAck(pkt, b.options(),
		func(n int) {
			mu.Lock()
			expected = n
			check()
			mu.Unlock()
		},
		func(a sioparser.Args) {
			mu.Lock()
			answers = append(answers, a)
			check()
			mu.Unlock()
		})
	if err != nil {
		return nil, err
	}
	select {
	case <-done:
		err = nil
	case <-ctx.Done():
		err = ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(answers), err
}

// FetchSockets returns the selected sockets, across the cluster unless
// Local.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	details, err := b.nsp.adapter.FetchSockets(ctx, b.options())
	out := make([]*RemoteSocket, 0, len(details))
	for _, d := range details {
		out = append(out, &RemoteSocket{nsp: b.nsp, SocketDetails: d})
	}
	return out, err
}

// SocketsJoin makes the selected sockets join rooms.
func (b *BroadcastOperator) SocketsJoin(rooms ...string) error {
	return b.nsp.adapter.AddSockets(b.options(), rooms)
}

// SocketsLeave makes the selected sockets leave rooms.
func (b *BroadcastOperator) SocketsLeave(rooms ...string) error {
	return b.nsp.adapter.DelSockets(b.options(), rooms)
}

// DisconnectSockets disconnects the selected sockets; close also closes
// their connections.
func (b *BroadcastOperator) DisconnectSockets(close bool) error {
	return b.nsp.adapter.DisconnectSockets(b.options(), close)
}

// RemoteSocket is a socket found by FetchSockets, on this server or
// another; its methods act on it wherever it is.
type RemoteSocket struct {
	nsp *Namespace
	adapter.SocketDetails
}

func (r *RemoteSocket) only() *BroadcastOperator {
	return &BroadcastOperator{nsp: r.nsp, rooms: []string{r.ID}}
}

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error { return r.only().Emit(event, args...) }

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(rooms ...string) error { return r.only().SocketsJoin(rooms...) }

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(rooms ...string) error { return r.only().SocketsLeave(rooms...) }

// Disconnect disconnects the socket; close also closes its connection.
func (r *RemoteSocket) Disconnect(close bool) error { return r.only().DisconnectSockets(close) }
