package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/wsio/wsio/engineio"
	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
)

// The conformance command serves what a protocol's official test suite
// expects to find. Two suites: "engine", the Engine.IO v4 suite of the
// socketio/engine.io-protocol repository (test-suite/), which connects to
// http://localhost:3000/engine.io/ and expects a ping interval of 300 ms, a
// ping timeout of 200 ms, a maxPayload of 1e6 and every message echoed; and
// "socket", the suite of socketio/socket.io-protocol, which expects the
// Socket.IO server its README describes at /socket.io/ with the same
// settings.

const conformanceUsage = `usage: wsio conformance <suite> [flags]

suites:
  engine  an Engine.IO v4 server for the engine.io-protocol test suite:
          path /engine.io/, pingInterval 300 ms, pingTimeout 200 ms,
          maxPayload 1000000, every message echoed back
  socket  a Socket.IO v5 server for the socket.io-protocol test suite:
          path /socket.io/, the same settings, and the namespaces and
          handlers that suite's README describes

Run "wsio conformance <suite> -h" for a suite's flags.
`

// conformanceConfig is what the conformance command's arguments set.
type conformanceConfig struct {
	suite string
	addr  string
}

func parseConformance(args []string, stderr io.Writer) (conformanceConfig, error) {
	var cfg conformanceConfig
	if len(args) == 0 {
		fmt.Fprint(stderr, conformanceUsage)
		return cfg, errors.New("conformance: name a suite")
	}
	switch args[0] {
	case "engine", "socket":
	case "-h", "--help", "help":
		fmt.Fprint(stderr, conformanceUsage)
		return cfg, flag.ErrHelp
	default:
		fmt.Fprint(stderr, conformanceUsage)
		return cfg, fmt.Errorf("conformance: unknown suite %q", args[0])
	}
	cfg.suite = args[0]
	fs := flag.NewFlagSet("conformance "+cfg.suite, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:3000", "listen address")
	if err := fs.Parse(args[1:]); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("conformance %s: unexpected argument %q", cfg.suite, fs.Arg(0))
	}
	return cfg, nil
}

// Settings the Engine.IO test suite checks in the handshake.
const (
	conformancePingInterval = 300 * time.Millisecond
	conformancePingTimeout  = 200 * time.Millisecond
	conformanceMaxPayload   = 1_000_000
)

// newConformanceEngine returns the Engine.IO server of the "engine" suite:
// every message is sent back with its binary flag, and sessions are logged.
func newConformanceEngine(logger *slog.Logger) *engineio.Server {
	srv := engineio.NewServer(&engineio.Options{
		PingInterval:      conformancePingInterval,
		PingTimeout:       conformancePingTimeout,
		MaxHTTPBufferSize: conformanceMaxPayload,
		// Any origin, so that the suite can also run in a browser.
		CORS:   &engineio.CORSOptions{},
		Logger: logger,
	})
	srv.OnConnection(func(s *engineio.Session) {
		logger.Info("session opened", "sid", s.ID(), "transport", s.Transport(), "remote", s.RemoteAddr())
		s.OnMessage(func(data []byte, binary bool) {
			_ = s.Send(bytes.Clone(data), binary) // data is only valid during the call
		})
		s.OnUpgrade(func(transport string) {
			logger.Info("session upgraded", "sid", s.ID(), "transport", transport)
		})
		s.OnClose(func(reason string, err error) {
			logger.Info("session closed", "sid", s.ID(), "reason", reason, "err", err)
		})
	})
	srv.OnConnectionError(func(e *engineio.RequestError) {
		logger.Info("request refused", "code", int(e.Code), "message", e.Message,
			"method", e.Request.Method, "url", e.Request.URL.String(), "err", e.Err)
	})
	return srv
}

func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	cfg, err := parseConformance(args, stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	var eio interface {
		http.Handler
		Shutdown(context.Context) error
	}
	path := "/engine.io/"
	if cfg.suite == "socket" {
		eio, path = newConformanceSocket(logger), "/socket.io/"
	} else {
		eio = newConformanceEngine(logger)
	}
	mux := http.NewServeMux()
	mux.Handle(path, eio)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "wsio conformance %s: listening on http://%s%s\n", cfg.suite, ln.Addr(), path)
	logger.Info("conformance server started", "suite", cfg.suite, "addr", ln.Addr().String(),
		"pingInterval", conformancePingInterval, "pingTimeout", conformancePingTimeout,
		"maxPayload", conformanceMaxPayload)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	// The engine first: closing its sessions ends the polling requests that
	// wait for packets, which http.Server.Shutdown would otherwise wait for,
	// and the WebSocket connections, which it does not track.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	eioErr := eio.Shutdown(shutdownCtx)
	httpErr := srv.Shutdown(shutdownCtx)
	if serveErr == nil {
		serveErr = <-errc // http.ErrServerClosed after Shutdown
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	logger.Info("conformance server stopped", "suite", cfg.suite)
	return errors.Join(serveErr, eioErr, httpErr)
}

// newConformanceSocket returns the Socket.IO server of the "socket" suite,
// as the socket.io-protocol README describes it: on "/" and "/custom" every
// socket gets an "auth" event with its auth payload; on "/", "message" is
// sent back as "message-back" and "message-with-ack" is acknowledged with
// its arguments.
func newConformanceSocket(logger *slog.Logger) *socketio.Server {
	srv := socketio.NewServer(&socketio.Options{
		Logger: logger,
		Engine: engineio.Options{
			PingInterval:      conformancePingInterval,
			PingTimeout:       conformancePingTimeout,
			MaxHTTPBufferSize: conformanceMaxPayload,
			CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
		},
	})
	srv.OnConnection(func(s *socketio.Socket) {
		logger.Info("socket connected", "nsp", "/", "id", s.ID())
		_ = s.Emit("auth", s.Handshake().Auth)
		s.On("message", func(args sioparser.Args) {
			vals, _ := args.Values()
			_ = s.Emit("message-back", vals...)
		})
		s.On("message-with-ack", func(args sioparser.Args, ack socketio.Ack) {
			vals, _ := args.Values()
			_ = ack(vals...)
		})
		s.OnDisconnect(func(reason string) { logger.Info("socket disconnected", "id", s.ID(), "reason", reason) })
	})
	srv.Of("/custom").OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
	})
	return srv
}
