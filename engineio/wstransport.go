package engineio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/wsio/wsio/eioparser"
	"github.com/wsio/wsio/internal/bufpool"
	"github.com/wsio/wsio/websocket"
)

// writerLinger is how long the WebSocket writer waits for more packets
// before it exits. A session that exchanges messages steadily keeps one
// writer instead of starting a goroutine per message; an idle one has none.
const writerLinger = 5 * time.Millisecond

// writeLoop drains the queue onto the WebSocket. It runs only while there
// is something to write, or was within writerLinger; a closing session is
// closed once its queue is written.
func (s *Session) writeLoop() {
	defer s.srv.wg.done()
	var idle *time.Timer
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	for {
		s.mu.Lock()
		if s.state != stateClosed && len(s.queue) == 0 && s.state == stateOpen {
			// Wait a little for more work before exiting.
			if idle == nil {
				idle = time.NewTimer(writerLinger)
			} else {
				idle.Reset(writerLinger)
			}
			s.lingering = true
			s.mu.Unlock()
			select {
			case <-s.wake:
			case <-idle.C:
			}
			s.mu.Lock()
			s.lingering = false
		}
		if s.state == stateClosed || len(s.queue) == 0 {
			s.writing = false
			closing := s.state == stateClosing
			s.mu.Unlock()
			if closing {
				s.terminate(s.reasonOr(ReasonForcedClose), nil)
			}
			return
		}
		batch := s.takeLocked()
		ws := s.ws
		s.mu.Unlock()

		err := s.writeBatch(ws, batch)
		if err != nil {
			s.terminate(ReasonTransportError, err)
			s.mu.Lock()
			s.writing = false
			s.mu.Unlock()
			return
		}
	}
}

// nudgeWriterLocked wakes a lingering writer.
func (s *Session) nudgeWriterLocked() {
	if s.lingering {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// writeBatch writes packets taken from the queue, then gives their memory
// and byte count back.
func (s *Session) writeBatch(ws *websocket.Conn, batch []outPacket) error {
	var err error
	if len(batch) == 1 {
		err = writePacket(ws, &batch[0])
	} else {
		// Several packets: one write to the network for all of them.
		err = ws.Batched(context.Background(), func() error {
			for i := range batch {
				if err := writePacket(ws, &batch[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	s.mu.Lock()
	s.releaseLocked(batch)
	s.mu.Unlock()
	return err
}

// writePacket writes one packet as one WebSocket message: binary data raw,
// anything else as the packet's text encoding.
func writePacket(ws *websocket.Conn, p *outPacket) error {
	ctx := context.Background()
	if p.msg != nil {
		pm, err := p.msg.prepared()
		if err != nil {
			return err
		}
		if p.noCompress {
			return ws.WritePreparedUncompressed(ctx, pm)
		}
		return ws.WritePrepared(ctx, pm)
	}
	if p.pkt.Binary {
		return writeMessage(ctx, ws, websocket.MessageBinary, p.pkt.Data, p.noCompress)
	}
	bp := bufpool.Get(len(p.pkt.Data) + 1)
	b := eioparser.AppendText((*bp)[:0], p.pkt)
	err := writeMessage(ctx, ws, websocket.MessageText, b, p.noCompress)
	bufpool.Put(bp)
	return err
}

func writeMessage(ctx context.Context, ws *websocket.Conn, typ websocket.MessageType, b []byte, noCompress bool) error {
	if noCompress {
		return ws.WriteUncompressed(ctx, typ, b)
	}
	return ws.Write(ctx, typ, b)
}

// readMessage reads one WebSocket message into a pooled buffer, which the
// caller returns with bufpool.Put. No buffer is held while waiting.
func readMessage(ws *websocket.Conn) (websocket.MessageType, *[]byte, int, error) {
	typ, r, err := ws.Reader(context.Background())
	if err != nil {
		return 0, nil, 0, err
	}
	bp := bufpool.Get(512)
	n := 0
	for {
		if n == len(*bp) {
			nb := bufpool.Get(2 * n)
			copy(*nb, (*bp)[:n])
			bufpool.Put(bp)
			bp = nb
		}
		m, err := r.Read((*bp)[n:])
		n += m
		if err == io.EOF {
			return typ, bp, n, nil
		}
		if err != nil {
			bufpool.Put(bp)
			return 0, nil, 0, err
		}
	}
}

// readLoop reads the client's packets from ws until the connection ends.
// probing is true for a connection offered as an upgrade: it must carry the
// probe and the upgrade packet before anything else. Once the session or
// the upgrade has ended, the loop goes on reading and discarding until the
// connection is closed, so that a closing handshake under way sees the
// client's close frame.
func (s *Session) readLoop(ws *websocket.Conn, probing bool) {
	defer s.srv.wg.done()
	live := true
	for {
		typ, bp, n, err := readMessage(ws)
		if err != nil {
			if live {
				s.transportFailed(ws, err)
			}
			return
		}
		released := false
		if live {
			if probing {
				live, probing = s.handleMessage(ws, typ, (*bp)[:n], probing)
			} else {
				live, released = s.deliverAndReply(ws, typ, (*bp)[:n])
			}
		}
		bufpool.Put(bp)
		if released {
			return // another goroutine reads ws now
		}
	}
}

// deliverAndReply handles one message from the session's WebSocket. What
// the callbacks queue meanwhile is written by this goroutine when they
// return, without handing it to a writer goroutine: an echo costs no
// goroutine switch. Only this client's reads wait for those writes. It
// reports whether ws still serves the session, and whether the callback
// released this goroutine (ReleaseReader), which must then stop reading.
func (s *Session) deliverAndReply(ws *websocket.Conn, typ websocket.MessageType, b []byte) (live, released bool) {
	s.mu.Lock()
	s.inReader = true
	gen := s.readerGen
	s.mu.Unlock()
	live, _ = s.handleMessage(ws, typ, b, false)
	s.mu.Lock()
	if s.readerGen != gen {
		s.flushLocked()
		s.mu.Unlock()
		return live, true
	}
	s.inReader = false
	if s.writing || s.ws != ws || len(s.queue) == 0 || s.state != stateOpen {
		s.flushLocked()
		s.mu.Unlock()
		return live, false
	}
	s.writing = true
	batch := s.takeLocked()
	s.mu.Unlock()
	err := s.writeBatch(ws, batch)
	s.mu.Lock()
	s.writing = false
	if err == nil {
		s.flushLocked() // what other goroutines queued meanwhile
	}
	s.mu.Unlock()
	if err != nil {
		s.terminate(ReasonTransportError, err)
		return false, false
	}
	return live, false
}

// handleMessage decodes and acts on one WebSocket message. It reports
// whether the connection still serves the session, and whether it is still
// a probe.
func (s *Session) handleMessage(ws *websocket.Conn, typ websocket.MessageType, b []byte, probing bool) (live, stillProbing bool) {
	var p eioparser.Packet
	if typ == websocket.MessageBinary {
		p = eioparser.DecodeBinary(b)
	} else {
		var err error
		if p, err = eioparser.DecodeText(b); err != nil {
			if probing {
				s.abandonUpgrade(ws)
			} else {
				s.terminate(ReasonParseError, err)
			}
			return false, false
		}
	}
	if probing {
		return s.handleProbe(ws, p)
	}
	return s.handlePacket(p, !probing), false
}

// transportFailed ends the session when its current WebSocket fails, or the
// upgrade when the probed one does.
func (s *Session) transportFailed(ws *websocket.Conn, err error) {
	s.mu.Lock()
	current, probe := s.ws == ws, s.probe == ws
	s.mu.Unlock()
	switch {
	case probe:
		s.abandonUpgrade(ws)
	case current:
		reason := ReasonTransportError
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			switch ce.Code {
			case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
				// A normal close by the client: no error to report.
				reason, err = ReasonTransportClose, nil
			case websocket.StatusAbnormalClosure:
				reason = ReasonTransportClose
			}
		}
		s.terminate(reason, err)
	}
}

// handleProbe acts on a packet from the WebSocket offered for an upgrade.
// It reports whether to keep reading, and whether the connection is still
// a probe (false once the upgrade is done).
func (s *Session) handleProbe(ws *websocket.Conn, p eioparser.Packet) (ok, probing bool) {
	switch {
	case p.Type == eioparser.PacketPing && string(p.Data) == "probe":
		if err := ws.Write(context.Background(), websocket.MessageText, []byte("3probe")); err != nil {
			s.abandonUpgrade(ws)
			return false, false
		}
		s.mu.Lock()
		if s.probe == ws {
			s.probed = true
			s.wakePollLocked()
		}
		s.mu.Unlock()
		return true, true
	case p.Type == eioparser.PacketUpgrade:
		return s.completeUpgrade(ws), false
	default:
		s.abandonUpgrade(ws)
		return false, false
	}
}

// completeUpgrade makes ws the session's transport. A GET still waiting is
// released with a noop; queued packets go out on ws.
func (s *Session) completeUpgrade(ws *websocket.Conn) bool {
	s.mu.Lock()
	if s.probe != ws || s.state == stateClosed {
		s.mu.Unlock()
		_ = ws.CloseNow()
		return false
	}
	s.probe, s.probed = nil, false
	s.upgradeTimer.Stop()
	s.transport = TransportWebSocket
	s.ws = ws
	if s.closeTimer != nil {
		// A Close during the upgrade: finish it on the new transport.
		s.closeTimer.Stop()
	}
	s.wakePollLocked()
	s.flushLocked()
	fn := s.onUpgrade
	s.mu.Unlock()
	s.srv.cfg.logger.Debug("engineio: upgraded", "sid", s.id)
	if fn != nil {
		fn(TransportWebSocket)
	}
	return true
}

// abandonUpgrade gives up an upgrade attempt over ws; the session stays on
// polling.
func (s *Session) abandonUpgrade(ws *websocket.Conn) {
	s.mu.Lock()
	var probe *websocket.Conn
	if s.probe == ws {
		probe = s.abandonUpgradeLocked()
	}
	s.mu.Unlock()
	if probe != nil {
		s.srv.closeConn(probe, ReasonTransportClose)
	} else {
		_ = ws.CloseNow()
	}
}

// abandonUpgradeLocked forgets the probed connection and returns it for the
// caller to close.
func (s *Session) abandonUpgradeLocked() *websocket.Conn {
	probe := s.probe
	s.probe, s.probed = nil, false
	if s.upgradeTimer != nil {
		s.upgradeTimer.Stop()
	}
	return probe
}

// acceptWebSocket upgrades r, checking its origin against the CORS policy
// when there is one. It writes the refusal itself.
func (srv *Server) acceptWebSocket(w http.ResponseWriter, r *http.Request, header http.Header) (*websocket.Conn, error) {
	opts := srv.cfg.acceptOptions()
	if c := srv.cfg.CORS; c != nil {
		if origin := r.Header.Get("Origin"); origin != "" && !c.allows(origin) {
			srv.refuse(w, r, CodeForbidden, "", errors.New("origin not allowed"))
			return nil, errors.New("engineio: origin not allowed")
		}
		opts.InsecureSkipVerify = true
	}
	opts.ResponseHeader = header
	return websocket.Accept(w, r, opts)
}

// closeConn closes a WebSocket after a session ended for reason: at once
// when the peer is gone, with a close handshake otherwise.
func (srv *Server) closeConn(ws *websocket.Conn, reason string) {
	code := websocket.StatusNormalClosure
	switch reason {
	case ReasonTransportClose, ReasonTransportError, ReasonPingTimeout, ReasonWriteBufferFull:
		_ = ws.CloseNow()
		return
	case ReasonServerShutdown:
		code = websocket.StatusGoingAway
	case ReasonParseError:
		code = websocket.StatusProtocolError
	}
	srv.wg.add()
	go func() {
		defer srv.wg.done()
		_ = ws.Close(code, "")
	}()
}
