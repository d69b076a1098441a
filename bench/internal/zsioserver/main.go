// Command zsioserver is the third server of the Socket.IO throughput
// comparison (bench/, wsbench -only sio): github.com/zishang520/socket.io
// (servers/socket/v3) with its defaults, on 127.0.0.1 at /socket.io/, on a
// port the system picks. The first stdout line is the port.
//
// It answers the same events as bench/internal/sioserver: "echo" is
// acknowledged with its arguments; "bcast" with K and data emits "msg"
// with data K times to every socket (the sender included).
//
// It is a module of its own so that its dependencies (a newer
// klauspost/compress among them) do not change the versions the WebSocket
// benchmarks of the bench module build with. It exits when its stdin
// closes or after -limit.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

func main() {
	limit := flag.Duration("limit", 15*time.Minute, "exit after this long in any case")
	flag.Parse()
	srv := socket.NewServer(nil, nil)
	_ = srv.On("connection", func(clients ...any) {
		c := clients[0].(*socket.Socket)
		_ = c.On("echo", func(args ...any) {
			if len(args) == 0 {
				return
			}
			if ack, ok := args[len(args)-1].(socket.Ack); ok {
				ack(args[:len(args)-1], nil)
			}
		})
		_ = c.On("bcast", func(args ...any) {
			if len(args) < 2 {
				return
			}
			f, ok := args[0].(float64)
			if !ok || f != float64(int(f)) || f < 1 || f > 10000 {
				return
			}
			for range int(f) {
				srv.Emit("msg", args[1])
			}
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "zsioserver:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv.ServeHandler(nil))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(*limit):
		fmt.Fprintf(os.Stderr, "zsioserver: time limit of %v reached\n", *limit)
		os.Exit(2)
	}
	_ = hs.Close()
}
