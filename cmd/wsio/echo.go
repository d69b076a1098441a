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

// echoHandler upgrades every request and echoes each message back.
func echoHandler(cfg echoConfig, logger *slog.Logger) http.Handler {
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true, ReadLimit: cfg.readLimit}
	if cfg.compress {
		opts.Compression = websocket.CompressionContextTakeover
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			logger.Debug("handshake refused", "remote", r.RemoteAddr, "err", err)
			return
		}
		go echoLoop(c, logger)
	})
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
	srv := &http.Server{Handler: echoHandler(cfg, logger), ReadHeaderTimeout: 10 * time.Second}
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
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
