// Package eioclient implements an Engine.IO protocol v4 client: HTTP
// long-polling and WebSocket transports, the upgrade from polling to
// WebSocket, and the heartbeat, as the npm package engine.io-client does.
//
// # Connecting
//
// Dial performs the handshake on the first transport of
// Options.Transports (long-polling, then WebSocket, by default) and returns
// once the server's open packet has arrived. When the session runs on
// polling and the server offers "websocket" in its upgrades, the client
// probes a WebSocket in the background ("2probe", "3probe"), pauses polling
// (it waits for the pending GET, which the server releases with a noop, and
// for any POST in flight), sends the upgrade packet "5" and continues on the
// WebSocket. No packet is lost, duplicated or reordered across the switch;
// if the probe fails, the session stays on polling. Options.Transports
// {"websocket"} connects over WebSocket directly; with
// Options.TryAllTransports, a transport whose handshake fails gives way to
// the next one.
//
// # Sending and receiving
//
// Send queues a message; a writer goroutine sends queued packets in order.
// On polling, packets queued while a POST is in flight go out together in
// the next POST (at most one POST in flight), batched so that a POST stays
// within the server's maxPayload unless a single packet is larger. On
// WebSocket, each packet is one message; binary messages are sent as binary
// WebSocket messages.
//
// Messages from the server are delivered to Options.OnMessage.
//
// # Heartbeat
//
// The server pings; the client answers each ping with a pong. If no ping
// arrives within pingInterval + pingTimeout (from the handshake) of the
// handshake or the previous ping, the client closes with the reason "ping
// timeout". As in engine.io-client, only pings reset this watchdog.
//
// # Closing
//
// A client closes once, for one of these reasons, reported to
// Options.OnClose and by Err as a *CloseError:
//
//   - "forced close": Close was called;
//   - "transport close": the server closed the session (a close packet,
//     ErrClosedByServer) or the connection ended;
//   - "transport error": a request or the WebSocket failed;
//   - "ping timeout": no ping in time (ErrPingTimeout);
//   - "parse error": the server sent a malformed packet (ErrParse).
//
// # Callbacks and goroutines
//
// Callbacks run one at a time, never concurrently, in the order the packets
// arrived; OnClose runs last, once, after every other callback has
// returned and every goroutine of the client has ended. Done is closed
// after OnClose has returned. A callback may call any method of the client,
// Close included, but must not wait on Done.
//
// Per client, while open:
//
//   - one reader goroutine for the life of the client: the polling GET
//     loop, then, after an upgrade, the WebSocket read loop. It runs every
//     callback;
//   - one writer goroutine, only while packets wait to be written;
//   - one probe goroutine, only while an upgrade is being probed;
//   - the heartbeat watchdog is a time.AfterFunc timer, which parks no
//     goroutine;
//   - on polling, net/http keeps its own goroutines per keep-alive
//     connection; when the client uses its own HTTP transport (no
//     Options.HTTPClient), it closes those connections when it closes.
//
// Once Done is closed, the client has no goroutine left.
package eioclient
