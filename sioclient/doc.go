// Package sioclient is a Socket.IO v5 client (Node: socket.io-client).
//
// A Manager holds one Engine.IO connection to a server (package eioclient:
// polling with an upgrade to WebSocket by default, or WebSocket only) and
// reopens it with backoff after a loss. A Socket is the program's
// connection to one namespace of that server; the Sockets of several
// namespaces share their Manager's connection (multiplexing). Connect is
// the shortcut for one namespace on a Manager of its own.
//
// Sockets emit events with JSON arguments ([]byte values become binary
// attachments), with or without an acknowledgement, and receive events
// with typed handlers, as package socketio does on the server. Emits made
// while a socket is disconnected wait in a buffer and go out when it
// connects again; volatile ones are dropped instead.
//
// Handlers are called one at a time, in order, on a goroutine of the
// Manager; acknowledgements are taken as they arrive, so a handler may wait
// in EmitWithAck.
package sioclient
