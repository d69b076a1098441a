package socketio

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/wsio/wsio/engineio"
)

// Server is a Socket.IO v5 server, an http.Handler. Mount it at its path
// (Options.Path, "/socket.io/" by default), for example with
// mux.Handle("/socket.io/", srv).
type Server struct {
	cfg    *config
	engine *engineio.Server

	mu      sync.Mutex
	nsps    map[string]*Namespace
	parents []*ParentNamespace
	clients map[*client]struct{}
	closing bool
}

// NewServer returns a server with opts (nil for the defaults). The main
// namespace "/" exists from the start.
func NewServer(opts *Options) *Server {
	s := &Server{cfg: newConfig(opts), nsps: map[string]*Namespace{}, clients: map[*client]struct{}{}}
	s.engine = engineio.NewServer(&s.cfg.Engine)
	s.engine.OnConnection(s.onEngineConnection)
	s.Of("/")
	return s
}

// ServeHTTP serves Socket.IO clients.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.engine.ServeHTTP(w, r)
}

// Engine returns the underlying Engine.IO server.
func (s *Server) Engine() *engineio.Server { return s.engine }

// Of returns the namespace called name, creating it if needed. A name
// without a leading slash gets one.
func (s *Server) Of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.nsps[name]; ok {
		return n
	}
	n := newNamespace(s, name, nil)
	s.nsps[name] = n
	return n
}

// OfFunc declares dynamic namespaces: a client may connect to any name for
// which match returns true (Node: io.of(function)). Every such namespace is
// a child of the returned parent and shares its middlewares and handlers.
func (s *Server) OfFunc(match func(name string, auth map[string]any) bool) *ParentNamespace {
	p := newParentNamespace(s, match)
	s.mu.Lock()
	s.parents = append(s.parents, p)
	s.mu.Unlock()
	return p
}

// OfRegexp declares dynamic namespaces whose names match re (Node:
// io.of(/regexp/)).
func (s *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return s.OfFunc(func(name string, _ map[string]any) bool { return re.MatchString(name) })
}

// lookup returns the namespace a CONNECT asks for: an existing one, or a
// new child of the first parent that accepts the name. nil means "Invalid
// namespace".
func (s *Server) lookup(name string, auth map[string]any) *Namespace {
	s.mu.Lock()
	if n, ok := s.nsps[name]; ok {
		s.mu.Unlock()
		return n
	}
	parents := append([]*ParentNamespace(nil), s.parents...)
	s.mu.Unlock()
	for _, p := range parents {
		if p.match(name, auth) {
			return p.child(name)
		}
	}
	return nil
}

func (s *Server) removeNamespace(n *Namespace) {
	s.mu.Lock()
	if s.nsps[n.name] == n {
		delete(s.nsps, n.name)
	}
	s.mu.Unlock()
}

// Sockets returns the main namespace (Node: io.sockets).
func (s *Server) Sockets() *Namespace { return s.Of("/") }

// OnConnection sets a connection handler of the main namespace.
func (s *Server) OnConnection(fn func(*Socket)) { s.Sockets().OnConnection(fn) }

// Use adds a middleware to the main namespace.
func (s *Server) Use(mw Middleware) { s.Sockets().Use(mw) }

// Emit sends an event to every socket of the main namespace.
func (s *Server) Emit(event string, args ...any) error { return s.Sockets().Emit(event, args...) }

// To selects rooms of the main namespace for a broadcast.
func (s *Server) To(rooms ...string) *BroadcastOperator { return s.Sockets().To(rooms...) }

// In is To.
func (s *Server) In(rooms ...string) *BroadcastOperator { return s.To(rooms...) }

// Except excludes rooms of the main namespace from a broadcast.
func (s *Server) Except(rooms ...string) *BroadcastOperator { return s.Sockets().Except(rooms...) }

// ErrServerClosed is returned for operations on a server shutting down.
var ErrServerClosed = errors.New("socketio: server closed")

// Shutdown disconnects every socket with reason "server shutting down",
// closes every connection and waits for the engine's goroutines, or for
// ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.mu.Unlock()
	for _, c := range clients {
		c.closeSockets(ReasonServerShuttingDown)
	}
	err := s.engine.Shutdown(ctx)
	for _, n := range nsps {
		_ = n.adapter.Close()
	}
	return err
}

func (s *Server) onEngineConnection(sess *engineio.Session) {
	c := newClient(s, sess)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = sess.Close()
		return
	}
	s.clients[c] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) removeClient(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
}

// Volatile starts a volatile broadcast on the main namespace.
func (s *Server) Volatile() *BroadcastOperator { return s.Sockets().Volatile() }

// Local starts a broadcast on the main namespace restricted to this server.
func (s *Server) Local() *BroadcastOperator { return s.Sockets().Local() }

// Compress starts a broadcast on the main namespace with the compress flag.
func (s *Server) Compress(on bool) *BroadcastOperator { return s.Sockets().Compress(on) }

// Timeout starts a broadcast with acks on the main namespace.
func (s *Server) Timeout(d time.Duration) *BroadcastOperator { return s.Sockets().Timeout(d) }

// FetchSockets returns the sockets of the main namespace, across the
// cluster.
func (s *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return s.Sockets().FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace join rooms.
func (s *Server) SocketsJoin(rooms ...string) error { return s.Sockets().SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the main namespace leave rooms.
func (s *Server) SocketsLeave(rooms ...string) error { return s.Sockets().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the main namespace.
func (s *Server) DisconnectSockets(close bool) error { return s.Sockets().DisconnectSockets(close) }

// ServerSideEmit sends an event to the other servers of the cluster.
func (s *Server) ServerSideEmit(event string, args ...any) error {
	return s.Sockets().ServerSideEmit(event, args...)
}
