package eioclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scriptedPolls is an http.RoundTripper that answers the polling GETs
// with a script of bodies, then holds the next GET until it is cancelled.
// POSTs get "ok". Nothing touches the network.
type scriptedPolls struct {
	mu     sync.Mutex
	bodies [][]byte
	polled chan struct{} // signalled when a GET goes past the script
}

func (s *scriptedPolls) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	if r.Method == http.MethodPost {
		return response(r, []byte("ok")), nil
	}
	s.mu.Lock()
	var body []byte
	more := len(s.bodies) > 0
	if more {
		body, s.bodies = s.bodies[0], s.bodies[1:]
	}
	s.mu.Unlock()
	if more {
		return response(r, body), nil
	}
	select {
	case s.polled <- struct{}{}:
	default:
	}
	<-r.Context().Done()
	return nil, r.Context().Err()
}

func response(r *http.Request, body []byte) *http.Response {
	return &http.Response{
		StatusCode: http.StatusOK,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"text/plain; charset=UTF-8"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}
}

var knownReasons = []string{ReasonForcedClose, ReasonTransportClose, ReasonTransportError, ReasonPingTimeout, ReasonParseError}

// FuzzClientRead drives the client's polling read path with arbitrary
// server data: handshake is the body of the handshake GET, poll the body of
// the next GET. Dial either fails with ErrHandshake or the client runs;
// either way nothing panics, OnClose runs exactly once with a known
// reason, and no goroutine is left behind.
func FuzzClientRead(f *testing.F) {
	open := []byte(`0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	f.Add(open, []byte("4hello\x1ebAQID\x1e2\x1e6"))
	f.Add(append(slices.Clone(open), "\x1e4early"...), []byte("1"))
	f.Add(open, []byte("4\x1e9"))
	f.Add([]byte(`0{"sid":"x","pingInterval":1,"pingTimeout":1}`), []byte("2"))
	f.Add([]byte("0{}"), []byte(""))
	f.Fuzz(func(t *testing.T, handshake, poll []byte) {
		rt := &scriptedPolls{bodies: [][]byte{handshake, poll}, polled: make(chan struct{}, 1)}
		var closes atomic.Int32
		var reason atomic.Value
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := Dial(ctx, "http://fuzz.invalid", &Options{
			Transports: []string{TransportPolling},
			HTTPClient: &http.Client{Transport: rt},
			ReadLimit:  1 << 16,
			OnMessage:  func([]byte, bool) {},
			OnClose: func(r string, _ error) {
				closes.Add(1)
				reason.Store(r)
			},
		})
		if err != nil {
			if !errors.Is(err, ErrHandshake) {
				t.Fatalf("Dial: %v, not ErrHandshake", err)
			}
			return
		}
		select {
		case <-rt.polled:
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the client neither polled again nor closed")
		}
		start := time.Now()
		_ = c.Close()
		if d := time.Since(start); d > closeTimeout/2 {
			t.Fatalf("Close took %v", d)
		}
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the client did not end")
		}
		if n := closes.Load(); n != 1 {
			t.Fatalf("OnClose ran %d times", n)
		}
		if r, _ := reason.Load().(string); !slices.Contains(knownReasons, r) {
			t.Fatalf("unknown close reason %q", r)
		}
		if ce, ok := c.Err().(*CloseError); !ok || !errors.Is(ce, ErrClosed) {
			t.Fatalf("Err() = %v", c.Err())
		}
	})
}
