package socketio_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wsio/wsio/engineio"
	"github.com/wsio/wsio/socketio"
)

// A client that never reads fills its own queue: volatile packets to it are
// dropped, and once the queue is full it is disconnected with its own
// reason, while broadcasts never wait and other clients get everything.
func TestSlowClientIsolated(t *testing.T) {
	srv := newServer(t, &socketio.Options{Engine: engineio.Options{MaxBufferedBytes: 256 << 10, MaxHTTPBufferSize: 16 << 10}})
	reasons := make(chan string, 2)
	srv.OnConnection(func(s *socketio.Socket) { s.OnDisconnect(func(r string) { reasons <- r }) })
	fast := dial(t, srv, transports["websocket"])
	fast.connect("/", nil)
	// The slow client: a polling session whose GETs stop after the CONNECT.
	slow := newRawPolling(t, srv)
	slow.post("40")
	slow.get()

	payload := strings.Repeat("x", 1000)
	start := time.Now()
	got := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for got < 600 {
			name, _, _ := fast.nextEvent()
			if name == "m" {
				got++
			}
		}
	}()
	for i := range 600 {
		if i%20 == 0 {
			time.Sleep(time.Millisecond) // a pace the fast client keeps up with
		}
		if err := srv.Volatile().Emit("v", payload); err != nil {
			t.Fatal(err)
		}
		if err := srv.Emit("m", payload); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("broadcasting took %v: a slow client held it up", d)
	}
	<-done
	if r := <-reasons; r != engineio.ReasonWriteBufferFull {
		t.Errorf("slow client's reason %q", r)
	}
}

// rawPolling is a bare polling client that reads only when told.
type rawPolling struct {
	t   *testing.T
	url string
}

func newRawPolling(t *testing.T, srv *testServer) *rawPolling {
	r := do(t, "GET", srv.url+"/socket.io/?EIO=4&transport=polling", "")
	sid := strings.Split(strings.Split(r, `"sid":"`)[1], `"`)[0]
	return &rawPolling{t: t, url: srv.url + "/socket.io/?EIO=4&transport=polling&sid=" + sid}
}

func (p *rawPolling) post(body string) { do(p.t, "POST", p.url, body) }
func (p *rawPolling) get() string      { return do(p.t, "GET", p.url, "") }
