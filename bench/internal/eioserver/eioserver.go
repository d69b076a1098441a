// Package eioserver is the Engine.IO server under test in the Engine.IO
// throughput comparison: github.com/wsio/wsio/engineio with the same
// options as Node's engine.io defaults, echoing every message and
// answering one broadcast command. node/bench-eio-server.mjs in
// interop/ does the same with Node's engine.io.
package eioserver

import (
	"bytes"
	"strconv"
	"sync"
	"time"

	"github.com/wsio/wsio/engineio"
)

// BroadcastPrefix starts the text message that asks for a broadcast:
// "bcast:K:" followed by any filler. The server sends the whole message,
// unchanged, K times to every open session (the sender included) instead
// of echoing it.
const BroadcastPrefix = "bcast:"

// ParseBroadcast returns K of a broadcast command, or false if data is not
// one. K is at most 10000.
func ParseBroadcast(data []byte) (int, bool) {
	rest, ok := bytes.CutPrefix(data, []byte(BroadcastPrefix))
	if !ok {
		return 0, false
	}
	num, _, ok := bytes.Cut(rest, []byte(":"))
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(string(num))
	if err != nil || k < 1 || k > 10000 {
		return 0, false
	}
	return k, true
}

// Options are the server's options: Node engine.io 6.6's defaults, spelled
// out (pingInterval 25 s, pingTimeout 20 s, maxHttpBufferSize 1e6,
// perMessageDeflate off, httpCompression on with threshold 1024).
func Options() *engineio.Options {
	return &engineio.Options{
		PingInterval:             25 * time.Second,
		PingTimeout:              20 * time.Second,
		MaxHTTPBufferSize:        1_000_000,
		PerMessageDeflate:        false,
		HTTPCompressionThreshold: 1024,
	}
}

// New returns the server: every message is sent back to its session with
// its binary flag, except broadcast commands (see BroadcastPrefix), which
// are sent K times to every session as one shared engineio.Message.
func New() *engineio.Server {
	srv := engineio.NewServer(Options())
	var mu sync.Mutex
	sessions := map[*engineio.Session]struct{}{}
	srv.OnConnection(func(s *engineio.Session) {
		mu.Lock()
		sessions[s] = struct{}{}
		mu.Unlock()
		s.OnClose(func(string, error) {
			mu.Lock()
			delete(sessions, s)
			mu.Unlock()
		})
		s.OnMessage(func(data []byte, binary bool) {
			if !binary {
				if k, ok := ParseBroadcast(data); ok {
					m := engineio.NewMessage(bytes.Clone(data), false)
					mu.Lock()
					all := make([]*engineio.Session, 0, len(sessions))
					for t := range sessions {
						all = append(all, t)
					}
					mu.Unlock()
					for range k {
						for _, t := range all {
							_ = t.SendMessage(m)
						}
					}
					return
				}
			}
			// data is valid only during the callback and Send keeps it
			// until it is written: the echo needs its own copy.
			_ = s.Send(bytes.Clone(data), binary)
		})
	})
	return srv
}
