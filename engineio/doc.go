// Package engineio implements the server side of the Engine.IO protocol,
// revision 4: the transport layer under Socket.IO.
//
// A Server is an http.Handler. Clients open a session (Session) with a
// handshake over HTTP long-polling or directly over WebSocket, exchange text
// and binary messages, and may upgrade a polling session to WebSocket
// ("2probe", "3probe", "5"). The server pings every PingInterval and closes
// sessions that do not answer within PingTimeout.
//
// # Behaviour as in Node
//
// Options, error codes ({"code":N,"message":"..."} with HTTP 400 or 403),
// close reasons ("transport close", "transport error", "ping timeout",
// "forced close", "parse error", "server shutting down") and the order of
// the handshake checks follow Node's engine.io server, so that the official
// clients see no difference.
//
// # Goroutines and memory
//
// A polling session has no goroutine of its own: a waiting GET is an open
// request, and the heartbeat and timeouts are time.AfterFunc timers. A
// WebSocket session has one goroutine reading; writes are made by a
// goroutine that exists only while the session's queue is not empty, so a
// slow client never blocks the caller of Send. The queue is bounded by
// Options.MaxBufferedBytes. Buffers come from a pool for the duration of a
// read or write.
//
// Callbacks (OnConnection, OnMessage, OnClose, OnUpgrade) run on the
// goroutine that caused them: the HTTP handler, the WebSocket reader, or a
// timer. Messages from one client are delivered one at a time, in order.
package engineio
