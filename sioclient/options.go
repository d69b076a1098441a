package sioclient

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Options configures a Manager: its Engine.IO connection and its
// reconnection (Node: the options of io() and of Manager). The zero value
// is ready to use.
type Options struct {
	// Path is the server's Socket.IO path. Default: "/socket.io/".
	Path string
	// Transports lists the transports in order of preference. Default:
	// polling, then an upgrade to websocket. {"websocket"} connects over
	// WebSocket only.
	Transports []string
	// NoUpgrade keeps the connection on the transport it opened with.
	NoUpgrade bool
	// TryAllTransports tries the next transport when the handshake on one
	// fails.
	TryAllTransports bool
	// Query holds extra query parameters of the connection.
	Query url.Values
	// Header holds extra HTTP headers of every request.
	Header http.Header
	// HTTPClient makes the polling requests (and its Jar feeds the
	// WebSocket handshake). Default: a client of the Manager's own.
	HTTPClient *http.Client
	// TLSConfig configures TLS for https:// and wss:// URLs.
	TLSConfig *tls.Config

	// Timeout bounds each attempt to open the connection (Node: timeout).
	// Default: 20 s.
	Timeout time.Duration
	// NoReconnection turns automatic reconnection off (Node:
	// reconnection: false).
	NoReconnection bool
	// ReconnectionAttempts is how many reconnection attempts are made
	// before giving up; 0 means no limit (Node's Infinity).
	ReconnectionAttempts int
	// ReconnectionDelay is the first delay between attempts, doubled after
	// each failure up to ReconnectionDelayMax. Defaults: 1 s and 5 s.
	ReconnectionDelay    time.Duration
	ReconnectionDelayMax time.Duration
	// RandomizationFactor spreads each delay by up to this fraction either
	// way, so that clients do not come back all at once. Default 0.5; a
	// negative value means no spread.
	RandomizationFactor float64

	// MaxAttachments bounds the binary attachments of one packet from the
	// server. Default: 10.
	MaxAttachments int

	// Logger receives debug logs. Default: none.
	Logger *slog.Logger
}

// SocketOptions configures one namespace's Socket.
type SocketOptions struct {
	// AutoConnect makes Manager.Socket start connecting at once, in the
	// background, as the JS client does by default; emits made meanwhile
	// are buffered. Without it, call Connect.
	AutoConnect bool

	// Auth is sent with every CONNECT (Node: auth as an object). It is
	// encoded as JSON.
	Auth any
	// AuthFunc, when set, is called before every CONNECT, the first and
	// those after a reconnection, and its result is sent instead of Auth
	// (Node: auth as a function).
	AuthFunc func() any

	// AckTimeout bounds the wait for each acknowledgement (Node:
	// ackTimeout), on top of EmitWithAck's ctx. Default: none.
	AckTimeout time.Duration
	// Retries, when above zero, sends every event (Emit and EmitWithAck)
	// through a queue, one at a time, each asking for an acknowledgement
	// and sent again when none comes within AckTimeout (1 s when unset),
	// up to Retries more times (Node: retries). Delivery is then
	// at-least-once: the server must acknowledge every event, and may see
	// one twice.
	Retries int
}

const (
	defaultPath         = "/socket.io/"
	defaultTimeout      = 20 * time.Second
	defaultDelay        = time.Second
	defaultDelayMax     = 5 * time.Second
	defaultRandomFactor = 0.5
	defaultAttachments  = 10
)

func (o Options) withDefaults() Options {
	if o.Path == "" {
		o.Path = defaultPath
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.ReconnectionDelay <= 0 {
		o.ReconnectionDelay = defaultDelay
	}
	if o.ReconnectionDelayMax <= 0 {
		o.ReconnectionDelayMax = defaultDelayMax
	}
	if o.ReconnectionDelayMax < o.ReconnectionDelay {
		o.ReconnectionDelayMax = o.ReconnectionDelay
	}
	switch {
	case o.RandomizationFactor == 0:
		o.RandomizationFactor = defaultRandomFactor
	case o.RandomizationFactor < 0:
		o.RandomizationFactor = 0
	case o.RandomizationFactor > 1:
		o.RandomizationFactor = 1
	}
	if o.MaxAttachments <= 0 {
		o.MaxAttachments = defaultAttachments
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
