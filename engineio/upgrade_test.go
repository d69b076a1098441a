package engineio

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsio/wsio/websocket"
)

func TestUpgrade(t *testing.T) {
	upgraded := make(chan string, 1)
	st := newTestServer(t, nil, func(s *Session) {
		s.OnUpgrade(func(tr string) { upgraded <- tr })
		s.OnMessage(func(d []byte, b bool) { _ = s.Send(append([]byte(nil), d...), b) })
	})
	sid, q := st.open(t)
	c := st.dial(t, "EIO=4&transport=websocket&sid="+sid)
	writeWS(t, c, websocket.MessageText, "2probe")
	if _, m := readWS(t, c); m != "3probe" {
		t.Fatalf("probe answer %q", m)
	}
	if r := st.get(t, q); r.status != 200 || r.body != "6" {
		t.Fatalf("GET during upgrade: %d %q", r.status, r.body)
	}
	writeWS(t, c, websocket.MessageText, "5")
	writeWS(t, c, websocket.MessageText, "4hello")
	if _, m := readWS(t, c); m != "4hello" {
		t.Fatalf("echo after upgrade %q", m)
	}
	if tr := <-upgraded; tr != TransportWebSocket || st.Session(sid).Transport() != TransportWebSocket {
		t.Errorf("transport %q", tr)
	}
	// Polling requests and a second WebSocket with the same sid are refused.
	if r := st.get(t, q); r.status != 400 {
		t.Errorf("GET after upgrade: %d", r.status)
	}
	if _, res, err := websocket.Dial(t.Context(), st.wsURL("EIO=4&transport=websocket&sid="+sid), nil); err == nil || res == nil || res.StatusCode != 400 {
		t.Errorf("second WebSocket: %v", err)
	}
	writeWS(t, c, websocket.MessageText, "4still")
	if _, m := readWS(t, c); m != "4still" {
		t.Errorf("echo %q", m)
	}
}

// A GET waiting when the probe arrives is released with a noop.
func TestUpgradeReleasesWaitingGET(t *testing.T) {
	st := newTestServer(t, nil, nil)
	sid, q := st.open(t)
	pending := make(chan response, 1)
	go func() { pending <- do(t, "GET", st.base+"?"+q, "") }()
	waitFor(t, func() bool { return st.Session(sid).pollParked() })
	c := st.dial(t, "EIO=4&transport=websocket&sid="+sid)
	writeWS(t, c, websocket.MessageText, "2probe")
	readWS(t, c)
	if r := <-pending; r.body != "6" {
		t.Errorf("waiting GET got %q", r.body)
	}
}

// Messages the server sends while a client upgrades arrive exactly once and
// in order, split between the last polling responses and the WebSocket.
func TestUpgradeLosesNothing(t *testing.T) {
	const n = 300
	sessions := make(chan *Session, 1)
	st := newTestServer(t, nil, func(s *Session) { sessions <- s })
	sid, q := st.open(t)
	s := <-sessions
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range n {
			if err := s.Send([]byte(strconv.Itoa(i)), false); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			if i%20 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	var got []string
	collect := func(body string) {
		for p := range strings.SplitSeq(body, "\x1e") {
			if strings.HasPrefix(p, "4") {
				got = append(got, p[1:])
			}
		}
	}
	collect(st.get(t, q).body)
	c := st.dial(t, "EIO=4&transport=websocket&sid="+sid)
	writeWS(t, c, websocket.MessageText, "2probe")
	if _, m := readWS(t, c); m != "3probe" {
		t.Fatalf("probe answer %q", m)
	}
	// As the JS client: finish the poll under way, then send the upgrade.
	for range 1000 {
		r := st.get(t, q)
		collect(r.body)
		if strings.HasSuffix(r.body, "6") {
			break
		}
	}
	writeWS(t, c, websocket.MessageText, "5")
	<-sent
	deadline := time.Now().Add(testTimeout)
	for len(got) < n && time.Now().Before(deadline) {
		_, m := readWS(t, c)
		collect(m)
	}
	for i, v := range got {
		if v != strconv.Itoa(i) {
			t.Fatalf("message %d is %q (got %d messages)", i, v, len(got))
		}
	}
	if len(got) != n {
		t.Fatalf("got %d messages, want %d", len(got), n)
	}
}

// An upgrade not completed within UpgradeTimeout is abandoned; the session
// goes on over polling.
func TestUpgradeTimeout(t *testing.T) {
	st := newTestServer(t, &Options{UpgradeTimeout: 100 * time.Millisecond}, nil)
	sid, q := st.open(t)
	c := st.dial(t, "EIO=4&transport=websocket&sid="+sid)
	writeWS(t, c, websocket.MessageText, "2probe")
	readWS(t, c)
	readWSErr(t, c)
	if s := st.Session(sid); s == nil || s.Transport() != TransportPolling {
		t.Fatalf("session after a failed upgrade: %v", s)
	}
	st.post(t, q, "4poll")
	if r := st.get(t, q); r.body != "4poll" {
		t.Errorf("polling after a failed upgrade: %q", r.body)
	}
	// And a new upgrade may be tried.
	c2 := st.dial(t, "EIO=4&transport=websocket&sid="+sid)
	writeWS(t, c2, websocket.MessageText, "2probe")
	if _, m := readWS(t, c2); m != "3probe" {
		t.Errorf("second probe %q", m)
	}
}

// Anything but the probe and the upgrade packet on the probed connection
// abandons the upgrade.
func TestUpgradeBadProbe(t *testing.T) {
	for _, first := range []string{"4hello", "2other", "zz"} {
		t.Run(first, func(t *testing.T) {
			st := newTestServer(t, nil, nil)
			sid, q := st.open(t)
			c := st.dial(t, "EIO=4&transport=websocket&sid="+sid)
			writeWS(t, c, websocket.MessageText, first)
			readWSErr(t, c)
			st.post(t, q, "4ok")
			if r := st.get(t, q); r.body != "4ok" {
				t.Errorf("polling after a bad probe: %q", r.body)
			}
		})
	}
}

func TestUpgradeRefused(t *testing.T) {
	st := newTestServer(t, &Options{DisallowUpgrades: true}, nil)
	sid, _ := st.open(t)
	_, res, err := websocket.Dial(t.Context(), st.wsURL("EIO=4&transport=websocket&sid="+sid), nil)
	if err == nil || res == nil || res.StatusCode != 400 {
		t.Errorf("upgrade with DisallowUpgrades: %v", err)
	}
	// A WebSocket session cannot "upgrade" to polling.
	st2 := newTestServer(t, nil, nil)
	c := st2.dial(t, "EIO=4&transport=websocket")
	_, m := readWS(t, c)
	q := fmt.Sprintf("EIO=4&transport=polling&sid=%s", parseOpen(t, m).SID)
	if r := st2.get(t, q); r.status != 400 {
		t.Errorf("polling on a WebSocket session: %d", r.status)
	}
}
