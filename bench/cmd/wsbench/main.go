// Command wsbench runs the comparison of github.com/wsio/wsio/websocket
// with gorilla/websocket, coder/websocket and lxzan/gws, and writes
// RESULTS.md.
//
// Usage, from the bench directory:
//
//	go run ./cmd/wsbench [-out RESULTS.md] [-n 10000] [-count 6] ...
//	go run ./cmd/wsbench idle-server -lib wsio [-n 10000] [-compress] [-detach]
//	go run ./cmd/wsbench -only eio [-eio-reps 3] [-eio-cases REGEXP] ...
//	go run ./cmd/wsbench -only sio [-eio-reps 3] [-sio-idle 10000] ...
//
// Without a subcommand it runs, in order, the frame micro benchmarks and
// the echo benchmarks (go test, then benchstat), CPU and heap profiles of
// wsio, the memory-per-idle-connection measurement for every library, and
// the Engine.IO comparison (our engineio server against Node's engine.io,
// see eio.go), then writes the report. With -only eio it runs only the
// Engine.IO comparison and replaces only its section of the report.
//
// idle-server measures one library: it serves on 127.0.0.1, starts a child
// process (this same binary, subcommand idle-client) that opens N idle
// connections, waits until every connection is parked in the server's read
// loop, forces a GC and prints, as one JSON line, the server process's
// memory before and after. The child runs in its own process because the
// file descriptor limit is per process; it is killed by pid when the
// measurement is done, and exits by itself if its parent goes away or its
// time limit passes.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wsbench:", err)
		os.Exit(1)
	}
}

// run dispatches on the subcommand; it is separate from main so that the
// tests can re-execute the test binary as a child.
func run(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "idle-server":
			return idleServerMain(args[1:])
		case "idle-client":
			return idleClientMain(args[1:])
		case "eio-server":
			return eioServerMain(args[1:])
		case "eio-load":
			return eioLoadMain(args[1:])
		case "sio-server":
			return sioServerMain(args[1:])
		case "sio-load":
			return sioLoadMain(args[1:])
		case "cluster":
			return clusterMain(args[1:])
		case "help", "-h", "-help", "--help":
			fmt.Fprint(os.Stderr, usage)
			return nil
		}
	}
	return runAllMain(args)
}

const usage = `wsbench runs the WebSocket library comparison and writes RESULTS.md.

  wsbench [flags]                 everything (see -h of the flags below)
  wsbench cluster                 the cross-server comparison over Redis (ours vs Node's
                                  redis adapter); updates only its section of RESULTS.md
  wsbench idle-server -lib NAME   memory per idle connection of one library
  wsbench idle-client ...         internal: the child that holds the connections
  wsbench -only eio               only the Engine.IO comparison (ours vs Node's engine.io);
                                  updates only its section of RESULTS.md
  wsbench eio-server              our Engine.IO echo server on 127.0.0.1 (prints its port)
  wsbench eio-load -url URL ...   one Engine.IO load measurement (prints a JSON line)
  wsbench -only sio               only the Socket.IO comparison (ours vs Node's socket.io and
                                  zishang520/socket.io); updates only its section of RESULTS.md
  wsbench sio-server              our Socket.IO server on 127.0.0.1 (prints its port)
  wsbench sio-load -url URL ...   one Socket.IO load measurement (prints a JSON line)
`
