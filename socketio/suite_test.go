package socketio_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsio/wsio/engineio"
	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
	"github.com/wsio/wsio/websocket"
)

// The Socket.IO part of the socket.io-protocol test suite, frame by frame,
// against the server its README describes.
func suiteServer(t *testing.T) string {
	srv := socketio.NewServer(&socketio.Options{Engine: engineio.Options{
		PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond,
		CORS: &engineio.CORSOptions{Origins: []string{"*"}},
	}})
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
		s.On("message", func(args sioparser.Args) {
			vals, _ := args.Values()
			_ = s.Emit("message-back", vals...)
		})
		s.On("message-with-ack", func(args sioparser.Args, ack socketio.Ack) {
			vals, _ := args.Values()
			_ = ack(vals...)
		})
	})
	srv.Of("/custom").OnConnection(func(s *socketio.Socket) { _ = s.Emit("auth", s.Handshake().Auth) })
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return strings.Replace(ts.URL, "http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
}

type suiteConn struct {
	t *testing.T
	c *websocket.Conn
}

func suiteDial(t *testing.T, url string) *suiteConn {
	c, _, err := websocket.Dial(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	sc := &suiteConn{t, c}
	sc.read() // Engine.IO handshake
	return sc
}

func (s *suiteConn) send(typ websocket.MessageType, m string) {
	s.t.Helper()
	if err := s.c.Write(s.t.Context(), typ, []byte(m)); err != nil {
		s.t.Fatal(err)
	}
}

// read returns the next message that is not a ping.
func (s *suiteConn) read() string {
	s.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		_, b, err := s.c.Read(ctx)
		cancel()
		if err != nil {
			s.t.Fatalf("read: %v", err)
		}
		if string(b) != "2" {
			return string(b)
		}
		s.send(websocket.MessageText, "3")
	}
}

func (s *suiteConn) expectClose() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for range 100 {
		if _, _, err := s.c.Read(ctx); err != nil {
			return
		}
	}
	s.t.Fatal("still open")
}

func TestProtocolSuiteConnect(t *testing.T) {
	url := suiteServer(t)
	for _, c := range []struct{ send, prefix, auth string }{
		{"40", "40", `42["auth",{}]`},
		{`40{"token":"123"}`, "40", `42["auth",{"token":"123"}]`},
		{"40/custom,", "40/custom,", `42/custom,["auth",{}]`},
		{`40/custom,{"token":"abc"}`, "40/custom,", `42/custom,["auth",{"token":"abc"}]`},
	} {
		s := suiteDial(t, url)
		s.send(websocket.MessageText, c.send)
		got := s.read()
		var hs map[string]any
		if !strings.HasPrefix(got, c.prefix) || json.Unmarshal([]byte(got[len(c.prefix):]), &hs) != nil || len(hs) != 1 || hs["sid"] == "" {
			t.Errorf("%s: handshake %s", c.send, got)
		}
		if got := s.read(); got != c.auth {
			t.Errorf("%s: auth %s", c.send, got)
		}
	}
	s := suiteDial(t, url)
	s.send(websocket.MessageText, "40/random")
	if got := s.read(); got != `44/random,{"message":"Invalid namespace"}` {
		t.Errorf("unknown namespace: %s", got)
	}
	s = suiteDial(t, url)
	s.send(websocket.MessageText, "4abc")
	s.expectClose()
}

func suiteConnected(t *testing.T, url string) *suiteConn {
	s := suiteDial(t, url)
	s.send(websocket.MessageText, "40")
	s.read()
	s.read()
	return s
}

func TestProtocolSuiteDisconnectAndMessages(t *testing.T) {
	url := suiteServer(t)
	s := suiteConnected(t, url)
	s.send(websocket.MessageText, "40/custom")
	s.read()
	s.read()
	s.send(websocket.MessageText, "41/custom")
	s.send(websocket.MessageText, `42["message","message to main namespace"]`)
	if got := s.read(); got != `42["message-back","message to main namespace"]` {
		t.Errorf("after leaving /custom: %s", got)
	}
	s.send(websocket.MessageText, `42["message",1,"2",{"3":[true]}]`)
	if got := s.read(); got != `42["message-back",1,"2",{"3":[true]}]` {
		t.Errorf("plain text: %s", got)
	}
	s.send(websocket.MessageText, `42456["message-with-ack",1,"2",{"3":[false]}]`)
	if got := s.read(); got != `43456[1,"2",{"3":[false]}]` {
		t.Errorf("ack: %s", got)
	}
	for _, c := range []struct{ send, want string }{
		{`452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, `452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{`452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, `462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
	} {
		s.send(websocket.MessageText, c.send)
		s.send(websocket.MessageBinary, "\x01\x02\x03")
		s.send(websocket.MessageBinary, "\x04\x05\x06")
		if got := s.read(); got != c.want {
			t.Errorf("binary: %s", got)
		}
		if a, b := s.read(), s.read(); a != "\x01\x02\x03" || b != "\x04\x05\x06" {
			t.Errorf("attachments %q %q", a, b)
		}
	}
	for _, bad := range []string{"4abc", "42{}", `42abc["message-with-ack",1,"2",{"3":[false]}]`} {
		s := suiteConnected(t, url)
		s.send(websocket.MessageText, bad)
		s.expectClose()
	}
	// "41" on the main namespace: the connection ends (here through the
	// heartbeat, as with Node, since the suite's client answers no ping).
	s = suiteConnected(t, url)
	s.send(websocket.MessageText, "41")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for range 100 {
		if _, _, err := s.c.Read(ctx); err != nil {
			return
		}
	}
	t.Error("connection still open after 41")
}
