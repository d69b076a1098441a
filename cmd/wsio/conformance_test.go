package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsio/wsio/websocket"
)

// TestConformanceEngine starts "wsio conformance engine" in-process on
// 127.0.0.1:0 and runs, in Go, every scenario of the Engine.IO v4 test suite
// (socketio/engine.io-protocol, test-suite/test-suite.js) against it.
// Where the suite relies on the order in which two concurrent requests
// reach the server, the scenario waits a little between them.
func TestConformanceEngine(t *testing.T) {
	c := startConformance(t)
	for _, sc := range []struct {
		name string
		run  func(*testing.T, *suiteClient)
	}{
		{"handshake/polling/opens a session", testSuitePollingHandshake},
		{"handshake/polling/invalid EIO", func(t *testing.T, c *suiteClient) {
			c.expectStatus(t, "GET", "transport=polling", 400)
			c.expectStatus(t, "GET", "EIO=abc&transport=polling", 400)
		}},
		{"handshake/polling/invalid transport", func(t *testing.T, c *suiteClient) {
			c.expectStatus(t, "GET", "EIO=4", 400)
			c.expectStatus(t, "GET", "EIO=4&transport=abc", 400)
		}},
		{"handshake/polling/invalid method", func(t *testing.T, c *suiteClient) {
			c.expectStatus(t, "POST", "EIO=4&transport=polling", 400)
			c.expectStatus(t, "PUT", "EIO=4&transport=polling", 400)
		}},
		{"handshake/websocket/opens a session", testSuiteWSHandshake},
		{"handshake/websocket/invalid EIO", func(t *testing.T, c *suiteClient) {
			c.wsRefused(t, "transport=websocket")
			c.wsRefused(t, "EIO=abc&transport=websocket")
		}},
		{"handshake/websocket/invalid transport", func(t *testing.T, c *suiteClient) {
			c.wsRefused(t, "EIO=4")
			c.wsRefused(t, "EIO=4&transport=abc")
		}},
		{"message/polling/one text packet", func(t *testing.T, c *suiteClient) {
			testSuitePollingEcho(t, c, "4hello")
		}},
		{"message/polling/several text packets", func(t *testing.T, c *suiteClient) {
			testSuitePollingEcho(t, c, "4test1\x1e4test2\x1e4test3")
		}},
		{"message/polling/text and binary packets", func(t *testing.T, c *suiteClient) {
			testSuitePollingEcho(t, c, "4hello\x1ebAQIDBA==")
		}},
		{"message/polling/invalid packet closes the session", testSuitePollingInvalid},
		{"message/polling/duplicate poll closes the session", testSuiteDuplicatePoll},
		{"message/websocket/text packet", func(t *testing.T, c *suiteClient) {
			ws := c.openWS(t, "")
			ws.send(t, websocket.MessageText, "4hello")
			ws.expect(t, websocket.MessageText, "4hello")
		}},
		{"message/websocket/binary packet", func(t *testing.T, c *suiteClient) {
			ws := c.openWS(t, "")
			ws.send(t, websocket.MessageBinary, "\x01\x02\x03\x04")
			ws.expect(t, websocket.MessageBinary, "\x01\x02\x03\x04")
		}},
		{"message/websocket/invalid packet closes the session", func(t *testing.T, c *suiteClient) {
			ws := c.openWS(t, "")
			ws.send(t, websocket.MessageText, "abc")
			ws.expectClosed(t, time.Second)
		}},
		{"heartbeat/polling/ping and pong", testSuitePollingHeartbeat},
		{"heartbeat/polling/ping timeout", testSuitePollingPingTimeout},
		{"heartbeat/websocket/ping and pong", func(t *testing.T, c *suiteClient) {
			ws := c.openWS(t, "")
			for range 3 {
				ws.expect(t, websocket.MessageText, "2")
				ws.send(t, websocket.MessageText, "3")
			}
		}},
		{"heartbeat/websocket/ping timeout", func(t *testing.T, c *suiteClient) {
			ws := c.openWS(t, "")
			ws.expect(t, websocket.MessageText, "2") // not answered
			ws.expectClosed(t, conformancePingTimeout+time.Second)
		}},
		{"close/polling/forced close", testSuitePollingClose},
		{"close/websocket/forced close", func(t *testing.T, c *suiteClient) {
			ws := c.openWS(t, "")
			ws.send(t, websocket.MessageText, "1")
			ws.expectClosed(t, time.Second)
		}},
		{"upgrade/polling to websocket", testSuiteUpgrade},
		{"upgrade/ignores HTTP requests with same sid after upgrade", func(t *testing.T, c *suiteClient) {
			sid, ws := c.upgraded(t)
			c.expectStatus(t, "GET", "EIO=4&transport=polling&sid="+sid, 400)
			ws.send(t, websocket.MessageText, "4hello")
			ws.expect(t, websocket.MessageText, "4hello")
		}},
		{"upgrade/ignores WebSocket connection with same sid after upgrade", func(t *testing.T, c *suiteClient) {
			sid, ws := c.upgraded(t)
			c.wsRefused(t, "EIO=4&transport=websocket&sid="+sid)
			ws.send(t, websocket.MessageText, "4hello")
			ws.expect(t, websocket.MessageText, "4hello")
		}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, c)
		})
	}
}

// suiteClient talks to the conformance server.
type suiteClient struct {
	base   string // http://host:port/engine.io/
	client *http.Client
}

var listening = regexp.MustCompile(`listening on (http://\S+/engine\.io/)`)

// startConformance runs "wsio conformance engine --addr 127.0.0.1:0" and
// waits until it listens. The test's cleanup stops it and checks that it
// returned nil.
func startConformance(t *testing.T) *suiteClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"conformance", "engine", "--addr", "127.0.0.1:0"}, &syncWriter{w: &out}, io.Discard)
	}()
	tr := &http.Transport{} // no proxy; its idle connections are closed at the end
	c := &suiteClient{client: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("conformance engine returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("conformance engine did not stop")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := listening.FindStringSubmatch(readSync(&out)); m != nil {
			c.base = m[1]
			return c
		}
		select {
		case err := <-done:
			t.Fatalf("conformance engine ended: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("conformance engine did not start")
		}
	}
}

// do sends a request with the query string query and returns the status
// and the body.
func (c *suiteClient) do(t *testing.T, method, query, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.base+"?"+query, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body = http.NoBody
	}
	res, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, query, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, query, err)
	}
	return res.StatusCode, string(b)
}

func (c *suiteClient) expectStatus(t *testing.T, method, query string, want int) string {
	t.Helper()
	status, body := c.do(t, method, query, "")
	if status != want {
		t.Fatalf("%s %s: %d %q, want %d", method, query, status, body, want)
	}
	return body
}

// expect sends a request and checks its answer.
func (c *suiteClient) expect(t *testing.T, method, query, body string, status int, answer string) {
	t.Helper()
	gotStatus, got := c.do(t, method, query, body)
	if gotStatus != status || got != answer {
		t.Fatalf("%s %s %q: %d %q, want %d %q", method, query, body, gotStatus, got, status, answer)
	}
}

// handshakeData is the JSON of an open packet.
type handshakeData struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// checkOpen checks an open packet as the suite does: "0", then exactly the
// five keys with the server's settings.
func checkOpen(t *testing.T, packet string, upgrades []string) string {
	t.Helper()
	data, ok := strings.CutPrefix(packet, "0")
	if !ok {
		t.Fatalf("open packet %q", packet)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(data), &keys); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}; !slices.Equal(names, want) {
		t.Errorf("open packet keys %q, want %q", names, want)
	}
	var h handshakeData
	if err := json.Unmarshal([]byte(data), &h); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	if h.SID == "" || !slices.Equal(h.Upgrades, upgrades) || h.PingInterval != 300 || h.PingTimeout != 200 || h.MaxPayload != 1000000 {
		t.Errorf("open packet %+v, want upgrades %q, 300, 200, 1000000", h, upgrades)
	}
	return h.SID
}

// openPolling opens a polling session and returns its sid.
func (c *suiteClient) openPolling(t *testing.T) string {
	t.Helper()
	body := c.expectStatus(t, "GET", "EIO=4&transport=polling", 200)
	return checkOpen(t, body, []string{"websocket"})
}

func testSuitePollingHandshake(t *testing.T, c *suiteClient) {
	c.openPolling(t)
}

func testSuitePollingEcho(t *testing.T, c *suiteClient, payload string) {
	sid := c.openPolling(t)
	q := "EIO=4&transport=polling&sid=" + sid
	c.expect(t, "POST", q, payload, 200, "ok")
	c.expect(t, "GET", q, "", 200, payload)
}

func testSuitePollingInvalid(t *testing.T, c *suiteClient) {
	sid := c.openPolling(t)
	q := "EIO=4&transport=polling&sid=" + sid
	if status, body := c.do(t, "POST", q, "abc"); status != 400 {
		t.Errorf("POST abc: %d %q, want 400", status, body)
	}
	c.expectStatus(t, "GET", q, 400)
}

// reply is an HTTP answer from a goroutine.
type reply struct {
	status int
	body   string
	err    error
}

// goDo sends a request from a goroutine; the answer arrives on the channel.
func (c *suiteClient) goDo(method, query, body string) <-chan reply {
	ch := make(chan reply, 1)
	go func() {
		var res *http.Response
		var err error
		if method == "GET" {
			res, err = c.client.Get(c.base + "?" + query)
		} else {
			res, err = c.client.Post(c.base+"?"+query, "text/plain;charset=UTF-8", strings.NewReader(body))
		}
		if err != nil {
			ch <- reply{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		ch <- reply{res.StatusCode, string(b), err}
	}()
	return ch
}

func testSuiteDuplicatePoll(t *testing.T, c *suiteClient) {
	sid := c.openPolling(t)
	q := "EIO=4&transport=polling&sid=" + sid
	first := c.goDo("GET", q, "")
	time.Sleep(50 * time.Millisecond) // the suite waits 5 ms: let the first GET arrive
	second := c.goDo("GET", q+"&t=burst", "")
	r1, r2 := <-first, <-second
	if r1.err != nil || r1.status != 200 || r1.body != "1" {
		t.Errorf("first GET: %d %q %v, want 200 \"1\"", r1.status, r1.body, r1.err)
	}
	if r2.err != nil || (r2.status != 400 && r2.status != 500) {
		t.Errorf("second GET: %d %q %v, want 400 (or 500)", r2.status, r2.body, r2.err)
	}
	c.expectStatus(t, "GET", q, 400)
}

func testSuitePollingHeartbeat(t *testing.T, c *suiteClient) {
	sid := c.openPolling(t)
	q := "EIO=4&transport=polling&sid=" + sid
	for range 3 {
		c.expect(t, "GET", q, "", 200, "2")
		c.expect(t, "POST", q, "3", 200, "ok")
	}
}

func testSuitePollingPingTimeout(t *testing.T, c *suiteClient) {
	sid := c.openPolling(t)
	// The suite sleeps pingInterval + pingTimeout; 100 ms more keeps the GET
	// from racing the server's timer on a loaded machine.
	time.Sleep(conformancePingInterval + conformancePingTimeout + 100*time.Millisecond)
	status, body := c.do(t, "GET", "EIO=4&transport=polling&sid="+sid, "")
	if status != 400 && (status != 200 || body != "1") {
		t.Errorf("GET after the ping timeout: %d %q, want 400 (or 200 \"1\")", status, body)
	}
}

func testSuitePollingClose(t *testing.T, c *suiteClient) {
	sid := c.openPolling(t)
	q := "EIO=4&transport=polling&sid=" + sid
	poll := c.goDo("GET", q, "")
	time.Sleep(50 * time.Millisecond) // the suite sends both at once: let the GET arrive first
	push := c.goDo("POST", q, "1")
	if r := <-poll; r.err != nil || r.status != 200 || r.body != "6" {
		t.Errorf("pending GET: %d %q %v, want 200 \"6\"", r.status, r.body, r.err)
	}
	if r := <-push; r.err != nil || r.status != 200 {
		t.Errorf("POST 1: %d %q %v, want 200", r.status, r.body, r.err)
	}
	c.expectStatus(t, "GET", q, 400)
}

// suiteWS is a raw WebSocket connection to the server.
type suiteWS struct {
	c *websocket.Conn
}

func (c *suiteClient) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(c.base, "http") + "?" + query
}

func dialOptions() *websocket.DialOptions {
	return &websocket.DialOptions{Proxy: func(*http.Request) (*url.URL, error) { return nil, nil }}
}

// dialWS connects with query; the test's cleanup closes the connection.
func (c *suiteClient) dialWS(t *testing.T, query string) *suiteWS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, c.wsURL(query), dialOptions())
	if err != nil {
		t.Fatalf("dial %s: %v", query, err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &suiteWS{c: conn}
}

// openWS opens a session over WebSocket (query "") and checks its open
// packet, or connects to the session sid for an upgrade.
func (c *suiteClient) openWS(t *testing.T, sid string) *suiteWS {
	t.Helper()
	if sid != "" {
		return c.dialWS(t, "EIO=4&transport=websocket&sid="+sid)
	}
	ws := c.dialWS(t, "EIO=4&transport=websocket")
	_, open := ws.read(t, 5*time.Second)
	checkOpen(t, open, []string{})
	return ws
}

func testSuiteWSHandshake(t *testing.T, c *suiteClient) {
	c.openWS(t, "")
}

// wsRefused checks that a WebSocket connection with query opens no
// session: the handshake is refused, or the connection closes before any
// packet.
func (c *suiteClient) wsRefused(t *testing.T, query string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, res, err := websocket.Dial(ctx, c.wsURL(query), dialOptions())
	if err != nil {
		if res == nil || res.StatusCode != 400 {
			t.Errorf("%s: %v, want a refusal with 400", query, err)
		}
		return
	}
	defer conn.CloseNow()
	if typ, msg, err := conn.Read(ctx); err == nil {
		t.Errorf("%s: connection accepted, got %v %q", query, typ, msg)
	}
}

func (ws *suiteWS) send(t *testing.T, typ websocket.MessageType, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ws.c.Write(ctx, typ, []byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
}

func (ws *suiteWS) read(t *testing.T, within time.Duration) (websocket.MessageType, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	typ, msg, err := ws.c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return typ, string(msg)
}

func (ws *suiteWS) expect(t *testing.T, typ websocket.MessageType, want string) {
	t.Helper()
	if gotTyp, got := ws.read(t, 5*time.Second); gotTyp != typ || got != want {
		t.Fatalf("read %v %q, want %v %q", gotTyp, got, typ, want)
	}
}

// expectClosed reads until the server ends the connection, within the
// given time, and fails on any message in between.
func (ws *suiteWS) expectClosed(t *testing.T, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	typ, msg, err := ws.c.Read(ctx)
	switch {
	case err == nil:
		t.Fatalf("read %v %q, want the connection closed", typ, msg)
	case errors.Is(err, context.DeadlineExceeded):
		t.Fatalf("the connection was not closed within %v", within)
	}
	t.Logf("closed: %v (status %d)", err, websocket.CloseStatus(err))
}

func testSuiteUpgrade(t *testing.T, c *suiteClient) {
	sid := c.openPolling(t)
	ws := c.openWS(t, sid)
	ws.send(t, websocket.MessageText, "2probe")
	ws.expect(t, websocket.MessageText, "3probe")
	// The GET is released with a noop so that the client can pause polling.
	c.expect(t, "GET", "EIO=4&transport=polling&sid="+sid, "", 200, "6")
	ws.send(t, websocket.MessageText, "5")
	ws.send(t, websocket.MessageText, "4hello")
	ws.expect(t, websocket.MessageText, "4hello")
}

// upgraded opens a polling session and upgrades it. The suite sends
// "2probe" and "5" and goes on at once; here the echo of a message sent
// after "5" shows that the server has completed the upgrade.
func (c *suiteClient) upgraded(t *testing.T) (string, *suiteWS) {
	t.Helper()
	sid := c.openPolling(t)
	ws := c.openWS(t, sid)
	ws.send(t, websocket.MessageText, "2probe")
	ws.expect(t, websocket.MessageText, "3probe")
	ws.send(t, websocket.MessageText, "5")
	ws.send(t, websocket.MessageText, "4upgraded")
	ws.expect(t, websocket.MessageText, "4upgraded")
	return sid, ws
}

func TestConformanceFlags(t *testing.T) {
	cfg, err := parseConformance([]string{"engine"}, io.Discard)
	if err != nil || cfg.addr != "127.0.0.1:3000" || cfg.suite != "engine" {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
	cfg, err = parseConformance([]string{"engine", "--addr", "127.0.0.1:4000"}, io.Discard)
	if err != nil || cfg.addr != "127.0.0.1:4000" {
		t.Fatalf("--addr: %+v %v", cfg, err)
	}
	for _, args := range [][]string{nil, {"nosuch"}, {"--addr", "x"}, {"engine", "extra"}, {"engine", "--nope"}} {
		if _, err := parseConformance(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if _, err := parseConformance([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	if err := run(context.Background(), []string{"conformance"}, io.Discard, io.Discard); err == nil {
		t.Error("conformance without a suite accepted")
	}
}
