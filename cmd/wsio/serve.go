package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter/redisadapter"
	"github.com/wsio/wsio/engineio"
	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
)

// serveConfig is what the serve command's flags set.
type serveConfig struct {
	addr              string
	path              string
	pingInterval      time.Duration
	pingTimeout       time.Duration
	maxPayload        int
	transports        string
	corsOrigins       string
	recovery          time.Duration
	perMessageDeflate bool
	connectTimeout    time.Duration
	redisURL          string
	redisAdapter      string
}

func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:3000", "listen address")
	fs.StringVar(&cfg.path, "path", "/socket.io/", "Socket.IO path")
	fs.DurationVar(&cfg.pingInterval, "ping-interval", 25*time.Second, "Engine.IO ping interval")
	fs.DurationVar(&cfg.pingTimeout, "ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	fs.IntVar(&cfg.maxPayload, "max-payload", 1_000_000, "largest message or polling body, in bytes (maxHttpBufferSize)")
	fs.StringVar(&cfg.transports, "transports", "polling,websocket", "allowed transports, comma-separated")
	fs.StringVar(&cfg.corsOrigins, "cors-origin", "", `origins allowed cross-origin, comma-separated ("*" for any); empty: same origin only`)
	fs.DurationVar(&cfg.recovery, "recovery", 0, "connection state recovery window (0: off; Node's default when on is 2m)")
	fs.BoolVar(&cfg.perMessageDeflate, "per-message-deflate", false, "accept permessage-deflate on WebSocket")
	fs.DurationVar(&cfg.connectTimeout, "connect-timeout", 45*time.Second, "close connections that join no namespace in this time")
	fs.StringVar(&cfg.redisURL, "redis", "", "join the servers on this Redis (redis://host:port/db); empty: one server, in memory")
	fs.StringVar(&cfg.redisAdapter, "redis-adapter", "classic", `with -redis: "classic" (pub/sub, as Node's @socket.io/redis-adapter), "sharded" (sharded pub/sub of Redis 7, as its createShardedAdapter) or "streams" (as @socket.io/redis-streams-adapter; with -recovery, clients recover through any server)`)
	err := fs.Parse(args)
	return cfg, err
}

func (cfg serveConfig) options(logger *slog.Logger) *socketio.Options {
	opts := &socketio.Options{
		Path:           cfg.path,
		ConnectTimeout: cfg.connectTimeout,
		Logger:         logger,
		Engine: engineio.Options{
			PingInterval:      cfg.pingInterval,
			PingTimeout:       cfg.pingTimeout,
			MaxHTTPBufferSize: cfg.maxPayload,
			Transports:        strings.Split(cfg.transports, ","),
			PerMessageDeflate: cfg.perMessageDeflate,
		},
	}
	if cfg.corsOrigins != "" {
		opts.Engine.CORS = &engineio.CORSOptions{Origins: strings.Split(cfg.corsOrigins, ",")}
	}
	if cfg.recovery > 0 {
		opts.ConnectionStateRecovery = &socketio.RecoveryOptions{MaxDisconnectionDuration: cfg.recovery}
	}
	return opts
}

// newDemoServer returns the Socket.IO server of `wsio serve`: every
// namespace is open, and each socket understands a few events:
//
//	echo(args...)             answers with its arguments (ack, or an "echo" event)
//	join(room), leave(room)   changes the socket's rooms
//	broadcast(event, args...) sends event to every other socket of the namespace
//	to(room, event, args...)  sends event to the sockets in room but this one
func newDemoServer(opts *socketio.Options) *socketio.Server {
	srv := socketio.NewServer(opts)
	handler := func(s *socketio.Socket) {
		s.On("echo", func(args sioparser.Args, ack socketio.Ack) {
			vals, _ := args.Values()
			if errors.Is(ack(vals...), socketio.ErrNoAck) {
				_ = s.Emit("echo", vals...)
			}
		})
		s.On("join", func(room string, ack socketio.Ack) { s.Join(room); _ = ack(s.Rooms()) })
		s.On("leave", func(room string, ack socketio.Ack) { s.Leave(room); _ = ack(s.Rooms()) })
		s.On("broadcast", func(args sioparser.Args) {
			vals, _ := args.Values()
			if ev, ok := first(vals); ok {
				_ = s.Broadcast().Emit(ev, vals[1:]...)
			}
		})
		s.On("to", func(args sioparser.Args) {
			vals, _ := args.Values()
			if len(vals) < 2 {
				return
			}
			room, _ := vals[0].(string)
			if ev, ok := first(vals[1:]); ok {
				_ = s.To(room).Emit(ev, vals[2:]...)
			}
		})
	}
	srv.OnConnection(handler)
	srv.OfFunc(func(string, map[string]any) bool { return true }).OnConnection(handler)
	return srv
}

func first(vals []any) (string, bool) {
	if len(vals) == 0 {
		return "", false
	}
	s, ok := vals[0].(string)
	return s, ok && !sioparser.IsReserved(s)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	opts := cfg.options(logger)
	if cfg.redisURL != "" {
		ropts, err := redis.ParseURL(cfg.redisURL)
		if err != nil {
			return fmt.Errorf("-redis: %w", err)
		}
		rdb := redis.NewClient(ropts)
		defer rdb.Close()
		ping, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = rdb.Ping(ping).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("-redis %s: %w", cfg.redisURL, err)
		}
		var window time.Duration
		if opts.ConnectionStateRecovery != nil {
			window = opts.ConnectionStateRecovery.MaxDisconnectionDuration
		}
		switch cfg.redisAdapter {
		case "classic":
			ra := &redisadapter.Options{Logger: logger}
			ra.Memory.MaxDisconnectionDuration = window
			opts.Adapter = redisadapter.New(rdb, ra, nil)
		case "sharded":
			ra := &redisadapter.ShardedOptions{Logger: logger}
			ra.Memory.MaxDisconnectionDuration = window
			opts.Adapter = redisadapter.NewSharded(rdb, ra, nil)
		case "streams":
			opts.Adapter = redisadapter.NewStreams(rdb, &redisadapter.StreamsOptions{Logger: logger, MaxDisconnectionDuration: window}, nil)
		default:
			return fmt.Errorf("-redis-adapter %q: classic, sharded or streams", cfg.redisAdapter)
		}
	}
	sio := newDemoServer(opts)
	mux := http.NewServeMux()
	mux.Handle(cfg.path, sio)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "wsio serve: Socket.IO on http://%s%s\n", ln.Addr(), cfg.path)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = sio.Shutdown(shutdown)
	if herr := srv.Shutdown(shutdown); herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		err = errors.Join(err, herr)
	}
	return err
}
