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
	"sync"
	"time"

	"github.com/wsio/wsio/websocket"
)

// echoConfig is what the echo command's flags set.
type echoConfig struct {
	addr      string
	readLimit int64
	compress  bool
}

func parseEcho(args []string, stderr io.Writer) (echoConfig, error) {
	var cfg echoConfig
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:9001", "listen address")
	fs.Int64Var(&cfg.readLimit, "read-limit", 64<<20, "largest message accepted, in bytes")
	fs.BoolVar(&cfg.compress, "compress", true, "accept permessage-deflate when the client offers it")
	err := fs.Parse(args)
	return cfg, err
}

// echoServer upgrades every request and echoes each message back. It keeps
// the connections it hijacked so that shutdown can close them.
type echoServer struct {
	opts   *websocket.AcceptOptions
	logger *slog.Logger
	mu     sync.Mutex
	conns  map[*websocket.Conn]struct{}
	wg     sync.WaitGroup
}

func newEchoServer(cfg echoConfig, logger *slog.Logger) *echoServer {
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true, ReadLimit: cfg.readLimit}
	if cfg.compress {
		opts.Compression = websocket.CompressionContextTakeover
	}
	return &echoServer{opts: opts, logger: logger, conns: map[*websocket.Conn]struct{}{}}
}

func (s *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, s.opts)
	if err != nil {
		s.logger.Debug("handshake refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.wg.Go(func() {
		echoLoop(c, s.logger)
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	})
}

// closeAll closes every open connection with 1001 and waits for their loops.
func (s *echoServer) closeAll() {
	s.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		go func() { _ = c.Close(websocket.StatusGoingAway, "server shutting down") }()
	}
	s.wg.Wait()
}

func echoLoop(c *websocket.Conn, logger *slog.Logger) {
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, err := c.ReadAppend(ctx, buf[:0])
		if err != nil {
			logger.Debug("connection ended", "remote", c.RemoteAddr(), "err", err)
			_ = c.CloseNow()
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
		buf = msg
	}
}

func runEcho(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	cfg, err := parseEcho(args, stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	echo := newEchoServer(cfg, logger)
	srv := &http.Server{Handler: echo, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "wsio echo: listening on ws://%s/\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	echo.closeAll()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
