package engineio

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/wsio/wsio/websocket"
)

// Transport names, as they appear in the "transport" query parameter and in
// Options.Transports.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// Options configures a Server. The zero value gives Node's defaults. Field
// names follow the options of Node's engine.io server; the comment of each
// field names the Node option it mirrors.
type Options struct {
	// Path is where the server answers; requests whose path does not start
	// with it get 404. Default "/engine.io/" (Node: path).
	Path string

	// PingInterval is the time between two server pings. Default 25 s
	// (Node: pingInterval).
	PingInterval time.Duration
	// PingTimeout is how long the server waits for the client's pong before
	// closing the session with "ping timeout". Default 20 s (Node:
	// pingTimeout).
	PingTimeout time.Duration
	// UpgradeTimeout bounds an upgrade from polling to WebSocket; an
	// upgrade not completed in time is abandoned and the session stays on
	// polling. Default 10 s (Node: upgradeTimeout).
	UpgradeTimeout time.Duration

	// MaxHTTPBufferSize is the largest message or polling request body the
	// server accepts, in bytes. A larger polling body gets 413, a larger
	// WebSocket message closes the connection with 1009. It is sent to the
	// client as maxPayload. Default 1e6 (Node: maxHttpBufferSize).
	MaxHTTPBufferSize int

	// Transports lists the transports clients may use. Default
	// {"polling", "websocket"} (Node: transports).
	Transports []string
	// DisallowUpgrades stops clients from upgrading polling sessions to
	// WebSocket (Node: allowUpgrades: false).
	DisallowUpgrades bool

	// AllowRequest runs before every handshake. A non-nil error refuses the
	// session with 403 and the error's text as the message (Node:
	// allowRequest). It may read the request but not its body.
	AllowRequest func(r *http.Request) error

	// CORS, when set, answers cross-origin requests and preflights for
	// polling and checks the Origin of WebSocket handshakes against the same
	// policy (Node: cors). Without it, browsers may only connect from the
	// server's own origin.
	CORS *CORSOptions

	// Cookie, when set, is a template for a cookie that carries the
	// session id, set on the handshake response. Its Value is replaced by
	// the sid; an empty Name becomes "io", an empty Path "/" and a zero
	// SameSite http.SameSiteLaxMode (Node: cookie; note that Node sets
	// httpOnly by default: set HttpOnly here).
	Cookie *http.Cookie

	// DisableHTTPCompression turns off gzip/deflate of polling responses
	// (Node: httpCompression: false).
	DisableHTTPCompression bool
	// HTTPCompressionThreshold is the smallest polling response that is
	// compressed, when the client accepts it. Default 1024 (Node:
	// httpCompression.threshold).
	HTTPCompressionThreshold int

	// PerMessageDeflate enables permessage-deflate for WebSocket, off by
	// default as in Node (Node: perMessageDeflate). Contexts are not kept
	// between messages, so idle connections hold no compressor.
	PerMessageDeflate bool
	// PerMessageDeflateThreshold is the smallest WebSocket message that is
	// compressed. Default 1024 (Node: perMessageDeflate.threshold).
	PerMessageDeflateThreshold int

	// InitialHeaders may add headers to the handshake response (Node: the
	// "initial_headers" event).
	InitialHeaders func(h http.Header, r *http.Request)
	// Headers may add headers to every response of the server, the
	// handshake included (Node: the "headers" event).
	Headers func(h http.Header, r *http.Request)

	// GenerateID returns the id of a new session. Default: 15 random bytes
	// from crypto/rand in URL-safe base64, 20 characters (Node: the
	// generateId method). An error refuses the handshake with 400.
	GenerateID func(r *http.Request) (string, error)

	// InitialPacket, when set, is sent as a message right after the open
	// packet (Node: initialPacket).
	InitialPacket []byte

	// MaxBufferedBytes bounds the bytes queued for one session and not yet
	// written. A send that would exceed it closes the session with reason
	// "write buffer full" (Node has no such bound). Default 16 MiB, and
	// never less than twice MaxHTTPBufferSize.
	MaxBufferedBytes int

	// Logger receives the server's debug and error logs. Default: none.
	Logger *slog.Logger
}

// CORSOptions answers cross-origin requests, as Node's cors package does.
type CORSOptions struct {
	// Origins lists the allowed origins (scheme://host[:port]); "*" allows
	// any. When both Origins and AllowOrigin are empty, any origin is
	// allowed and answered with "*".
	Origins []string
	// AllowOrigin, when set, decides for origins not in Origins.
	AllowOrigin func(origin string) bool
	// Credentials sets Access-Control-Allow-Credentials: true; the
	// allowed origin is then echoed instead of "*".
	Credentials bool
	// Methods lists the methods a preflight allows. Default GET, POST,
	// OPTIONS... as Node's cors: GET,HEAD,PUT,PATCH,POST,DELETE.
	Methods []string
	// AllowedHeaders lists the request headers a preflight allows. Default:
	// those the preflight asks for.
	AllowedHeaders []string
	// ExposedHeaders lists response headers the browser may read.
	ExposedHeaders []string
	// MaxAge is how long a preflight may be cached. Default: not sent.
	MaxAge time.Duration
}

// config is Options with every default applied.
type config struct {
	Options
	transports   map[string]bool
	maxBuffered  int
	httpThresh   int
	wsThresh     int
	logger       *slog.Logger
	closeTimeout time.Duration // how long a polling session closing waits for a GET
	noopInterval time.Duration // how long a GET waits during an upgrade before a noop
}

func newConfig(o *Options) *config {
	c := &config{}
	if o != nil {
		c.Options = *o
	}
	if c.Path == "" {
		c.Path = "/engine.io/"
	}
	setDefault(&c.PingInterval, 25*time.Second)
	setDefault(&c.PingTimeout, 20*time.Second)
	setDefault(&c.UpgradeTimeout, 10*time.Second)
	setDefault(&c.MaxHTTPBufferSize, 1_000_000)
	if len(c.Transports) == 0 {
		c.Transports = []string{TransportPolling, TransportWebSocket}
	}
	c.transports = map[string]bool{}
	for _, t := range c.Transports {
		if t == TransportPolling || t == TransportWebSocket {
			c.transports[t] = true
		}
	}
	c.httpThresh = c.HTTPCompressionThreshold
	setDefault(&c.httpThresh, 1024)
	c.wsThresh = c.PerMessageDeflateThreshold
	setDefault(&c.wsThresh, 1024)
	c.maxBuffered = c.MaxBufferedBytes
	setDefault(&c.maxBuffered, 16<<20)
	c.maxBuffered = max(c.maxBuffered, 2*c.MaxHTTPBufferSize)
	c.logger = c.Logger
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.closeTimeout = 30 * time.Second
	c.noopInterval = 100 * time.Millisecond
	return c
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// upgrades returns the transports a session on transport t may upgrade to.
func (c *config) upgrades(t string) []string {
	if c.DisallowUpgrades || t != TransportPolling || !c.transports[TransportWebSocket] {
		return []string{}
	}
	return []string{TransportWebSocket}
}

func (c *config) acceptOptions() *websocket.AcceptOptions {
	o := &websocket.AcceptOptions{ReadLimit: int64(c.MaxHTTPBufferSize)}
	if c.PerMessageDeflate {
		o.Compression = websocket.CompressionNoContextTakeover
		o.CompressionThreshold = c.wsThresh
	}
	return o
}
