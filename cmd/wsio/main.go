// Command wsio is the wsio program. Subcommands:
//
//	wsio echo [--addr 127.0.0.1:9001]   serve a WebSocket echo endpoint
//
// Later subcommands (serve, connect, conformance) grow out of the issues.
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
  echo    serve a WebSocket echo endpoint (every message sent back)

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
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
