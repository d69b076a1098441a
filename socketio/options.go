package socketio

import (
	"log/slog"
	"time"

	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/engineio"
)

// Options configures a Server. The zero value gives Node's defaults.
type Options struct {
	// Path is where the server answers. Default "/socket.io/" (Node:
	// path). It overrides Engine.Path.
	Path string
	// Engine configures the Engine.IO layer: heartbeat, transports, CORS,
	// limits... (Node: the engine options given to the Server).
	Engine engineio.Options
	// ConnectTimeout closes a connection that has joined no namespace
	// after that long. Default 45 s (Node: connectTimeout).
	ConnectTimeout time.Duration
	// Adapter creates each namespace's adapter. Default: the in-memory
	// adapter (Node: adapter).
	Adapter adapter.Factory
	// ConnectionStateRecovery, when set, lets a client that lost its
	// connection come back with its id, rooms, data and missed packets
	// (Node: connectionStateRecovery).
	ConnectionStateRecovery *RecoveryOptions
	// CleanupEmptyChildNamespaces removes a dynamically created namespace
	// once its last socket has left (Node: cleanupEmptyChildNamespaces).
	CleanupEmptyChildNamespaces bool
	// MaxAttachments bounds the binary attachments of one packet. Default
	// 10.
	MaxAttachments int
	// BinaryTimeout bounds the wait for the attachments of a binary
	// packet; a client that does not send them in time is disconnected
	// with "parse error". Default 10 s.
	BinaryTimeout time.Duration
	// Logger receives the server's logs. Default: none.
	Logger *slog.Logger
}

// RecoveryOptions configures connection state recovery.
type RecoveryOptions struct {
	// MaxDisconnectionDuration is how long a session is kept after its
	// client went away. Default 2 min.
	MaxDisconnectionDuration time.Duration
	// SkipMiddlewares skips the namespace middlewares for a recovered
	// socket.
	SkipMiddlewares bool
}

type config struct {
	Options
	logger *slog.Logger
}

func newConfig(o *Options) *config {
	c := &config{}
	if o != nil {
		c.Options = *o
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	c.Engine.Path = c.Path
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.MaxAttachments <= 0 {
		c.MaxAttachments = 10
	}
	if c.BinaryTimeout <= 0 {
		c.BinaryTimeout = 10 * time.Second
	}
	if r := c.ConnectionStateRecovery; r != nil {
		rc := *r
		if rc.MaxDisconnectionDuration <= 0 {
			rc.MaxDisconnectionDuration = 2 * time.Minute
		}
		c.ConnectionStateRecovery = &rc
	}
	if c.Adapter == nil {
		var mo adapter.MemoryOptions
		if c.ConnectionStateRecovery != nil {
			mo.MaxDisconnectionDuration = c.ConnectionStateRecovery.MaxDisconnectionDuration
		}
		c.Adapter = adapter.NewMemory(mo)
	}
	c.logger = c.Logger
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.Engine.Logger == nil {
		c.Engine.Logger = c.Logger
	}
	return c
}
