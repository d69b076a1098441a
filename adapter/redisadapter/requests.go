package redisadapter

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
)

// requestTable holds what an adapter waits for from the other servers:
// requests (fetchSockets, allRooms, serverSideEmit with acks) and
// broadcasts with acks, by request id. Both adapters embed it; its mutex
// also guards their closed flag.
type requestTable struct {
	mu          sync.Mutex
	requests    map[string]*pending
	ackRequests map[string]*ackRequest
	closed      bool
	closedCh    chan struct{} // closed by the adapter's Close
}

func newRequestTable() requestTable {
	return requestTable{requests: map[string]*pending{}, ackRequests: map[string]*ackRequest{}, closedCh: make(chan struct{})}
}

// pending is a request waiting for the other servers' responses.
type pending struct {
	typ     int
	want    int // responses expected
	got     int
	sockets []adapter.SocketDetails
	answers [][]any
	done    chan struct{}
}

// ackRequest is a broadcast with acks this server sent.
type ackRequest struct {
	clientCount func(int)
	ack         func(sioparser.Args)
	timer       *time.Timer // runs expire
	expire      func()
}

// markClosed sets the closed flag and closes closedCh; it reports false
// when that was done before.
func (t *requestTable) markClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.closed = true
	close(t.closedCh)
	return true
}

// armExpiry runs expire, which ends the broadcast with acks id, after d,
// or at Close (at once when the table is closed already).
func (t *requestTable) armExpiry(id string, d time.Duration, expire func()) {
	t.mu.Lock()
	ar := t.ackRequests[id]
	if ar != nil && !t.closed {
		ar.timer, ar.expire = time.AfterFunc(d, expire), expire
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	expire()
}

// expireAcks ends every broadcast with acks still waiting, for Close: each
// reports the clients counted so far, and no timer outlives the adapter.
func (t *requestTable) expireAcks() {
	t.mu.Lock()
	var expires []func()
	for _, ar := range t.ackRequests {
		if ar.timer != nil && ar.timer.Stop() {
			expires = append(expires, ar.expire)
		}
	}
	t.mu.Unlock()
	for _, expire := range expires {
		expire()
	}
}

// await registers a request of type typ expecting want responses under a
// new id, sends it with publish(id), and waits for the responses, timeout,
// ctx or Close. It returns a copy of what came, with adapter.ErrTimeout
// (or ErrClosed) when that was not everything.
func (t *requestTable) await(ctx context.Context, typ, want int, timeout time.Duration, publish func(id string) error) (*pending, error) {
	id := newUID() + newUID()
	p := &pending{typ: typ, want: want, done: make(chan struct{})}
	t.mu.Lock()
	t.requests[id] = p
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.requests, id)
		t.mu.Unlock()
	}()
	if err := publish(id); err != nil {
		return nil, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case <-p.done:
	case <-timer.C:
		err = adapter.ErrTimeout
	case <-ctx.Done():
		err = fmt.Errorf("%w: %w", adapter.ErrTimeout, ctx.Err())
	case <-t.closedCh:
		err = ErrClosed
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return &pending{sockets: slices.Clone(p.sockets), answers: slices.Clone(p.answers), got: p.got}, err
}

// answered counts a response to p, under t.mu, and wakes its waiter when
// all have come.
func (p *pending) answered() {
	p.got++
	if p.got == p.want {
		close(p.done)
	}
}

// ownRequest reports whether id is a request of this adapter.
func (t *requestTable) ownRequest(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, own := t.requests[id]
	return own
}

// expectAcks registers a broadcast with acks to servers servers (this one
// included) under a new id. The returned count function takes each
// server's client count; clientCount gets the total once every server has
// counted, or at expire, which forgets the broadcast (servers that did not
// answer count for no client).
func (t *requestTable) expectAcks(servers int, clientCount func(int), ack func(sioparser.Args)) (id string, count func(int), expire func()) {
	var mu sync.Mutex
	total, replies, reported := 0, 0, false
	report := func(n int, final bool) {
		mu.Lock()
		total += n
		if !final {
			replies++
		}
		fire := !reported && (replies >= servers || final)
		reported = reported || fire
		sum := total
		mu.Unlock()
		if fire {
			clientCount(sum)
		}
	}
	id = newUID() + newUID()
	count = func(n int) { report(n, false) }
	t.mu.Lock()
	t.ackRequests[id] = &ackRequest{clientCount: count, ack: ack}
	t.mu.Unlock()
	expire = func() {
		t.mu.Lock()
		delete(t.ackRequests, id)
		t.mu.Unlock()
		report(0, true)
	}
	return id, count, expire
}

// ackRequest returns the broadcast with acks id, or nil.
func (t *requestTable) ackRequest(id string) *ackRequest {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ackRequests[id]
}

// ackTimeout is how long a broadcast with acks waits for the other
// servers: its own timeout, else def.
func ackTimeout(opts adapter.BroadcastOptions, def time.Duration) time.Duration {
	if opts.Flags.Timeout > 0 {
		return opts.Flags.Timeout
	}
	return def
}
