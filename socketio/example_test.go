package socketio_test

import (
	"log"
	"net/http"

	"github.com/wsio/wsio/socketio"
)

func Example() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		// Typed arguments, an acknowledgement, and a broadcast to a room.
		s.On("join", func(room string) { s.Join(room) })
		s.On("chat", func(room, text string, ack socketio.Ack) {
			_ = s.To(room).Emit("chat", s.ID(), text)
			_ = ack("delivered")
		})
		s.OnDisconnect(func(reason string) { log.Println(s.ID(), "left:", reason) })
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	_ = http.ListenAndServe // http.ListenAndServe("127.0.0.1:3000", mux)
}
