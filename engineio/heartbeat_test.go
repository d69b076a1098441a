package engineio

import (
	"testing"
	"time"

	"github.com/wsio/wsio/websocket"
)

func TestHeartbeatPolling(t *testing.T) {
	st := newTestServer(t, fastHeartbeat(), nil)
	sid, q := st.open(t)
	for i := range 3 {
		if r := st.get(t, q); r.status != 200 || r.body != "2" {
			t.Fatalf("ping %d: %d %q", i, r.status, r.body)
		}
		if r := st.post(t, q, "3"); r.status != 200 {
			t.Fatalf("pong %d: %d", i, r.status)
		}
	}
	if st.Session(sid) == nil {
		t.Fatal("session closed although every ping was answered")
	}
}

func TestPingTimeoutPolling(t *testing.T) {
	st := newTestServer(t, fastHeartbeat(), nil)
	start := time.Now()
	sid, q := st.open(t)
	if reason := st.waitClosed(t, sid); reason != ReasonPingTimeout {
		t.Errorf("reason %q", reason)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("closed after %v, before pingInterval+pingTimeout", d)
	}
	if r := st.get(t, q); r.status != 400 {
		t.Errorf("GET after timeout: %d", r.status)
	}
}

func TestHeartbeatWebSocket(t *testing.T) {
	st := newTestServer(t, fastHeartbeat(), nil)
	c := st.dial(t, "EIO=4&transport=websocket")
	_, m := readWS(t, c)
	sid := parseOpen(t, m).SID
	for i := range 3 {
		if _, m := readWS(t, c); m != "2" {
			t.Fatalf("ping %d: %q", i, m)
		}
		writeWS(t, c, websocket.MessageText, "3")
	}
	if st.Session(sid) == nil {
		t.Fatal("session closed although every ping was answered")
	}
}

func TestPingTimeoutWebSocket(t *testing.T) {
	st := newTestServer(t, fastHeartbeat(), nil)
	c := st.dial(t, "EIO=4&transport=websocket")
	_, m := readWS(t, c)
	sid := parseOpen(t, m).SID
	readWSErr(t, c) // the ping, then the connection ends
	if reason := st.waitClosed(t, sid); reason != ReasonPingTimeout {
		t.Errorf("reason %q", reason)
	}
}

// Other traffic while a pong is due extends the deadline once, as in Node.
func TestPingTimeoutExtendedOnceByTraffic(t *testing.T) {
	st := newTestServer(t, &Options{PingInterval: 30 * time.Millisecond, PingTimeout: 100 * time.Millisecond}, nil)
	c := st.dial(t, "EIO=4&transport=websocket")
	_, m := readWS(t, c)
	sid := parseOpen(t, m).SID
	readWS(t, c) // ping
	pinged := time.Now()
	time.Sleep(70 * time.Millisecond)
	writeWS(t, c, websocket.MessageText, "4keep")
	if reason := st.waitClosed(t, sid); reason != ReasonPingTimeout {
		t.Errorf("reason %q", reason)
	}
	if d := time.Since(pinged); d < 160*time.Millisecond {
		t.Errorf("closed %v after the ping: the deadline was not extended", d)
	}
}

// A ping from the client is a protocol violation in v4.
func TestClientPingRefused(t *testing.T) {
	st := newTestServer(t, nil, nil)
	c := st.dial(t, "EIO=4&transport=websocket")
	_, m := readWS(t, c)
	sid := parseOpen(t, m).SID
	writeWS(t, c, websocket.MessageText, "2")
	if reason := st.waitClosed(t, sid); reason != ReasonTransportError {
		t.Errorf("reason %q", reason)
	}
}
