package interop

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wsio/wsio/engineio"
	"github.com/wsio/wsio/websocket"
)

// Tests of our engineio server against the npm engine.io-client
// (node/eio-client.mjs, the Socket class), over polling only, WebSocket only
// and polling upgraded to WebSocket.

// jsMode is the client's choice of transports.
type jsMode struct {
	name       string
	transports string // the client's transports option
	upgrade    bool   // the session starts on polling and upgrades
}

var jsModes = []jsMode{
	{"polling", "polling", false},
	{"websocket", "websocket", false},
	{"upgrade", "polling,websocket", true},
}

// first is the transport the session opens on; last the one it ends on.
func (m jsMode) first() string {
	if m.transports == "websocket" {
		return engineio.TransportWebSocket
	}
	return engineio.TransportPolling
}

func (m jsMode) last() string {
	if m.transports == "polling" {
		return engineio.TransportPolling
	}
	return engineio.TransportWebSocket
}

const (
	// maxHTTPBuffer is the server's MaxHTTPBufferSize (Node's default).
	maxHTTPBuffer = 1_000_000
	// Heartbeat of the heartbeat and ping-timeout scenarios.
	jsPingInterval = 100 * time.Millisecond
	jsPingTimeout  = 100 * time.Millisecond
	// pingSlack is what a ping timeout may take beyond pingInterval +
	// pingTimeout on a loaded machine running -race.
	pingSlack = 800 * time.Millisecond
)

// jsScenario is one scenario, run in every mode.
type jsScenario struct {
	name string
	run  func(t *testing.T, ctx context.Context, m jsMode)
}

// TestEngineIOJSClient runs the scenarios that do not depend on timing in
// every mode, in parallel, each with its own server and node process.
func TestEngineIOJSClient(t *testing.T) {
	runJSScenarios(t, true, []jsScenario{
		{"echo", testJSEcho},
		{"big", testJSBig},
		{"order", testJSOrder},
		{"server-close", testJSServerClose},
		{"client-close", testJSClientClose},
		{"too-big", testJSTooBig},
	})
}

// TestEngineIOJSClientHeartbeat runs the heartbeat scenarios (100 ms ping
// interval and timeout) one at a time: on two cores, a node process
// starting next to them can stall a client for longer than that.
func TestEngineIOJSClientHeartbeat(t *testing.T) {
	runJSScenarios(t, false, []jsScenario{
		{"heartbeat", testJSHeartbeat},
		{"ping-timeout", testJSPingTimeout},
	})
}

func runJSScenarios(t *testing.T, parallel bool, scenarios []jsScenario) {
	nodeBinary(t)
	for _, m := range jsModes {
		t.Run(m.name, func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					if parallel {
						t.Parallel()
					}
					ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
					defer cancel()
					sc.run(t, ctx, m)
				})
			}
		})
	}
}

// jsRun is one scenario: our server, the node client and the session.
type jsRun struct {
	g          *goEngine
	c          *jsClient
	gs         *goEngineSession
	upgradedAt time.Time // when OnUpgrade ran, in upgrade mode
}

// startJS starts a server with opts and node/eio-client.mjs running
// scenario, and waits for the session to open on both sides and, in upgrade
// mode, for the upgrade.
func startJS(t *testing.T, ctx context.Context, m jsMode, opts *engineio.Options, scenario string, args ...string) *jsRun {
	t.Helper()
	g := startGoEngine(t, opts)
	c := startJSClient(t, ctx, g.url, append([]string{"transports=" + m.transports, "scenario=" + scenario}, args...)...)
	r := &jsRun{g: g, c: c, gs: g.session(t, ctx, c)}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if reason := r.gs.s.CloseReason(); reason != "" {
			t.Logf("server session closed: %q, %v", reason, r.gs.s.Err())
		} else {
			t.Logf("server session %s still open", r.gs.s.ID())
		}
	})
	open := c.next(t, ctx, "open")
	if open.SID != r.gs.s.ID() || open.Transport != m.first() {
		t.Fatalf("client opened %q over %q; server session %q over %q%s",
			open.SID, open.Transport, r.gs.s.ID(), m.first(), c.node.logs())
	}
	if m.upgrade {
		if up := c.next(t, ctx, "upgrade"); up.Transport != engineio.TransportWebSocket {
			t.Fatalf("client upgraded to %q", up.Transport)
		}
		r.upgradedAt = r.gs.upgradeCall(t, ctx, c)
		if tr := r.gs.s.Transport(); tr != engineio.TransportWebSocket {
			t.Fatalf("server transport after the upgrade: %q", tr)
		}
	}
	return r
}

// closed waits for the client's close event, the server's OnClose and
// node's exit, and checks both reasons: the server's must be one of
// goReasons.
func (r *jsRun) closed(t *testing.T, ctx context.Context, jsReason string, goReasons ...string) (jsEvent, goClose) {
	t.Helper()
	jc := r.c.next(t, ctx, "close")
	gc := r.gs.closeCall(t, ctx, r.c)
	if jc.Reason != jsReason {
		t.Errorf("client close reason %q (%q), want %q%s", jc.Reason, jc.Desc, jsReason, r.c.node.logs())
	}
	if !slices.Contains(goReasons, gc.reason) {
		t.Errorf("server close reason %q (err %v), want one of %q", gc.reason, gc.err, goReasons)
	}
	r.c.node.wait(t, ctx) // the client exits by itself: no request was left hanging
	t.Logf("client close: reason %q, description %q, ws code %d, http status %d; server: %q, err %v",
		jc.Reason, jc.Desc, jc.Code, jc.Status, gc.reason, gc.err)
	return jc, gc
}

// checkEchoes waits until the client has had its n messages echoed, and
// checks that the server received them unchanged, in order and over
// transport, and that each echo was byte-identical and of the same type.
func (r *jsRun) checkEchoes(t *testing.T, ctx context.Context, n int, transport string) {
	t.Helper()
	r.c.next(t, ctx, "done")
	sent, echoed, got := r.c.events("sent"), r.c.events("message"), r.gs.received()
	if len(sent) != n || len(echoed) != n || len(got) != n {
		t.Fatalf("sent %d, echoed %d, server received %d; want %d each%s", len(sent), len(echoed), len(got), n, r.c.node.logs())
	}
	for i, s := range sent {
		g, e := got[i], echoed[i]
		if g.sha256 != s.SHA256 || g.binary != s.Binary || g.length != s.Length {
			t.Errorf("message %d: client sent %s (%d bytes), server received binary=%v %d bytes %q",
				i, shortJS(s), s.Length, g.binary, g.length, g.data)
		}
		if transport != "" && g.transport != transport {
			t.Errorf("message %d arrived over %s, want %s", i, g.transport, transport)
		}
		if !e.OK || e.SHA256 != s.SHA256 || e.Binary != s.Binary {
			t.Errorf("message %d: sent %s, echo %s (same: %v)", i, shortJS(s), shortJS(e), e.OK)
		}
	}
}

func testJSEcho(t *testing.T, ctx context.Context, m jsMode) {
	r := startJS(t, ctx, m, nil, "echo")
	r.checkEchoes(t, ctx, 8, m.last())
	sent := r.c.events("sent")
	if n := len(slices.DeleteFunc(sent, func(e jsEvent) bool { return !e.Binary })); n != 3 {
		t.Errorf("%d binary messages sent, want 3", n)
	}
	r.closed(t, ctx, "forced close", engineio.ReasonTransportClose)
}

func testJSBig(t *testing.T, ctx context.Context, m jsMode) {
	// Text: "4" and the data make exactly maxHTTPBuffer bytes, on either
	// transport. Binary: raw on WebSocket; on polling "b" and base64 must
	// fit.
	text, bin := maxHTTPBuffer-1, maxHTTPBuffer
	if m.last() == engineio.TransportPolling {
		bin = (maxHTTPBuffer - 1) / 4 * 3
	}
	r := startJS(t, ctx, m, nil, "big", "text="+strconv.Itoa(text), "binary="+strconv.Itoa(bin))
	r.checkEchoes(t, ctx, 2, m.last())
	sent := r.c.events("sent")
	if sent[0].Length != text || sent[0].Binary || sent[1].Length != bin || !sent[1].Binary {
		t.Errorf("sent %+v and %+v", sent[0], sent[1])
	}
	r.closed(t, ctx, "forced close", engineio.ReasonTransportClose)
}

// orderData is what the server receives as message i of the order
// scenario (see orderItem in node/eio-client.mjs): text "m<i>", every third
// one binary, in hex.
func orderData(i int) (string, bool) {
	if i%3 == 2 {
		var b [8]byte
		binary.BigEndian.PutUint32(b[:], uint32(i))
		binary.BigEndian.PutUint32(b[4:], 0xfeedf00d)
		return hex.EncodeToString(b[:]), true
	}
	return "m" + strconv.Itoa(i), false
}

func testJSOrder(t *testing.T, ctx context.Context, m jsMode) {
	const count = 200
	r := startJS(t, ctx, m, nil, "order", "count="+strconv.Itoa(count))
	r.checkEchoes(t, ctx, count, "")
	got := r.gs.received()
	polled := 0 // messages that arrived over polling: a prefix
	for i, g := range got {
		data, bin := orderData(i)
		if g.data != data || g.binary != bin {
			t.Fatalf("message %d: server received %q (binary %v), want %q (binary %v)", i, g.data, g.binary, data, bin)
		}
		switch {
		case !m.upgrade && g.transport != m.last():
			t.Errorf("message %d arrived over %s, want %s", i, g.transport, m.last())
		case m.upgrade && g.transport == engineio.TransportPolling:
			if polled != i {
				t.Errorf("message %d arrived over polling after %d over websocket", i, i-polled)
			}
			polled++
		}
	}
	if m.upgrade {
		// The first message goes out over polling at once; the rest of the
		// first quarter follows over polling unless the probe succeeds
		// first, in which case the client holds it until the upgrade. The
		// messages sent once the probe succeeded go over WebSocket.
		if polled < 1 || polled > count/4 {
			t.Errorf("%d messages arrived over polling, want 1 to %d", polled, count/4)
		}
		t.Logf("%d messages over polling, %d over websocket", polled, count-polled)
		echoes := r.c.events("message")
		if tr := echoes[len(echoes)-1].Transport; tr != engineio.TransportWebSocket {
			t.Errorf("last echo arrived while the client was on %s", tr)
		}
		if up := r.c.events("upgrading"); len(up) != 1 {
			t.Errorf("%d upgrading events", len(up))
		}
	}
	r.closed(t, ctx, "forced close", engineio.ReasonTransportClose)
}

func testJSHeartbeat(t *testing.T, ctx context.Context, m jsMode) {
	const hold = time.Second
	opts := &engineio.Options{PingInterval: jsPingInterval, PingTimeout: jsPingTimeout}
	r := startJS(t, ctx, m, opts, "heartbeat", "hold="+strconv.Itoa(int(hold.Milliseconds())))
	p := r.c.next(t, ctx, "pings")
	// About hold/pingInterval pings; at least half of them.
	if minPings := int(hold / jsPingInterval / 2); p.N < minPings {
		t.Errorf("the client saw %d pings in %v, want at least %d", p.N, hold, minPings)
	}
	if p.Transport != m.last() {
		t.Errorf("the client ended on %s, want %s", p.Transport, m.last())
	}
	t.Logf("%d pings in %v", p.N, hold)
	// The client closes after hold: the server's OnClose must not have run
	// before (a ping timeout would have been reported with its own reason).
	// Over WebSocket, when the client's close frame arrives while the server
	// is writing a ping, the failed write may end the session first, with
	// "transport error" and an error wrapping net.ErrClosed. Node's
	// engine.io 6.6 does the same: a write that fails after the client's
	// close frame closes its socket with "transport error" ("write error").
	reasons := []string{engineio.ReasonTransportClose}
	if m.last() == engineio.TransportWebSocket {
		reasons = append(reasons, engineio.ReasonTransportError)
	}
	_, gc := r.closed(t, ctx, "forced close", reasons...)
	if gc.reason == engineio.ReasonTransportError && !errors.Is(gc.err, net.ErrClosed) {
		t.Errorf("server closed with %q, %v", gc.reason, gc.err)
	}
	if open := gc.at.Sub(r.gs.opened); open < hold {
		t.Errorf("the server closed the session after %v, before the client's %v were up", open, hold)
	}
}

func testJSPingTimeout(t *testing.T, ctx context.Context, m jsMode) {
	opts := &engineio.Options{PingInterval: jsPingInterval, PingTimeout: jsPingTimeout}
	r := startJS(t, ctx, m, opts, "ping-timeout")
	r.c.next(t, ctx, "done") // the client no longer answers pings
	from := r.gs.opened
	if m.upgrade {
		from = r.upgradedAt
	}
	jc, gc := r.closed(t, ctx, "transport close", engineio.ReasonPingTimeout)
	if !errors.Is(gc.err, engineio.ErrPingTimeout) {
		t.Errorf("server close error %v, want ErrPingTimeout", gc.err)
	}
	took := gc.at.Sub(from)
	if limit := jsPingInterval + jsPingTimeout + pingSlack; took > limit {
		t.Errorf("ping timeout after %v, want at most %v", took, limit)
	}
	// In upgrade mode a ping sent during the upgrade reaches the client
	// after it (it waits in the server's queue while the client pauses
	// polling) and goes unanswered: the timeout may come sooner.
	if !m.upgrade && took < jsPingInterval+jsPingTimeout-20*time.Millisecond {
		t.Errorf("ping timeout after %v, before pingInterval + pingTimeout", took)
	}
	t.Logf("ping timeout %v after the client stopped answering", took)
	// Over WebSocket the server drops the connection (1006); Node's server
	// closes it with a close frame without a code (1005). The client
	// reports "transport close" either way.
	code := 1006
	if jc.Code == 1005 {
		code = 1005
	}
	checkJSCloseDesc(t, m, jc, code)
}

// checkJSCloseDesc checks the description of a close the server caused:
// over polling, the close packet; over WebSocket, the connection's close
// (with code, 1006 when the server dropped the connection).
func checkJSCloseDesc(t *testing.T, m jsMode, jc jsEvent, code int) {
	t.Helper()
	if m.last() == engineio.TransportPolling {
		if jc.Desc != "transport closed by the server" {
			t.Errorf("client close description %q", jc.Desc)
		}
		return
	}
	if jc.Desc != "websocket connection closed" || jc.Code != code {
		t.Errorf("client close description %q, code %d; want code %d", jc.Desc, jc.Code, code)
	}
}

func testJSServerClose(t *testing.T, ctx context.Context, m jsMode) {
	r := startJS(t, ctx, m, nil, "server-close")
	jc, gc := r.closed(t, ctx, "transport close", engineio.ReasonForcedClose)
	if gc.err != nil {
		t.Errorf("server close error %v", gc.err)
	}
	// "bye", queued before Close, arrives before the close.
	var kinds []string
	for _, e := range r.c.events("message") {
		kinds = append(kinds, e.Data)
	}
	if !slices.Equal(kinds, []string{"bye"}) {
		t.Errorf("client received %q before closing, want [bye]", kinds)
	}
	checkJSCloseDesc(t, m, jc, 1000)
}

func testJSClientClose(t *testing.T, ctx context.Context, m jsMode) {
	r := startJS(t, ctx, m, nil, "client-close")
	r.checkEchoes(t, ctx, 1, m.last())
	_, gc := r.closed(t, ctx, "forced close", engineio.ReasonTransportClose)
	// Over polling the client sends a close packet; over WebSocket it sends
	// none and closes the connection (1005), which Session.Err reports.
	if m.last() == engineio.TransportPolling && gc.err != nil {
		t.Errorf("server close error %v", gc.err)
	}
}

func testJSTooBig(t *testing.T, ctx context.Context, m jsMode) {
	// "4" and maxHTTPBuffer bytes of text: one byte over the limit.
	r := startJS(t, ctx, m, nil, "too-big", "text="+strconv.Itoa(maxHTTPBuffer))
	r.c.next(t, ctx, "done")
	jc := r.c.next(t, ctx, "close")
	gc := r.gs.closeCall(t, ctx, r.c)
	r.c.node.wait(t, ctx)
	t.Logf("client close: reason %q, description %q, ws code %d, http status %d; server: %q, err %v",
		jc.Reason, jc.Desc, jc.Code, jc.Status, gc.reason, gc.err)
	if len(r.gs.received()) != 0 {
		t.Errorf("server delivered %d messages", len(r.gs.received()))
	}
	if gc.reason != engineio.ReasonTransportError {
		t.Errorf("server close reason %q (%v), want %q", gc.reason, gc.err, engineio.ReasonTransportError)
	}
	if m.last() == engineio.TransportPolling {
		if !errors.Is(gc.err, engineio.ErrPayloadTooLarge) {
			t.Errorf("server close error %v, want ErrPayloadTooLarge", gc.err)
		}
		// The first POST carries the message; the client may follow it
		// with its close packet, for a session that no longer exists (400).
		if posts := r.g.postStatuses(); len(posts) == 0 || posts[0] != 413 {
			t.Errorf("the server answered POSTs with %v, want 413 first", posts)
		}
		// The server answers the POST with 413 and ends the waiting GET
		// with a close packet; the client reports whichever it sees first.
		// Usually the failed POST: "xhr post error" with status 413, or 0
		// when net/http closes the connection (the unread body is over its
		// 256 KiB drain limit) before the client reads the response.
		switch {
		case jc.Reason == "transport error" && jc.Desc == "xhr post error" && (jc.Status == 413 || jc.Status == 0):
		case jc.Reason == "transport close" && jc.Desc == "transport closed by the server":
		default:
			t.Errorf("client close %q %q status %d", jc.Reason, jc.Desc, jc.Status)
		}
		return
	}
	if !errors.Is(gc.err, websocket.ErrMessageTooBig) {
		t.Errorf("server close error %v, want websocket.ErrMessageTooBig", gc.err)
	}
	if jc.Reason != "transport close" || jc.Desc != "websocket connection closed" || jc.Code != 1009 {
		t.Errorf("client close %q %q code %d, want transport close with 1009", jc.Reason, jc.Desc, jc.Code)
	}
}
