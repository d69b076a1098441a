package adapter

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wsio/wsio/sioparser"
)

// MemoryOptions configures the in-memory adapter.
type MemoryOptions struct {
	// MaxDisconnectionDuration, when positive, keeps the sessions of
	// disconnected sockets and the packets broadcast since for that long, for
	// connection state recovery (Node: connectionStateRecovery).
	MaxDisconnectionDuration time.Duration
}

// NewMemory returns the factory of the in-memory adapter.
func NewMemory(opts MemoryOptions) Factory {
	return func(host Host) Adapter {
		m := &Memory{host: host, opts: opts, rooms: map[string]*strSet{}, sids: map[string]*strSet{}}
		if opts.MaxDisconnectionDuration > 0 {
			var b [5]byte
			_, _ = rand.Read(b[:])
			m.offsetPrefix = base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]) + "-"
			m.sessions = map[string]storedSession{}
		}
		return m
	}
}

// Memory is the in-memory adapter: one server, rooms in maps.
type Memory struct {
	host Host
	opts MemoryOptions

	mu    sync.Mutex
	rooms map[string]*strSet // room → socket ids
	sids  map[string]*strSet // socket id → rooms

	// connection state recovery
	offsetPrefix string
	nextOffset   uint64
	packets      []storedPacket
	sessions     map[string]storedSession
}

type storedPacket struct {
	offset    string
	opts      BroadcastOptions
	pkt       *sioparser.Packet
	emittedAt time.Time
}

type storedSession struct {
	SessionToPersist
	disconnectedAt time.Time
}

type roomEvent struct{ event, room, id string }

// Init implements Adapter.
func (m *Memory) Init(context.Context) error { return nil }

// Close implements Adapter.
func (m *Memory) Close() error { return nil }

// ServerCount implements Adapter: always 1.
func (m *Memory) ServerCount(context.Context) (int, error) { return 1, nil }

// AddAll implements Adapter.
func (m *Memory) AddAll(id string, rooms ...string) {
	var events []roomEvent
	m.mu.Lock()
	mine := m.sids[id]
	if mine == nil {
		mine = &strSet{}
		m.sids[id] = mine
	}
	for _, room := range rooms {
		mine.add(room)
		members := m.rooms[room]
		if members == nil {
			members = &strSet{}
			m.rooms[room] = members
			events = append(events, roomEvent{"create-room", room, ""})
		}
		if members.add(id) {
			events = append(events, roomEvent{"join-room", room, id})
		}
	}
	m.mu.Unlock()
	m.emit(events)
}

// Del implements Adapter.
func (m *Memory) Del(id, room string) {
	m.mu.Lock()
	if mine := m.sids[id]; mine != nil {
		mine.del(room)
	}
	events := m.delLocked(room, id, nil)
	m.mu.Unlock()
	m.emit(events)
}

func (m *Memory) delLocked(room, id string, events []roomEvent) []roomEvent {
	members := m.rooms[room]
	if members == nil {
		return events
	}
	if members.del(id) {
		events = append(events, roomEvent{"leave-room", room, id})
	}
	if members.len() == 0 {
		delete(m.rooms, room)
		events = append(events, roomEvent{"delete-room", room, ""})
	}
	return events
}

// DelAll implements Adapter.
func (m *Memory) DelAll(id string) {
	m.mu.Lock()
	var events []roomEvent
	for room := range m.sids[id].all() {
		events = m.delLocked(room, id, events)
	}
	delete(m.sids, id)
	m.mu.Unlock()
	m.emit(events)
}

func (m *Memory) emit(events []roomEvent) {
	for _, e := range events {
		m.host.RoomEvent(e.event, e.room, e.id)
	}
}

// SocketRooms implements Adapter.
func (m *Memory) SocketRooms(id string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	mine := m.sids[id]
	if mine == nil {
		return []string{}
	}
	out := make([]string, 0, mine.len())
	for room := range mine.all() {
		out = append(out, room)
	}
	slices.Sort(out)
	return out
}

// HasRoom reports whether a local socket is in room.
func (m *Memory) HasRoom(room string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rooms[room] != nil
}

// Rooms implements Adapter.
func (m *Memory) Rooms() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.rooms))
	for room, members := range m.rooms {
		out[room] = members.len()
	}
	return out
}

// Sockets implements Adapter.
func (m *Memory) Sockets(_ context.Context, rooms []string) ([]string, error) {
	var ids []string
	for _, s := range m.Select(BroadcastOptions{Rooms: rooms}) {
		ids = append(ids, s.ID())
	}
	return ids, nil
}

// Select returns the local sockets opts selects, each once, as Node's
// adapter applies options: members of any of opts.Rooms (every socket when
// it is empty) that are in none of opts.Except. Cluster adapters use it for
// their local part.
func (m *Memory) Select(opts BroadcastOptions) []Socket {
	m.mu.Lock()
	except := map[string]struct{}{}
	for _, room := range opts.Except {
		for id := range m.rooms[room].all() {
			except[id] = struct{}{}
		}
	}
	var ids []string
	if len(opts.Rooms) > 0 {
		seen := map[string]struct{}{}
		for _, room := range opts.Rooms {
			for id := range m.rooms[room].all() {
				if _, dup := seen[id]; dup {
					continue
				}
				if _, ex := except[id]; ex {
					continue
				}
				seen[id] = struct{}{}
				ids = append(ids, id)
			}
		}
	} else {
		for id := range m.sids {
			if _, ex := except[id]; !ex {
				ids = append(ids, id)
			}
		}
	}
	m.mu.Unlock()
	out := make([]Socket, 0, len(ids))
	for _, id := range ids {
		if s, ok := m.host.Socket(id); ok {
			out = append(out, s)
		}
	}
	return out
}

// Broadcast implements Adapter. With recovery on, an EVENT without ack id
// that is not volatile gets an offset as its last argument and is kept.
func (m *Memory) Broadcast(pkt *sioparser.Packet, opts BroadcastOptions) error {
	if m.sessions != nil {
		pkt = m.store(pkt, opts)
	}
	m.host.Deliver(pkt, m.Select(opts), opts.Flags)
	return nil
}

// store keeps a copy of pkt with an offset appended, and returns it.
func (m *Memory) store(pkt *sioparser.Packet, opts BroadcastOptions) *sioparser.Packet {
	if (pkt.Type != sioparser.Event && pkt.Type != sioparser.BinaryEvent) || pkt.HasID || opts.Flags.Volatile {
		return pkt
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextOffset++
	offset := m.offsetPrefix + strconv.FormatUint(m.nextOffset, 36)
	withOffset := *pkt
	withOffset.Data = AppendOffset(pkt.Data, offset)
	now := time.Now()
	m.pruneLocked(now)
	m.packets = append(m.packets, storedPacket{offset: offset, opts: cloneOptions(opts), pkt: &withOffset, emittedAt: now})
	return &withOffset
}

// AppendOffset returns a copy of an EVENT payload (a JSON array) with
// offset appended as a last string argument, as recovery sends it.
func AppendOffset(data []byte, offset string) []byte {
	end := len(data) - 1
	for end > 0 && data[end] != ']' {
		end--
	}
	out := make([]byte, 0, end+len(offset)+4)
	out = append(out, data[:end]...)
	if !emptyArray(data[:end]) {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, offset...)
	return append(out, '"', ']')
}

func emptyArray(prefix []byte) bool {
	for i := len(prefix) - 1; i >= 0; i-- {
		switch prefix[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '[':
			return true
		}
		return false
	}
	return true
}

func cloneOptions(o BroadcastOptions) BroadcastOptions {
	o.Rooms = slices.Clone(o.Rooms)
	o.Except = slices.Clone(o.Except)
	return o
}

// pruneLocked drops stored packets and sessions older than the recovery
// window.
func (m *Memory) pruneLocked(now time.Time) {
	threshold := now.Add(-m.opts.MaxDisconnectionDuration)
	i := 0
	for i < len(m.packets) && m.packets[i].emittedAt.Before(threshold) {
		i++
	}
	if i > 0 {
		m.packets = slices.Delete(m.packets, 0, i)
	}
	for pid, s := range m.sessions {
		if s.disconnectedAt.Before(threshold) {
			delete(m.sessions, pid)
		}
	}
}

// BroadcastWithAck implements Adapter.
func (m *Memory) BroadcastWithAck(pkt *sioparser.Packet, opts BroadcastOptions, clientCount func(int), ack func(sioparser.Args)) error {
	sockets := m.Select(opts)
	clientCount(len(sockets))
	m.host.DeliverWithAck(pkt, sockets, opts.Flags, ack)
	return nil
}

// FetchSockets implements Adapter.
func (m *Memory) FetchSockets(_ context.Context, opts BroadcastOptions) ([]SocketDetails, error) {
	sockets := m.Select(opts)
	out := make([]SocketDetails, 0, len(sockets))
	for _, s := range sockets {
		out = append(out, s.Details())
	}
	return out, nil
}

// AddSockets implements Adapter.
func (m *Memory) AddSockets(opts BroadcastOptions, rooms []string) error {
	for _, s := range m.Select(opts) {
		s.Join(rooms...)
	}
	return nil
}

// DelSockets implements Adapter.
func (m *Memory) DelSockets(opts BroadcastOptions, rooms []string) error {
	for _, s := range m.Select(opts) {
		for _, room := range rooms {
			s.Leave(room)
		}
	}
	return nil
}

// DisconnectSockets implements Adapter.
func (m *Memory) DisconnectSockets(opts BroadcastOptions, close bool) error {
	for _, s := range m.Select(opts) {
		s.Disconnect(close)
	}
	return nil
}

// ServerSideEmit implements Adapter: there is no other server to reach.
func (m *Memory) ServerSideEmit(string, []any) error { return nil }

// ServerSideEmitWithAck implements Adapter: no other server, no answer.
func (m *Memory) ServerSideEmitWithAck(context.Context, string, []any) ([][]any, error) {
	return [][]any{}, nil
}

// PersistSession implements Adapter.
func (m *Memory) PersistSession(s SessionToPersist) {
	if m.sessions == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.pruneLocked(now)
	s.Rooms = slices.Clone(s.Rooms)
	m.sessions[s.PID] = storedSession{SessionToPersist: s, disconnectedAt: now}
}

// RestoreSession implements Adapter.
func (m *Memory) RestoreSession(_ context.Context, pid, offset string) (*Session, error) {
	if m.sessions == nil {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[pid]
	if !ok {
		return nil, nil
	}
	delete(m.sessions, pid)
	if time.Since(s.disconnectedAt) > m.opts.MaxDisconnectionDuration {
		return nil, nil
	}
	idx := slices.IndexFunc(m.packets, func(p storedPacket) bool { return p.offset == offset })
	if idx < 0 {
		return nil, nil
	}
	out := &Session{SessionToPersist: s.SessionToPersist}
	for _, p := range m.packets[idx+1:] {
		if includes(s.Rooms, p.opts) {
			out.MissedPackets = append(out.MissedPackets, p.pkt)
		}
	}
	return out, nil
}

// includes reports whether a socket in rooms was selected by opts.
func includes(rooms []string, opts BroadcastOptions) bool {
	in := len(opts.Rooms) == 0
	for _, r := range rooms {
		if slices.Contains(opts.Except, r) {
			return false
		}
		if !in && slices.Contains(opts.Rooms, r) {
			in = true
		}
	}
	return in
}
