package engineio

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wsio/wsio/websocket"
)

func TestCORS(t *testing.T) {
	st := newTestServer(t, &Options{CORS: &CORSOptions{
		Origins:        []string{"https://app.example"},
		AllowOrigin:    func(o string) bool { return o == "https://other.example" },
		Credentials:    true,
		ExposedHeaders: []string{"X-Id"},
		MaxAge:         time.Hour,
	}}, nil)
	pre := do(t, "OPTIONS", st.base+"?EIO=4&transport=polling", "",
		"Origin", "https://app.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type")
	h := pre.header
	if pre.status != 204 || h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		h.Get("Access-Control-Allow-Credentials") != "true" ||
		h.Get("Access-Control-Allow-Methods") != "GET,HEAD,PUT,PATCH,POST,DELETE" ||
		h.Get("Access-Control-Allow-Headers") != "content-type" || h.Get("Access-Control-Max-Age") != "3600" {
		t.Errorf("preflight: %d %v", pre.status, h)
	}
	r := st.get(t, "EIO=4&transport=polling", "Origin", "https://other.example")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://other.example" ||
		r.header.Get("Access-Control-Expose-Headers") != "X-Id" {
		t.Errorf("allowed by func: %d %v", r.status, r.header)
	}
	r = st.get(t, "EIO=4&transport=polling", "Origin", "https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("disallowed origin got %q", r.header.Get("Access-Control-Allow-Origin"))
	}
	// Any origin.
	st2 := newTestServer(t, &Options{CORS: &CORSOptions{}}, nil)
	r = st2.get(t, "EIO=4&transport=polling", "Origin", "https://x.example")
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("any origin: %v", r.header)
	}
}

func TestShutdown(t *testing.T) {
	sessions := make(chan *Session, 2)
	st := newTestServer(t, nil, func(s *Session) { sessions <- s })
	sid, q := st.open(t)
	<-sessions
	pending := make(chan response, 1)
	go func() { pending <- do(t, "GET", st.base+"?"+q, "") }()
	waitFor(t, func() bool { return st.Session(sid).pollParked() })
	c := st.dial(t, "EIO=4&transport=websocket")
	_, m := readWS(t, c)
	wsSID := parseOpen(t, m).SID
	<-sessions
	errs := make(chan error, 1)
	go func() { errs <- readWSErr(t, c) }()

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := st.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-pending; r.body != "1" {
		t.Errorf("waiting GET got %q", r.body)
	}
	var ce *websocket.CloseError
	if err := <-errs; !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
		t.Errorf("WebSocket close %v", err)
	}
	for _, id := range []string{sid, wsSID} {
		if reason := st.waitClosed(t, id); reason != ReasonServerShutdown {
			t.Errorf("%s: reason %q", id, reason)
		}
	}
	if st.Count() != 0 {
		t.Errorf("%d sessions left", st.Count())
	}
	if r := st.get(t, "EIO=4&transport=polling"); r.status != 400 {
		t.Errorf("handshake after shutdown: %d", r.status)
	}
}
