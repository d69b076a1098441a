// Package sioserver is the Socket.IO server under test in the Socket.IO
// throughput comparison: github.com/wsio/wsio/socketio with its defaults
// (Node's), answering two events. interop/node/bench-sio-server.mjs does
// the same with Node's socket.io.
//
//   - "echo": the event's arguments are sent back in its acknowledgement.
//   - "bcast" with arguments K and data: the server emits the event
//     "msg" with data K times to every socket of the main namespace (the
//     sender included). K is at most MaxBurst.
package sioserver

import (
	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
)

// MaxBurst bounds K of a "bcast" event.
const MaxBurst = 10000

// Burst returns K of a "bcast" event's first argument, or false.
func Burst(v any) (int, bool) {
	f, ok := v.(float64)
	if !ok || f != float64(int(f)) || f < 1 || f > MaxBurst {
		return 0, false
	}
	return int(f), true
}

// New returns the server, to be mounted at /socket.io/.
func New() *socketio.Server { return NewWithAdapter(nil) }

// NewWithAdapter returns the server with the adapter factory f (nil: the
// in-memory default), for the cross-server measurement.
func NewWithAdapter(f adapter.Factory) *socketio.Server {
	srv := socketio.NewServer(&socketio.Options{Adapter: f})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(args sioparser.Args, ack socketio.Ack) {
			vals, err := args.Values()
			if err != nil || ack == nil {
				return
			}
			_ = ack(vals...)
		})
		s.On("bcast", func(args sioparser.Args) {
			vals, err := args.Values()
			if err != nil || len(vals) < 2 {
				return
			}
			k, ok := Burst(vals[0])
			if !ok {
				return
			}
			for range k {
				_ = srv.Emit("msg", vals[1])
			}
		})
	})
	return srv
}
