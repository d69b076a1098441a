// Package adaptertest is the conformance suite every adapter.Adapter must
// pass: rooms, broadcasts, requests across servers and session recovery.
package adaptertest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
)

// Config describes the adapter under test.
type Config struct {
	// NewCluster returns n factories whose adapters form one cluster (for
	// the in-memory adapter, n is always 1). Recovery says whether
	// sessions are kept, for at least a minute.
	NewCluster func(t *testing.T, n int) []adapter.Factory
	// Servers is how many servers the cluster tests use: 1 for an adapter
	// without a cluster, 2 or more otherwise.
	Servers int
	// Recovery is set when the adapter keeps sessions for recovery.
	Recovery bool
	// Settle is how long messages between servers may take to arrive.
	// Default 2 s.
	Settle time.Duration
}

// Host is a fake namespace that records what its adapter delivers.
type Host struct {
	name string
	mu   sync.Mutex
	sock map[string]*Socket
	// Events holds the room events, as "event room id".
	Events []string
	// SSE holds the server-side events received, as "event args".
	SSE []string
	// SSEAnswer, when set, answers server-side events that want an ack.
	SSEAnswer []any
	ad        adapter.Adapter
}

// Socket is a fake socket of a Host.
type Socket struct {
	host         *Host
	id           string
	Packets      []string // the packets delivered, as encoded text
	Disconnected bool
	ack          func(sioparser.Args)
}

// NewHost returns a host named name with an adapter from f.
func NewHost(t *testing.T, name string, f adapter.Factory) *Host {
	h := &Host{name: name, sock: map[string]*Socket{}}
	h.ad = f(h)
	if err := h.ad.Init(context.Background()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() { _ = h.ad.Close() })
	return h
}

// Adapter returns the host's adapter.
func (h *Host) Adapter() adapter.Adapter { return h.ad }

// Add creates a local socket in rooms (and in its own room).
func (h *Host) Add(id string, rooms ...string) *Socket {
	s := &Socket{host: h, id: id}
	h.mu.Lock()
	h.sock[id] = s
	h.mu.Unlock()
	h.ad.AddAll(id, append([]string{id}, rooms...)...)
	return s
}

// Name implements adapter.Host.
func (h *Host) Name() string { return h.name }

// Socket implements adapter.Host.
func (h *Host) Socket(id string) (adapter.Socket, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.sock[id]
	if !ok || s.Disconnected {
		return nil, false
	}
	return s, true
}

// Deliver implements adapter.Host.
func (h *Host) Deliver(pkt *sioparser.Packet, sockets []adapter.Socket, _ adapter.BroadcastFlags) {
	text := string(sioparser.AppendText(nil, pkt))
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range sockets {
		s.(*Socket).Packets = append(s.(*Socket).Packets, text)
	}
}

// DeliverWithAck implements adapter.Host.
func (h *Host) DeliverWithAck(pkt *sioparser.Packet, sockets []adapter.Socket, _ adapter.BroadcastFlags, ack func(sioparser.Args)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range sockets {
		fs := s.(*Socket)
		fs.Packets = append(fs.Packets, string(sioparser.AppendText(nil, pkt)))
		fs.ack = ack
	}
}

// OnServerSideEmit implements adapter.Host.
func (h *Host) OnServerSideEmit(event string, args []any, ack func(args ...any)) {
	h.mu.Lock()
	h.SSE = append(h.SSE, fmt.Sprint(event, " ", args))
	answer := h.SSEAnswer
	h.mu.Unlock()
	if ack != nil {
		ack(answer...)
	}
}

// RoomEvent implements adapter.Host.
func (h *Host) RoomEvent(event, room, id string) {
	h.mu.Lock()
	h.Events = append(h.Events, event+" "+room+" "+id)
	h.mu.Unlock()
}

// ID implements adapter.Socket.
func (s *Socket) ID() string { return s.id }

// Join implements adapter.Socket.
func (s *Socket) Join(rooms ...string) { s.host.ad.AddAll(s.id, rooms...) }

// Leave implements adapter.Socket.
func (s *Socket) Leave(room string) { s.host.ad.Del(s.id, room) }

// Disconnect implements adapter.Socket.
func (s *Socket) Disconnect(bool) {
	s.host.mu.Lock()
	s.Disconnected = true
	s.host.mu.Unlock()
	s.host.ad.DelAll(s.id)
}

// Details implements adapter.Socket.
func (s *Socket) Details() adapter.SocketDetails {
	return adapter.SocketDetails{ID: s.id, Rooms: s.host.ad.SocketRooms(s.id), Data: map[string]any{"id": s.id},
		Handshake: adapter.Handshake{Address: "127.0.0.1", Issued: 1}}
}

// Answer acknowledges the last packet delivered with an ack, with args.
func (s *Socket) Answer(args ...any) {
	s.host.mu.Lock()
	ack := s.ack
	s.host.mu.Unlock()
	p, _ := sioparser.NewAck("/", 0, args...)
	a, _ := sioparser.ParseArgs(p)
	ack(a)
}

// WasDisconnected reports whether the adapter disconnected s.
func (s *Socket) WasDisconnected() bool {
	s.host.mu.Lock()
	defer s.host.mu.Unlock()
	return s.Disconnected
}

// SSEs returns a copy of the server-side events h received.
func (h *Host) SSEs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.SSE)
}

// Received returns a copy of the packets delivered to s.
func (s *Socket) Received() []string {
	s.host.mu.Lock()
	defer s.host.mu.Unlock()
	return slices.Clone(s.Packets)
}

func event(t *testing.T, name string, args ...any) *sioparser.Packet {
	t.Helper()
	p, err := sioparser.NewEvent("/", name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Run runs the suite.
func Run(t *testing.T, cfg Config) {
	if cfg.Settle == 0 {
		cfg.Settle = 2 * time.Second
	}
	t.Run("Rooms", func(t *testing.T) { testRooms(t, cfg) })
	t.Run("Broadcast", func(t *testing.T) { testBroadcast(t, cfg) })
	t.Run("BroadcastWithAck", func(t *testing.T) { testBroadcastWithAck(t, cfg) })
	t.Run("SocketOperations", func(t *testing.T) { testSocketOperations(t, cfg) })
	if cfg.Servers > 1 {
		t.Run("Cluster", func(t *testing.T) { testCluster(t, cfg) })
	}
	if cfg.Recovery {
		t.Run("Recovery", func(t *testing.T) { testRecovery(t, cfg) })
	}
}

func testRooms(t *testing.T, cfg Config) {
	h := NewHost(t, "/", cfg.NewCluster(t, 1)[0])
	ad := h.Adapter()
	h.Add("s1", "r1", "r2")
	h.Add("s2", "r1")
	if got := ad.SocketRooms("s1"); !slices.Equal(got, []string{"r1", "r2", "s1"}) {
		t.Errorf("SocketRooms %v", got)
	}
	if got := ad.Rooms(); got["r1"] != 2 || got["r2"] != 1 || got["s1"] != 1 {
		t.Errorf("Rooms %v", got)
	}
	ad.Del("s1", "r2")
	ad.Del("s1", "r2") // twice: no second event
	ad.DelAll("s2")
	want := []string{
		"create-room s1 ", "join-room s1 s1", "create-room r1 ", "join-room r1 s1", "create-room r2 ", "join-room r2 s1",
		"create-room s2 ", "join-room s2 s2", "join-room r1 s2",
		"leave-room r2 s1", "delete-room r2 ",
	}
	h.mu.Lock()
	events := slices.Clone(h.Events)
	h.mu.Unlock()
	if !slices.Equal(events[:len(want)], want) {
		t.Errorf("events %q", events)
	}
	rest := events[len(want):]
	slices.Sort(rest)
	if !slices.Equal(rest, []string{"delete-room s2 ", "leave-room r1 s2", "leave-room s2 s2"}) {
		t.Errorf("DelAll events %q", rest)
	}
	if got := ad.SocketRooms("s2"); len(got) != 0 {
		t.Errorf("rooms after DelAll %v", got)
	}
}

func testBroadcast(t *testing.T, cfg Config) {
	h := NewHost(t, "/", cfg.NewCluster(t, 1)[0])
	ad := h.Adapter()
	a := h.Add("a", "red", "blue")
	b := h.Add("b", "red")
	c := h.Add("c", "green")
	for _, bc := range []struct {
		opts adapter.BroadcastOptions
		to   []*Socket
	}{
		{adapter.BroadcastOptions{}, []*Socket{a, b, c}},
		{adapter.BroadcastOptions{Rooms: []string{"red", "blue"}}, []*Socket{a, b}},
		{adapter.BroadcastOptions{Rooms: []string{"red"}, Except: []string{"blue"}}, []*Socket{b}},
		{adapter.BroadcastOptions{Except: []string{"red"}}, []*Socket{c}},
		{adapter.BroadcastOptions{Rooms: []string{"nobody"}}, nil},
		{adapter.BroadcastOptions{Rooms: []string{"c"}}, []*Socket{c}},
	} {
		before := map[*Socket]int{a: len(a.Received()), b: len(b.Received()), c: len(c.Received())}
		if err := ad.Broadcast(event(t, "ev", 1), bc.opts); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*Socket{a, b, c} {
			want := before[s]
			if slices.Contains(bc.to, s) {
				want++
			}
			if got := len(s.Received()); got != want {
				t.Errorf("%+v: socket %s got %d packets, want %d", bc.opts, s.id, got, want)
			}
		}
	}
	ids, err := ad.Sockets(context.Background(), []string{"red", "green"})
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Errorf("Sockets %v %v", ids, err)
	}
}

func testBroadcastWithAck(t *testing.T, cfg Config) {
	h := NewHost(t, "/", cfg.NewCluster(t, 1)[0])
	a := h.Add("a", "room")
	b := h.Add("b", "room")
	h.Add("c")
	var count int
	var mu sync.Mutex
	var answers []string
	err := h.Adapter().BroadcastWithAck(event(t, "q"), adapter.BroadcastOptions{Rooms: []string{"room"}},
		func(n int) { count = n },
		func(args sioparser.Args) {
			var s string
			_ = args.Decode(0, &s)
			mu.Lock()
			answers = append(answers, s)
			mu.Unlock()
		})
	if err != nil || count != 2 {
		t.Fatalf("count %d err %v", count, err)
	}
	a.Answer("from a")
	b.Answer("from b")
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(answers)
	if !slices.Equal(answers, []string{"from a", "from b"}) {
		t.Errorf("answers %q", answers)
	}
}

func testSocketOperations(t *testing.T, cfg Config) {
	h := NewHost(t, "/", cfg.NewCluster(t, 1)[0])
	ad := h.Adapter()
	h.Add("a", "x")
	b := h.Add("b", "y")
	details, err := ad.FetchSockets(context.Background(), adapter.BroadcastOptions{Rooms: []string{"x"}})
	if err != nil || len(details) != 1 || details[0].ID != "a" || !slices.Contains(details[0].Rooms, "x") ||
		details[0].Handshake.Address != "127.0.0.1" {
		t.Fatalf("FetchSockets %+v %v", details, err)
	}
	if err := ad.AddSockets(adapter.BroadcastOptions{Rooms: []string{"x"}}, []string{"z"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ad.SocketRooms("a"), "z") {
		t.Errorf("AddSockets: rooms of a %v", ad.SocketRooms("a"))
	}
	if err := ad.DelSockets(adapter.BroadcastOptions{}, []string{"z", "y"}); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(ad.SocketRooms("a"), "z") || slices.Contains(ad.SocketRooms("b"), "y") {
		t.Errorf("DelSockets: %v %v", ad.SocketRooms("a"), ad.SocketRooms("b"))
	}
	if err := ad.DisconnectSockets(adapter.BroadcastOptions{Rooms: []string{"b"}}, true); err != nil {
		t.Fatal(err)
	}
	if !b.Disconnected {
		t.Error("DisconnectSockets did not reach b")
	}
	if n, err := ad.ServerCount(context.Background()); err != nil || n < 1 {
		t.Errorf("ServerCount %d %v", n, err)
	}
}

// eventually polls cond until it holds or settle passes.
func eventually(t *testing.T, settle time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, settle)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testCluster(t *testing.T, cfg Config) {
	fs := cfg.NewCluster(t, cfg.Servers)
	h1 := NewHost(t, "/", fs[0])
	h2 := NewHost(t, "/", fs[1])
	a := h1.Add("a", "room")
	b := h2.Add("b", "room")
	c := h2.Add("c")
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Settle)
	defer cancel()
	if n, err := h1.Adapter().ServerCount(ctx); err != nil || n != cfg.Servers {
		t.Errorf("ServerCount %d %v", n, err)
	}
	_ = h1.Adapter().Broadcast(event(t, "all"), adapter.BroadcastOptions{})
	eventually(t, cfg.Settle, "broadcast across servers", func() bool {
		return len(a.Received()) == 1 && len(b.Received()) == 1 && len(c.Received()) == 1
	})
	_ = h1.Adapter().Broadcast(event(t, "room"), adapter.BroadcastOptions{Rooms: []string{"room"}, Except: []string{"a"}})
	_ = h1.Adapter().Broadcast(event(t, "local"), adapter.BroadcastOptions{Flags: adapter.BroadcastFlags{Local: true}})
	eventually(t, cfg.Settle, "room broadcast across servers", func() bool { return len(b.Received()) == 2 })
	time.Sleep(100 * time.Millisecond)
	if len(c.Received()) != 1 || len(a.Received()) != 2 {
		t.Errorf("local or except leaked: a %q c %q", a.Received(), c.Received())
	}
	details, err := h1.Adapter().FetchSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"room"}})
	if err != nil || len(details) != 2 {
		t.Errorf("FetchSockets across servers: %+v %v", details, err)
	}
	h2.mu.Lock()
	h2.SSEAnswer = []any{"pong"}
	h2.mu.Unlock()
	answers, err := h1.Adapter().ServerSideEmitWithAck(ctx, "ping", []any{"x"})
	if err != nil || len(answers) != cfg.Servers-1 {
		t.Errorf("ServerSideEmitWithAck %v %v", answers, err)
	}
	h1.mu.Lock()
	self := len(h1.SSE)
	h1.mu.Unlock()
	if self != 0 {
		t.Error("a server received its own server-side event")
	}
	if err := h1.Adapter().AddSockets(adapter.BroadcastOptions{Rooms: []string{"c"}}, []string{"joined"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, cfg.Settle, "remote AddSockets", func() bool { return slices.Contains(h2.Adapter().SocketRooms("c"), "joined") })
	_ = h1.Adapter().DisconnectSockets(adapter.BroadcastOptions{Rooms: []string{"c"}}, false)
	eventually(t, cfg.Settle, "remote DisconnectSockets", func() bool {
		h2.mu.Lock()
		defer h2.mu.Unlock()
		return c.Disconnected
	})
}

func testRecovery(t *testing.T, cfg Config) {
	h := NewHost(t, "/", cfg.NewCluster(t, 1)[0])
	ad := h.Adapter()
	a := h.Add("a", "red")
	_ = ad.Broadcast(event(t, "first"), adapter.BroadcastOptions{})
	got := a.Received()
	if len(got) != 1 {
		t.Fatalf("packets %q", got)
	}
	// The offset is the last argument.
	p, _, err := sioparser.DecodeText([]byte(got[0]), sioparser.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	_, args, _ := sioparser.ParseEvent(&p)
	var offset string
	if err := args.Decode(args.Len()-1, &offset); err != nil || offset == "" {
		t.Fatalf("no offset in %s: %v", got[0], err)
	}
	ad.PersistSession(adapter.SessionToPersist{SID: "a", PID: "pid-a", Rooms: []string{"a", "red"}, Data: "d"})
	ad.DelAll("a")
	_ = ad.Broadcast(event(t, "to-red"), adapter.BroadcastOptions{Rooms: []string{"red"}})
	_ = ad.Broadcast(event(t, "to-blue"), adapter.BroadcastOptions{Rooms: []string{"blue"}})
	_ = ad.Broadcast(event(t, "except-red"), adapter.BroadcastOptions{Except: []string{"red"}})
	_ = ad.Broadcast(event(t, "volatile"), adapter.BroadcastOptions{Flags: adapter.BroadcastFlags{Volatile: true}})
	_ = ad.Broadcast(event(t, "to-all", []byte{1}), adapter.BroadcastOptions{})
	ctx := context.Background()
	s, err := ad.RestoreSession(ctx, "pid-a", offset)
	if err != nil || s == nil {
		t.Fatalf("RestoreSession %v %v", s, err)
	}
	if s.SID != "a" || s.Data != "d" || len(s.MissedPackets) != 2 {
		t.Fatalf("session %+v", s)
	}
	for i, want := range []string{"to-red", "to-all"} {
		name, _, err := sioparser.ParseEvent(s.MissedPackets[i])
		if err != nil || name != want {
			t.Errorf("missed packet %d: %q %v", i, name, err)
		}
	}
	if len(s.MissedPackets[1].Attachments) != 1 {
		t.Errorf("binary missed packet lost its attachment")
	}
	if s, _ := ad.RestoreSession(ctx, "pid-a", offset); s != nil {
		t.Error("a session restored twice")
	}
	ad.PersistSession(adapter.SessionToPersist{SID: "b", PID: "pid-b"})
	if s, _ := ad.RestoreSession(ctx, "pid-b", "no-such-offset"); s != nil {
		t.Error("restored with an unknown offset")
	}
	if s, _ := ad.RestoreSession(ctx, "nobody", offset); s != nil {
		t.Error("restored an unknown pid")
	}
}
