// Package adapter defines how a Socket.IO namespace finds the sockets a
// packet goes to: rooms, broadcasts and the requests that span servers.
// Adapter is the plug-in point for scale-out; the in-memory adapter of this
// package serves a single server and is the default. Package adaptertest
// holds the suite every adapter must pass.
//
// An adapter routes; it never writes to a connection. It selects local
// sockets and hands them, with the packet, to its Host (the namespace),
// which encodes the packet once and writes it to each.
package adapter

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/wsio/wsio/sioparser"
)

// BroadcastFlags modify a broadcast, as Node's flags do.
type BroadcastFlags struct {
	// Volatile packets may be dropped for clients that are not ready.
	Volatile bool
	// NoCompress sends the packet uncompressed (Node: compress(false)). By
	// default packets are compressed where the transport offers it.
	NoCompress bool
	// Local restricts the broadcast to this server.
	Local bool
	// Timeout bounds the wait for acknowledgements of a broadcast with
	// acks.
	Timeout time.Duration
}

// BroadcastOptions select the sockets of a broadcast or a request: those
// in any of Rooms (all sockets when Rooms is empty) and in none of Except.
type BroadcastOptions struct {
	Rooms  []string
	Except []string
	Flags  BroadcastFlags
}

// Handshake describes how a socket connected, as Node's socket.handshake.
// Headers and Query are shared by the sockets of one connection and by the
// engine session's request: read them, do not modify them.
type Handshake struct {
	Headers http.Header
	Time    string // when the connection was made, as Date.toString()
	Address string // the client's address
	XDomain bool   // whether the request was cross-origin
	Secure  bool   // whether it came over TLS
	Issued  int64  // when the connection was made, in ms since the epoch
	URL     string // the request URL
	Query   url.Values
	Auth    map[string]any // the auth payload of the CONNECT packet
}

// SocketDetails is what FetchSockets returns for a socket, local or on
// another server.
type SocketDetails struct {
	ID        string
	Handshake Handshake
	Rooms     []string
	Data      any
}

// Socket is the adapter's view of one local socket.
type Socket interface {
	ID() string
	// Join and Leave change the socket's rooms (through the adapter's
	// AddAll and Del, as the socket's own Join and Leave do).
	Join(rooms ...string)
	Leave(room string)
	// Disconnect disconnects the socket; close also closes its connection.
	Disconnect(close bool)
	// Details describes the socket for FetchSockets.
	Details() SocketDetails
}

// Host is the namespace an adapter serves.
type Host interface {
	// Name returns the namespace's name.
	Name() string
	// Socket returns the local socket with id.
	Socket(id string) (Socket, bool)
	// Deliver writes pkt to each of sockets, encoded once.
	Deliver(pkt *sioparser.Packet, sockets []Socket, flags BroadcastFlags)
	// DeliverWithAck writes pkt to each of sockets with an ack id (the
	// host's own when pkt has none, as for a packet from another server),
	// and calls ack with each client's answer.
	DeliverWithAck(pkt *sioparser.Packet, sockets []Socket, flags BroadcastFlags, ack func(sioparser.Args))
	// OnServerSideEmit delivers an event another server sent with
	// ServerSideEmit to the namespace's handlers. ack is nil when the
	// sender does not wait for an answer.
	OnServerSideEmit(event string, args []any, ack func(args ...any))
	// RoomEvent reports "create-room", "delete-room", "join-room" and
	// "leave-room" (id is empty for the first two).
	RoomEvent(event, room, id string)
}

// SessionToPersist is what a disconnected socket leaves for connection
// state recovery.
type SessionToPersist struct {
	SID   string
	PID   string
	Rooms []string
	Data  any
}

// Session is a restored session with the packets its client missed.
type Session struct {
	SessionToPersist
	MissedPackets []*sioparser.Packet
}

// Adapter routes packets to the sockets of one namespace, on this server and,
// for cluster adapters, on others. Methods may be called from any goroutine.
type Adapter interface {
	// Init starts the adapter; Close stops it.
	Init(ctx context.Context) error
	Close() error

	// ServerCount returns the number of servers in the cluster.
	ServerCount(ctx context.Context) (int, error)

	// AddAll adds a local socket to rooms; Del removes it from one; DelAll
	// from all of them.
	AddAll(id string, rooms ...string)
	Del(id, room string)
	DelAll(id string)
	// SocketRooms returns the rooms of a local socket.
	SocketRooms(id string) []string
	// Rooms returns the local rooms and their socket counts.
	Rooms() map[string]int
	// Sockets returns the ids of the sockets in any of rooms (all sockets
	// when rooms is empty), across the cluster unless local.
	Sockets(ctx context.Context, rooms []string) ([]string, error)

	// Broadcast sends pkt to the selected sockets.
	Broadcast(pkt *sioparser.Packet, opts BroadcastOptions) error
	// BroadcastWithAck sends pkt to the selected sockets and calls ack with
	// each answer. clientCount is called once with the number of clients
	// the packet reached, summed across the servers that reported in time
	// (acks may come before it); the caller bounds the wait with
	// opts.Flags.Timeout.
	BroadcastWithAck(pkt *sioparser.Packet, opts BroadcastOptions, clientCount func(int), ack func(sioparser.Args)) error

	// FetchSockets returns the selected sockets, across the cluster unless
	// opts.Flags.Local.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]SocketDetails, error)
	// AddSockets makes the selected sockets join rooms; DelSockets leave
	// them; DisconnectSockets disconnect them.
	AddSockets(opts BroadcastOptions, rooms []string) error
	DelSockets(opts BroadcastOptions, rooms []string) error
	DisconnectSockets(opts BroadcastOptions, close bool) error

	// ServerSideEmit sends an event to the other servers of the cluster.
	ServerSideEmit(event string, args []any) error
	// ServerSideEmitWithAck does the same and returns every server's
	// answer; with fewer answers than servers it returns those that came
	// and ErrTimeout when ctx ends.
	ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([][]any, error)

	// PersistSession keeps a disconnected socket's session for recovery;
	// RestoreSession returns it with the packets sent after offset, or nil
	// when it cannot be recovered.
	PersistSession(s SessionToPersist)
	RestoreSession(ctx context.Context, pid, offset string) (*Session, error)
}

// Factory creates the adapter of a namespace.
type Factory func(host Host) Adapter

// ErrTimeout is returned when a request across servers got fewer answers
// than expected in time.
var ErrTimeout = errors.New("adapter: timed out waiting for other servers")
