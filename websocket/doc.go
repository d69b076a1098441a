// Package websocket implements the WebSocket protocol (RFC 6455) with
// permessage-deflate compression (RFC 7692), server and client.
//
// # Overview
//
// A server upgrades an HTTP request with Accept; a client connects with
// Dial. Both return a *Conn, which reads and writes whole messages (Read,
// ReadAppend, Write), streams them (Reader, Writer), sends prepared
// broadcast messages (WritePrepared), pings (Ping) and closes (Close,
// CloseNow).
//
// # Concurrency
//
// One goroutine reads at a time; every other method may be called from any
// goroutine. Control frames are handled on the read path: pings are
// answered automatically and the peer's close frame ends the read loop with
// a *CloseError. Writes are atomic per message. The package starts no
// goroutine of its own per connection.
//
// # Limits
//
// A message larger than the read limit (DefaultReadLimit, 1 MiB, unless
// set with AcceptOptions.ReadLimit, DialOptions.ReadLimit or
// Conn.SetReadLimit) closes the connection with 1009 before its payload is
// read; the limit bounds the decompressed size too. Protocol violations
// close with 1002 and invalid UTF-8 in a text message with 1007, as soon as
// the offending byte arrives. Errors wrap ErrProtocol, ErrInvalidUTF8 and
// ErrMessageTooBig respectively.
//
// # Memory
//
// An idle connection holds no pooled read or write buffer: reads wait on a
// 128-byte inline buffer and borrow a pooled one only while a message is
// larger, and writes borrow one for the duration of a frame. A goroutine
// parked in Read keeps the minimum 2 KiB stack. See CompressionMode for the
// memory cost of compression.
//
// For the smallest footprint, return from the HTTP handler after Accept and
// run the read loop in a goroutine of its own: while a handler runs,
// net/http keeps its own 4 KiB read and 4 KiB write buffers for the
// connection, which Accept does not use. Measured at 10 000 idle
// connections (bench/RESULTS.md): about 4.5 KiB per connection in a
// goroutine of its own, about 17 KiB inside the handler.
//
// # Closing
//
// Close sends a close frame and waits up to five seconds for the peer's.
// When the peer closes first, the reader answers with the same code and
// returns a *CloseError; CloseStatus extracts its code. A connection lost
// without a close frame reads as a *CloseError with StatusAbnormalClosure.
package websocket
