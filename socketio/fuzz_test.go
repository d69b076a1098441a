package socketio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsio/wsio/engineio"
	"github.com/wsio/wsio/socketio"
)

// FuzzServerReadPath sends arbitrary Socket.IO packets from a connected
// polling client, in process: the server must answer or disconnect, never
// panic or hang.
func FuzzServerReadPath(f *testing.F) {
	for _, s := range []string{`2["hi",1]`, `21["ack?"]`, `3["x"]`, `30[]`, `1`, `0/nsp,`, `0`, `2/nsp,["x"]`,
		`51-["b",{"_placeholder":true,"num":0}]`, `4{"message":"x"}`, `2["typed",{"a":[1,2]}]`, `2[1]`, `2["typed","s"]`,
		`2["disconnect"]`, `6` + "0-[]", `x`, ``} {
		f.Add([]byte(s), []byte{1, 2, 3})
	}
	srv := socketio.NewServer(&socketio.Options{Engine: engineio.Options{PingInterval: time.Hour}})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("hi", func(n int, ack socketio.Ack) { _ = ack(n) })
		s.On("typed", func(v struct{ A []int }) { _ = s.Emit("typed", v) })
		s.On("ack?", func(ack socketio.Ack) { _ = ack(); _ = ack() })
		s.OnError(func(error) {})
	})
	srv.Of("/nsp")
	f.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	f.Fuzz(func(t *testing.T, packet, attachment []byte) {
		sid := handshake(t, srv)
		q := "/socket.io/?EIO=4&transport=polling&sid=" + sid
		body := "40\x1e4" + string(packet) + "\x1eb" + b64(attachment)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("POST", q, strings.NewReader(body)))
		switch rec.Code {
		case 200, 400:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		if s := srv.Engine().Session(sid); s != nil {
			// End the session: GETs get what is queued, then the close
			// (queued packets first, the close in the next response).
			_ = s.Close()
			for range 3 {
				srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", q, nil))
				select {
				case <-s.Done():
					return
				default:
				}
			}
			select {
			case <-s.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("session not closed")
			}
		}
	})
}

func handshake(t *testing.T, srv http.Handler) string {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling", nil))
	b, _ := io.ReadAll(rec.Body)
	var open struct{ SID string }
	if err := json.Unmarshal(bytes.TrimPrefix(b, []byte("0")), &open); err != nil {
		t.Fatalf("handshake %q: %v", b, err)
	}
	return open.SID
}

func b64(b []byte) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var sb strings.Builder
	for i := 0; i < len(b); i += 3 {
		var n uint32
		k := min(3, len(b)-i)
		for j := range k {
			n |= uint32(b[i+j]) << (16 - 8*j)
		}
		for j := range 4 {
			if j <= k {
				sb.WriteByte(enc[(n>>(18-6*j))&63])
			} else {
				sb.WriteByte('=')
			}
		}
	}
	return sb.String()
}
