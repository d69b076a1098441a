// Command wsio is the wsio program. Subcommands:
//
//	wsio serve [--addr 127.0.0.1:3000]               a Socket.IO server (the main program)
//	wsio connect [flags] URL                         a Socket.IO client for the command line
//	wsio echo [--addr 127.0.0.1:9001]                a WebSocket echo endpoint
//	wsio conformance engine [--addr 127.0.0.1:3000]  what the engine.io-protocol test suite expects
//	wsio conformance socket [--addr 127.0.0.1:3000]  what the socket.io-protocol test suite expects
//
// serve runs a Socket.IO server at /socket.io/ where every namespace is
// open and sockets can echo, join rooms and broadcast (see newDemoServer);
// its flags set the engine and server options. The conformance servers use
// a ping interval of 300 ms, a ping timeout of 200 ms and a maxPayload of
// 1e6, as the suites expect. Every server stops cleanly on SIGINT or
// SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "wsio:", err)
		os.Exit(1)
	}
}

const usage = `usage: wsio <command> [flags]

commands:
  serve               a Socket.IO server on 127.0.0.1:3000 (/socket.io/)
  connect URL         a Socket.IO client: prints events as JSON lines,
                      emits what stdin says (like wscat, for Socket.IO)
  echo                serve a WebSocket echo endpoint (every message sent back)
  conformance engine  serve the Engine.IO server the engine.io-protocol
                      test suite expects (127.0.0.1:3000, /engine.io/)
  conformance socket  serve the Socket.IO server the socket.io-protocol
                      test suite expects (127.0.0.1:3000, /socket.io/)

Run "wsio <command> -h" for a command's flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	switch args[0] {
	case "echo":
		return runEcho(ctx, args[1:], stdout, stderr, logger)
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr, logger)
	case "connect":
		return runConnect(ctx, args[1:], stdout, stderr)
	case "conformance":
		return runConformance(ctx, args[1:], stdout, stderr, logger)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
