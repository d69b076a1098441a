package engineio

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/wsio/wsio/eioparser"
	"github.com/wsio/wsio/websocket"
)

type sessionState int

const (
	stateOpen    sessionState = iota
	stateClosing              // Close was called: queued packets go out, then the close
	stateClosed
)

// outPacket is a packet waiting in a session's queue.
type outPacket struct {
	pkt        eioparser.Packet
	msg        *Message // set for a shared message: its prepared frame is written as is
	size       int      // bytes counted against MaxBufferedBytes
	noCompress bool
}

// SendOptions are options of one packet (Node: the options of
// socket.send).
type SendOptions struct {
	// NoCompress sends the packet uncompressed (Node: compress: false): no
	// permessage-deflate on WebSocket, and a polling response made only of
	// such packets is not gzipped. By default packets are compressed where
	// the server's options allow it.
	NoCompress bool
}

// Session is one Engine.IO client connection, over polling or WebSocket,
// from its handshake to its close (Node: Socket).
//
// Every method is safe for concurrent use. Messages from the client are
// handed to the OnMessage callback one at a time, in the order the client
// sent them: on the goroutine serving the client's POST request or reading
// its WebSocket. A callback that blocks holds up that client only.
type Session struct {
	srv  *Server
	id   string
	req  *http.Request
	done chan struct{}

	// deliver serialises calls of the message callback across transports.
	deliver sync.Mutex

	mu        sync.Mutex
	state     sessionState
	transport string
	queue     []outPacket
	spare     []outPacket // the queue's previous backing array, reused
	queued    int         // bytes queued or being written

	onMessage func(data []byte, binary bool)
	onClose   func(reason string, err error)
	onUpgrade func(transport string)

	// polling
	pollWake   chan struct{} // set while a GET waits for packets; closed to wake it
	polling    bool          // a GET is being served
	posting    bool          // a POST is being read
	closeTimer *time.Timer   // a closing polling session waits this long for a GET

	// websocket
	ws         *websocket.Conn
	writing    bool          // a writer goroutine is draining the queue
	lingering  bool          // the writer waits for more packets
	inReader   bool          // the reader is delivering a message: it writes the replies itself
	inCallback bool          // the reader is in the message callback, which may release it
	readerGen  uint64        // incremented by ReleaseReader: a reader whose generation is stale exits
	wake       chan struct{} // wakes a lingering writer

	// upgrade
	probe        *websocket.Conn // the WebSocket being probed
	probed       bool            // the probe was answered: release GETs with a noop
	upgradeTimer *time.Timer

	// heartbeat
	pingTimer    *time.Timer
	pongTimer    *time.Timer
	awaitingPong bool
	pongExtended bool
	pingSeq      uint64

	reason       string
	err          error
	clientClosed bool // the client sent a close packet
}

func newSession(srv *Server, id string, r *http.Request, transport string) *Session {
	// A shallow copy: headers, URL and TLS state are the request's own, which
	// net/http leaves alone once the handler has returned. The context is
	// not kept, since net/http cancels it then.
	req := r.WithContext(context.Background())
	req.Body = http.NoBody
	return &Session{
		srv:       srv,
		id:        id,
		req:       req,
		done:      make(chan struct{}),
		transport: transport,
	}
}

// ID returns the session id (sid).
func (s *Session) ID() string { return s.id }

// Request returns the handshake request. Its body is not readable; its
// headers, URL, RemoteAddr and TLS state are those of the handshake, shared
// with the socketio handshake of the session: do not modify them. Its
// context is context.Background.
func (s *Session) Request() *http.Request { return s.req }

// RemoteAddr returns the client's network address at the handshake.
func (s *Session) RemoteAddr() string { return s.req.RemoteAddr }

// Protocol returns the Engine.IO protocol revision, always 4.
func (s *Session) Protocol() int { return 4 }

// Transport returns the current transport, TransportPolling or
// TransportWebSocket.
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// OnMessage sets the function called with every message from the client.
// data is valid only until the function returns; copy it to keep it. Set it
// in the Server's OnConnection callback, before any message can arrive.
func (s *Session) OnMessage(fn func(data []byte, binary bool)) {
	s.mu.Lock()
	s.onMessage = fn
	s.mu.Unlock()
}

// OnClose sets the function called once when the session closes, with one
// of the Reason constants and the error behind it (nil for a normal close).
// If the session is already closed, fn is called at once.
func (s *Session) OnClose(fn func(reason string, err error)) {
	s.mu.Lock()
	if s.state == stateClosed {
		reason, err := s.reason, s.err
		s.mu.Unlock()
		fn(reason, err)
		return
	}
	s.onClose = fn
	s.mu.Unlock()
}

// OnUpgrade sets the function called when the session has moved from
// polling to WebSocket.
func (s *Session) OnUpgrade(fn func(transport string)) {
	s.mu.Lock()
	s.onUpgrade = fn
	s.mu.Unlock()
}

// Done returns a channel closed once the session is closed.
func (s *Session) Done() <-chan struct{} { return s.done }

// CloseReason returns why the session closed (one of the Reason constants),
// or "" while it is open.
func (s *Session) CloseReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateClosed {
		return ""
	}
	return s.reason
}

// Err returns the error that closed the session, nil while it is open or
// when it closed normally.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Buffered returns the bytes queued for the client and not yet written.
// A caller may drop unimportant messages while it is not zero, as Socket.IO
// does for volatile packets.
func (s *Session) Buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued
}

// Send queues a message for the client: text unless binary is set. Send
// does not wait for the write; data must not be modified afterwards. It
// returns ErrClosed once the session is closing, and ErrBufferFull (after
// closing the session) when the queue would exceed MaxBufferedBytes.
func (s *Session) Send(data []byte, binary bool) error {
	return s.SendWithOptions(data, binary, SendOptions{})
}

// SendWithOptions is Send with per-packet options.
func (s *Session) SendWithOptions(data []byte, binary bool, o SendOptions) error {
	p := eioparser.Packet{Type: eioparser.PacketMessage, Data: data, Binary: binary}
	return s.enqueue(outPacket{pkt: p, size: len(data) + 1, noCompress: o.NoCompress})
}

// SendMessage queues a shared message, encoded once for all the sessions it
// is sent to.
func (s *Session) SendMessage(m *Message) error {
	return s.enqueue(outPacket{pkt: m.pkt, msg: m, size: len(m.pkt.Data) + 1, noCompress: m.opts.NoCompress})
}

func (s *Session) enqueue(p outPacket) error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.queued+p.size > s.srv.cfg.maxBuffered {
		s.mu.Unlock()
		s.terminate(ReasonWriteBufferFull, ErrBufferFull)
		return ErrBufferFull
	}
	s.queue = append(s.queue, p)
	s.queued += p.size
	s.flushLocked()
	s.mu.Unlock()
	return nil
}

// sendControlLocked queues a packet of the protocol itself (a ping).
func (s *Session) sendControlLocked(t eioparser.PacketType) {
	s.queue = append(s.queue, outPacket{pkt: eioparser.Packet{Type: t}, size: 1})
	s.queued++
	s.flushLocked()
}

// flushLocked hands queued packets to the transport: it wakes a waiting GET
// or starts the WebSocket writer.
func (s *Session) flushLocked() {
	if len(s.queue) == 0 && s.state == stateOpen {
		return
	}
	switch s.transport {
	case TransportPolling:
		s.wakePollLocked()
	case TransportWebSocket:
		if s.writing {
			s.nudgeWriterLocked()
		} else if s.inReader && s.state == stateOpen {
			// The reader writes what its callback queued once it returns.
		} else if s.ws != nil {
			if s.wake == nil {
				s.wake = make(chan struct{}, 1)
			}
			s.writing = true
			s.srv.wg.add()
			go s.writeLoop()
		}
	}
}

func (s *Session) wakePollLocked() {
	if s.pollWake != nil {
		close(s.pollWake)
		s.pollWake = nil
	}
}

// takeLocked removes the queued packets and returns them.
func (s *Session) takeLocked() []outPacket {
	batch := s.queue
	s.queue = s.spare[:0]
	s.spare = nil
	return batch
}

// releaseLocked returns a written batch's memory and its byte count.
func (s *Session) releaseLocked(batch []outPacket) {
	for i := range batch {
		s.queued -= batch[i].size
		batch[i] = outPacket{}
	}
	if s.spare == nil && cap(batch) <= 64 {
		s.spare = batch[:0]
	}
}

// Close closes the session (Node: socket.close()): packets already queued
// are written, then the client is told to close. The close is reported with
// ReasonForcedClose. Close does not wait; see Done.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return nil
	}
	s.state = stateClosing
	s.reason = ReasonForcedClose
	s.stopHeartbeatLocked()
	probe := s.abandonUpgradeLocked()
	if s.transport == TransportPolling {
		// The close packet goes out on the next GET; a client that never
		// polls again is closed after closeTimeout, as in Node.
		s.closeTimer = time.AfterFunc(s.srv.cfg.closeTimeout, func() {
			s.terminate(ReasonForcedClose, nil)
		})
	}
	s.flushLocked()
	s.mu.Unlock()
	if probe != nil {
		_ = probe.CloseNow()
	}
	return nil
}

// terminate closes the session at once with reason and err, unless it is
// already closed. A GET waiting on the session answers with a close packet.
func (s *Session) terminate(reason string, err error) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	s.state = stateClosed
	s.reason, s.err = reason, err
	s.stopHeartbeatLocked()
	if s.closeTimer != nil {
		s.closeTimer.Stop()
	}
	probe := s.abandonUpgradeLocked()
	s.wakePollLocked()
	s.nudgeWriterLocked()
	ws := s.ws
	s.queue, s.spare, s.queued = nil, nil, 0
	fn := s.onClose
	s.onClose = nil
	s.mu.Unlock()

	if probe != nil {
		_ = probe.CloseNow()
	}
	if ws != nil {
		s.srv.closeConn(ws, reason)
	}
	s.srv.remove(s)
	close(s.done)
	s.srv.cfg.logger.Debug("engineio: session closed", "sid", s.id, "reason", reason, "err", err)
	if fn != nil {
		fn(reason, err)
	}
}

// handlePacket acts on one packet from the client's current transport. It
// returns false once the session is closed.
func (s *Session) handlePacket(p eioparser.Packet, reader bool) bool {
	s.mu.Lock()
	if s.state != stateOpen {
		closed := s.state == stateClosed
		s.mu.Unlock()
		return !closed
	}
	if s.awaitingPong && !s.pongExtended && p.Type != eioparser.PacketPong {
		// As Node: traffic while a pong is due extends its deadline once.
		s.pongExtended = true
		s.armPongTimerLocked()
	}
	s.mu.Unlock()

	switch p.Type {
	case eioparser.PacketPong:
		s.onPong()
	case eioparser.PacketPing:
		s.terminate(ReasonTransportError, ErrHeartbeatDir)
		return false
	case eioparser.PacketClose:
		s.mu.Lock()
		s.clientClosed = true
		s.mu.Unlock()
		s.terminate(ReasonTransportClose, nil)
		return false
	case eioparser.PacketMessage:
		s.deliverMessage(p, reader)
	}
	return true
}

// deliverMessage calls the message callback, one call at a time. reader is
// true on the WebSocket reader, whose callback may hand reading on with
// ReleaseReader; the delivery lock then passes on too.
func (s *Session) deliverMessage(p eioparser.Packet, reader bool) {
	s.deliver.Lock()
	s.mu.Lock()
	fn := s.onMessage
	gen := s.readerGen
	s.inCallback = reader
	s.mu.Unlock()
	if fn != nil {
		fn(p.Data, p.Binary)
	}
	s.mu.Lock()
	released := reader && s.readerGen != gen
	if !released {
		s.inCallback = false
	}
	s.mu.Unlock()
	if !released {
		s.deliver.Unlock()
	}
}

// CanReleaseReader reports whether a message callback is running on the
// session's WebSocket reader, so that ReleaseReader would hand reading on.
// A callback uses it to decide whether it may run long work in place.
func (s *Session) CanReleaseReader() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inCallback && s.state == stateOpen
}

// ReleaseReader lets the client's next messages be read and delivered
// while the running message callback goes on: a new goroutine takes over
// the WebSocket, and the goroutine of the running callback exits when the
// callback returns. Callbacks may then run concurrently. It may be called
// from any goroutine and reports whether a reader was released; it does
// nothing (false) when no callback runs on the WebSocket reader.
func (s *Session) ReleaseReader() bool {
	s.mu.Lock()
	if !s.inCallback || s.state != stateOpen || s.ws == nil {
		s.mu.Unlock()
		return false
	}
	s.inCallback = false
	s.inReader = false // what the callback sends from now on goes to the writer
	s.readerGen++
	ws := s.ws
	s.flushLocked() // what it queued so far, too
	s.srv.wg.add()
	s.mu.Unlock()
	s.deliver.Unlock()
	go s.readLoop(ws, false)
	return true
}

// Message is a message encoded once and sent to many sessions with
// SendMessage, as a broadcast does. Its WebSocket frame is built on first use
// and shared; it must not be modified after NewMessage.
type Message struct {
	pkt  eioparser.Packet
	opts SendOptions
	once sync.Once
	ws   *websocket.PreparedMessage
	err  error
}

// NewMessage returns a shared message with data, text unless binary is set.
// data must not be modified afterwards.
func NewMessage(data []byte, binary bool) *Message {
	return NewMessageWithOptions(data, binary, SendOptions{})
}

// NewMessageWithOptions is NewMessage with per-packet options.
func NewMessageWithOptions(data []byte, binary bool, o SendOptions) *Message {
	return &Message{pkt: eioparser.Packet{Type: eioparser.PacketMessage, Data: data, Binary: binary}, opts: o}
}

func (m *Message) prepared() (*websocket.PreparedMessage, error) {
	m.once.Do(func() {
		if m.pkt.Binary {
			m.ws, m.err = websocket.NewPreparedMessage(websocket.MessageBinary, m.pkt.Data)
			return
		}
		m.ws, m.err = websocket.NewPreparedMessage(websocket.MessageText, eioparser.AppendText(nil, m.pkt))
	})
	return m.ws, m.err
}
