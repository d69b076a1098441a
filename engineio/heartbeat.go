package engineio

import (
	"time"

	"github.com/wsio/wsio/eioparser"
)

// The server pings every PingInterval and expects a pong within
// PingTimeout. Both timers are time.AfterFunc timers: no goroutine waits
// for them.

func (s *Session) startHeartbeatLocked() {
	s.pingTimer = time.AfterFunc(s.srv.cfg.PingInterval, s.ping)
}

func (s *Session) stopHeartbeatLocked() {
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
	if s.pongTimer != nil {
		s.pongTimer.Stop()
	}
	s.awaitingPong = false
	s.pingSeq++
}

func (s *Session) ping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return
	}
	s.awaitingPong = true
	s.pongExtended = false
	s.sendControlLocked(eioparser.PacketPing)
	s.armPongTimerLocked()
}

// armPongTimerLocked (re)starts the wait for a pong. A timer that fires
// after its ping was answered sees a newer pingSeq and does nothing.
func (s *Session) armPongTimerLocked() {
	if s.pongTimer != nil {
		s.pongTimer.Stop()
	}
	s.pingSeq++
	seq := s.pingSeq
	s.pongTimer = time.AfterFunc(s.srv.cfg.PingTimeout, func() {
		s.mu.Lock()
		late := s.pingSeq == seq && s.awaitingPong && s.state == stateOpen
		s.mu.Unlock()
		if late {
			s.terminate(ReasonPingTimeout, ErrPingTimeout)
		}
	})
}

func (s *Session) onPong() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.awaitingPong || s.state != stateOpen {
		return
	}
	s.awaitingPong = false
	s.pingSeq++
	s.pongTimer.Stop()
	s.pingTimer.Reset(s.srv.cfg.PingInterval)
}
