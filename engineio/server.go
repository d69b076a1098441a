package engineio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wsio/wsio/eioparser"
	"github.com/wsio/wsio/internal/sid"
)

// Server is an Engine.IO v4 server, an http.Handler. Mount it at its path
// (Options.Path, "/engine.io/" by default), for example with
// mux.Handle("/engine.io/", srv).
type Server struct {
	cfg *config

	mu        sync.Mutex
	sessions  map[string]*Session
	onConnect func(*Session)
	onError   func(*RequestError)
	closing   bool

	// wg counts the goroutines the server started: WebSocket readers,
	// writers and closers. Shutdown waits for them.
	wg tracker
}

// NewServer returns a server with opts (nil for Node's defaults).
func NewServer(opts *Options) *Server {
	return &Server{cfg: newConfig(opts), sessions: map[string]*Session{}}
}

// OnConnection sets the function called with every new session, before its
// first message is delivered (Node: the "connection" event). Set the
// session's callbacks there. Call it before serving.
func (srv *Server) OnConnection(fn func(*Session)) {
	srv.mu.Lock()
	srv.onConnect = fn
	srv.mu.Unlock()
}

// OnConnectionError sets the function called with every refused request
// (Node: the "connection_error" event).
func (srv *Server) OnConnectionError(fn func(*RequestError)) {
	srv.mu.Lock()
	srv.onError = fn
	srv.mu.Unlock()
}

// Session returns the open session with id sid, or nil.
func (srv *Server) Session(sid string) *Session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.sessions[sid]
}

// Count returns the number of open sessions (Node: clientsCount).
func (srv *Server) Count() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.sessions)
}

// ServeHTTP answers Engine.IO requests: handshakes, polling GETs and POSTs,
// WebSocket connections and upgrades.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, strings.TrimSuffix(srv.cfg.Path, "/")) {
		http.NotFound(w, r)
		return
	}
	if srv.cfg.CORS != nil && srv.cfg.CORS.apply(w, r) {
		return // a preflight, answered
	}
	raw := r.URL.RawQuery
	transport := queryGet(raw, "transport")
	upgrade := isWebSocketRequest(r)
	if !srv.cfg.transports[transport] {
		srv.refuse(w, r, CodeUnknownTransport, "", nil)
		return
	}
	sid := queryGet(raw, "sid")
	if sid == "" {
		srv.handshake(w, r, transport, upgrade)
		return
	}
	s := srv.Session(sid)
	if s == nil {
		srv.refuse(w, r, CodeUnknownSID, "", nil)
		return
	}
	if queryGet(raw, "EIO") != "4" {
		srv.refuse(w, r, CodeBadRequest, "", errors.New("protocol mismatch"))
		return
	}
	if upgrade {
		srv.upgrade(w, r, s, transport)
		return
	}
	if s.Transport() != transport || transport != TransportPolling {
		srv.refuse(w, r, CodeBadRequest, "", errors.New("transport mismatch"))
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.servePoll(w, r)
	case http.MethodPost:
		s.servePost(w, r)
	default:
		srv.refuse(w, r, CodeBadRequest, "", errors.New("bad polling method"))
	}
}

func isWebSocketRequest(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "websocket") {
				return true
			}
		}
	}
	return false
}

// handshake opens a session.
func (srv *Server) handshake(w http.ResponseWriter, r *http.Request, transport string, upgrade bool) {
	if r.Method != http.MethodGet {
		srv.refuse(w, r, CodeBadHandshakeMethod, "", nil)
		return
	}
	if transport == TransportWebSocket && !upgrade || transport == TransportPolling && upgrade {
		srv.refuse(w, r, CodeBadRequest, "", errors.New("transport handshake error"))
		return
	}
	if srv.cfg.AllowRequest != nil {
		if err := srv.cfg.AllowRequest(r); err != nil {
			srv.refuse(w, r, CodeForbidden, err.Error(), err)
			return
		}
	}
	if queryGet(r.URL.RawQuery, "EIO") != "4" {
		srv.refuse(w, r, CodeUnsupportedProtocolVersion, "", nil)
		return
	}
	id, err := srv.newID(r)
	if err != nil {
		srv.refuse(w, r, CodeBadRequest, "", err)
		return
	}
	s := newSession(srv, id, r, transport)
	if !srv.add(s) {
		srv.refuse(w, r, CodeBadRequest, "", errors.New("server shutting down or duplicate session id"))
		return
	}
	open := srv.openPacket(s, transport)
	if transport == TransportWebSocket {
		srv.openWebSocket(w, r, s, open)
		return
	}

	s.mu.Lock()
	s.polling = true
	s.queue = append(s.queue, open...)
	batch := s.takeLocked()
	s.startHeartbeatLocked()
	s.mu.Unlock()
	srv.connected(s)
	err = srv.writePayload(w, r, batch, func(h http.Header) { srv.setCookie(h, id) })
	s.mu.Lock()
	s.polling = false
	s.mu.Unlock()
	if err != nil {
		s.terminate(ReasonTransportError, err)
	}
}

// openWebSocket completes a handshake made directly over WebSocket.
func (srv *Server) openWebSocket(w http.ResponseWriter, r *http.Request, s *Session, open []outPacket) {
	h := http.Header{}
	srv.writeHeaders(headerWriter{h}, r, true)
	srv.setCookie(h, s.id)
	ws, err := srv.acceptWebSocket(w, r, h)
	if err != nil {
		s.terminate(ReasonTransportError, err)
		return
	}
	s.mu.Lock()
	s.ws = ws
	s.queue = append(s.queue, open...)
	for _, p := range open {
		s.queued += p.size
	}
	s.startHeartbeatLocked()
	s.mu.Unlock()
	srv.connected(s)
	s.mu.Lock()
	s.flushLocked()
	s.mu.Unlock()
	srv.wg.add()
	go s.readLoop(ws, false)
}

// upgrade takes a WebSocket offered by a polling session.
func (srv *Server) upgrade(w http.ResponseWriter, r *http.Request, s *Session, transport string) {
	if transport != TransportWebSocket || srv.cfg.DisallowUpgrades {
		srv.refuse(w, r, CodeBadRequest, "", errors.New("upgrade not allowed"))
		return
	}
	s.mu.Lock()
	busy := s.transport != TransportPolling || s.probe != nil || s.state != stateOpen
	s.mu.Unlock()
	if busy {
		srv.refuse(w, r, CodeBadRequest, "", errors.New("session already upgraded or upgrading"))
		return
	}
	h := http.Header{}
	srv.writeHeaders(headerWriter{h}, r, false)
	ws, err := srv.acceptWebSocket(w, r, h)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.transport != TransportPolling || s.probe != nil || s.state != stateOpen {
		s.mu.Unlock()
		_ = ws.CloseNow()
		return
	}
	s.probe = ws
	s.upgradeTimer = time.AfterFunc(srv.cfg.UpgradeTimeout, func() { s.abandonUpgrade(ws) })
	s.mu.Unlock()
	srv.wg.add()
	go s.readLoop(ws, true)
}

// headerWriter lets writeHeaders fill a bare http.Header.
type headerWriter struct{ h http.Header }

func (hw headerWriter) Header() http.Header         { return hw.h }
func (hw headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (hw headerWriter) WriteHeader(int)             {}

// openPacket returns the open packet of s (and the initial packet, if any).
func (srv *Server) openPacket(s *Session, transport string) []outPacket {
	data, _ := json.Marshal(struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int      `json:"maxPayload"`
	}{s.id, srv.cfg.upgrades(transport), srv.cfg.PingInterval.Milliseconds(),
		srv.cfg.PingTimeout.Milliseconds(), srv.cfg.MaxHTTPBufferSize})
	out := []outPacket{{pkt: eioparser.Packet{Type: eioparser.PacketOpen, Data: data}, size: len(data) + 1}}
	if p := srv.cfg.InitialPacket; p != nil {
		out = append(out, outPacket{pkt: eioparser.Packet{Type: eioparser.PacketMessage, Data: p}, size: len(p) + 1})
	}
	return out
}

func (srv *Server) setCookie(h http.Header, id string) {
	if srv.cfg.Cookie == nil {
		return
	}
	c := *srv.cfg.Cookie
	c.Value = id
	if c.Name == "" {
		c.Name = "io"
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	if v := c.String(); v != "" {
		h.Add("Set-Cookie", v)
	}
}

func (srv *Server) newID(r *http.Request) (string, error) {
	if srv.cfg.GenerateID != nil {
		return srv.cfg.GenerateID(r)
	}
	return sid.New(), nil
}

func (srv *Server) add(s *Session) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closing || srv.sessions[s.id] != nil {
		return false
	}
	srv.sessions[s.id] = s
	return true
}

func (srv *Server) remove(s *Session) {
	srv.mu.Lock()
	if srv.sessions[s.id] == s {
		delete(srv.sessions, s.id)
	}
	srv.mu.Unlock()
}

func (srv *Server) connected(s *Session) {
	srv.mu.Lock()
	fn := srv.onConnect
	srv.mu.Unlock()
	srv.cfg.logger.Debug("engineio: session opened", "sid", s.id, "transport", s.transport)
	if fn != nil {
		fn(s)
	}
}

// refuse answers a refused request with the protocol's JSON error, as Node
// does: 403 for Forbidden, 400 otherwise.
func (srv *Server) refuse(w http.ResponseWriter, r *http.Request, code ErrorCode, msg string, cause error) {
	if msg == "" {
		msg = code.String()
	}
	srv.mu.Lock()
	fn := srv.onError
	srv.mu.Unlock()
	if fn != nil {
		fn(&RequestError{Code: code, Message: msg, Request: r, Err: cause})
	}
	body, _ := json.Marshal(struct {
		Code    ErrorCode `json:"code"`
		Message string    `json:"message"`
	}{code, msg})
	srv.writeHeaders(w, r, false)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code.Status())
	_, _ = w.Write(body)
}

// Shutdown closes every session with ReasonServerShutdown, WebSocket
// connections included, and waits until their goroutines have ended or ctx
// is done. New handshakes are refused from the start of the call.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	srv.closing = true
	sessions := make([]*Session, 0, len(srv.sessions))
	for _, s := range srv.sessions {
		sessions = append(sessions, s)
	}
	srv.mu.Unlock()
	for _, s := range sessions {
		s.terminate(ReasonServerShutdown, ErrServerClosed)
	}
	return srv.wg.wait(ctx)
}
