// Package socketio implements a Socket.IO protocol v5 server, compatible
// with the official clients (JavaScript, Swift, Kotlin, Java, Python...).
//
// A Server is an http.Handler on top of an engineio.Server. Clients connect
// to namespaces (Namespace; "/" is the main one), where each connection is
// a Socket. Sockets send and receive events with JSON arguments and binary
// attachments, answer acknowledgements, join rooms, and are reached by
// broadcasts (BroadcastOperator) through the namespace's adapter, which
// may span servers (package adapter).
//
// Handlers take Go types: a handler registered with Socket.On is a func
// whose parameters are decoded from the event's arguments ([]byte for
// binary), with an optional last parameter of type Ack to answer.
//
// # Order and goroutines
//
// A namespace's connection handlers run on the goroutine that reads the
// client's connection, before any of the socket's events: set the socket's
// handlers there. A socket's events then reach its handlers one at a time,
// in the order the client sent them. Over WebSocket they run on the
// goroutine that read them, so an event and its answer cost no goroutine
// switch; when handlers run longer than 10 ms, or wait in EmitWithAck,
// reading goes on on a new goroutine, so that acknowledgements, the
// heartbeat and the connection's other namespaces are never held up (the
// socket's own later events wait their turn). Over polling they run on a
// goroutine that exists only while there are events to deliver. Once 1024
// of a socket's events wait, its client's connection is read no further
// until they drain. Emit and every broadcast may be called from any
// goroutine; writes never wait for the client: each connection has a
// bounded queue (engineio.Options.MaxBufferedBytes), and a client that lets
// it fill is disconnected, while volatile packets are dropped as soon as
// its queue is not empty. Packets queued together for one WebSocket leave
// in one write to the network.
//
// # Differences from Node
//
// Middlewares are functions returning an error rather than taking a next
// callback; EmitWithAck returns the answer instead of taking a callback.
// Compress(false) is honoured per packet, as in Node: no permessage-deflate
// for it, and a polling response holding only such packets is not gzipped.
package socketio
