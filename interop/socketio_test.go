package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
)

// Tests of our socketio server against the npm socket.io-client
// (node/sio-client.mjs), over polling only, WebSocket only and the client's
// default (polling, then the upgrade to WebSocket).

// sioMode is the client's choice of transports.
type sioMode struct {
	name       string
	transports string // the transports argument of sio-client.mjs
}

var sioModes = []sioMode{
	{"polling", "polling"},
	{"websocket", "websocket"},
	{"default", "default"},
}

// transport is the transport the client's scenario runs on: in default
// mode the script waits for the upgrade first.
func (m sioMode) transport() string {
	if m.transports == "polling" {
		return "polling"
	}
	return "websocket"
}

// sioEvent is one JSON line of node/sio-client.mjs.
type sioEvent struct {
	Event     string          `json:"event"`
	Client    string          `json:"client"`
	ID        string          `json:"id"`
	Transport string          `json:"transport"`
	Message   string          `json:"message"`
	Reason    string          `json:"reason"`
	Desc      string          `json:"desc"`
	Data      json.RawMessage `json:"data"`
	N         int             `json:"n"`
	Label     string          `json:"label"`
	Kind      string          `json:"kind"`
	Recovered bool            `json:"recovered"`
	Active    bool            `json:"active"`
	Connected bool            `json:"connected"`
	IsBuffer  bool            `json:"isBuffer"`
	Length    int             `json:"length"`
	SHA256    string          `json:"sha256"`
	Top       string          `json:"top"`
	Note      string          `json:"note"`
	Small     string          `json:"small"`
	Managers  int             `json:"managers"`
}

// sioClient is a running node/sio-client.mjs.
type sioClient struct {
	node  *nodePeer
	taken map[string]int
}

// sioScenarioTimeout bounds each scenario.
const sioScenarioTimeout = 20 * time.Second

func startSIOClient(t *testing.T, ctx context.Context, url string, m sioMode, scenario string) *sioClient {
	t.Helper()
	if _, err := os.Stat(filepath.Join("node_modules", "socket.io-client", "package.json")); err != nil {
		missingPeer(t, "interop/node_modules/socket.io-client is missing: run npm ci in interop")
	}
	p := startNode(t, ctx, "sio-client.mjs", "url="+url, "transports="+m.transports, "scenario="+scenario)
	return &sioClient{node: p, taken: map[string]int{}}
}

// next returns the next event of kind that no earlier call returned,
// waiting for it while node runs. A "fail" line ends the test at once.
func (c *sioClient) next(t *testing.T, ctx context.Context, kind string) sioEvent {
	t.Helper()
	for {
		lines, more := c.node.stdout.snapshot()
		seen := 0
		for _, line := range lines {
			var e sioEvent
			if json.Unmarshal([]byte(line), &e) != nil {
				continue
			}
			if e.Event == "fail" {
				t.Fatalf("node scenario failed: %s%s", e.Message, c.node.logs())
			}
			if e.Event != kind {
				continue
			}
			if seen == c.taken[kind] {
				c.taken[kind]++
				return e
			}
			seen++
		}
		c.node.await(t, ctx, more, "a "+kind+" event")
	}
}

// events returns every event printed so far whose kind is one of kinds.
func (c *sioClient) events(kinds ...string) []sioEvent {
	lines, _ := c.node.stdout.snapshot()
	var out []sioEvent
	for _, line := range lines {
		var e sioEvent
		if json.Unmarshal([]byte(line), &e) == nil && slices.Contains(kinds, e.Event) {
			out = append(out, e)
		}
	}
	return out
}

// done waits for the scenario's end and node's exit.
func (c *sioClient) done(t *testing.T, ctx context.Context) {
	t.Helper()
	c.next(t, ctx, "done")
	c.node.wait(t, ctx)
}

// goSIO is our socketio server on an httptest server, at /socket.io/.
type goSIO struct {
	srv  *socketio.Server
	url  string
	once sync.Once
	err  error
}

// startGoSIO starts a server with opts. The test's cleanup shuts it down,
// then closes the HTTP server.
func startGoSIO(t *testing.T, opts *socketio.Options, routes ...func(*http.ServeMux)) *goSIO {
	t.Helper()
	g := &goSIO{srv: socketio.NewServer(opts)}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", g.srv)
	for _, add := range routes {
		add(mux)
	}
	hs := httptest.NewServer(mux)
	g.url = hs.URL
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		if err := g.shutdown(); err != nil {
			t.Errorf("socketio Shutdown: %v", err)
		}
	})
	return g
}

// shutdown shuts the server down once.
func (g *goSIO) shutdown() error {
	g.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.err = g.srv.Shutdown(ctx)
	})
	return g.err
}

// receive waits for a value on ch.
func receive[T any](t *testing.T, ctx context.Context, c *sioClient, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("waiting for %s: %v%s", what, ctx.Err(), c.node.logs())
	}
	var zero T
	return zero
}

// jsonEqual reports whether raw is the JSON encoding of want, up to
// formatting.
func jsonEqual(t *testing.T, what string, raw json.RawMessage, want any) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Errorf("%s: %v in %s", what, err, raw)
		return
	}
	b, _ := json.Marshal(want)
	_ = json.Unmarshal(b, &exp)
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("%s: got %s, want %s", what, raw, b)
	}
}

// checkTransport checks the transport a client reported on connect.
func checkTransport(t *testing.T, m sioMode, e sioEvent) {
	t.Helper()
	if e.Transport != m.transport() {
		t.Errorf("client %q connected over %q, want %q", e.Client, e.Transport, m.transport())
	}
}

// pattern returns n bytes start, start+1... (mod 256), as bytes() of
// sio-client.mjs.
func pattern(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

type sioScenario struct {
	name string
	run  func(t *testing.T, ctx context.Context, m sioMode)
}

// TestSocketIOJSClient runs every scenario in every mode, in parallel, each
// with its own server and node process.
func TestSocketIOJSClient(t *testing.T) {
	nodeBinary(t)
	scenarios := []sioScenario{
		{"auth", testSIOAuth},
		{"ack", testSIOAck},
		{"binary", testSIOBinary},
		{"namespaces", testSIONamespaces},
		{"rooms", testSIORooms},
		{"volatile", testSIOVolatile},
		{"server-disconnect", testSIOServerDisconnect},
		{"server-disconnect-close", testSIOServerDisconnectClose},
		{"client-disconnect", testSIOClientDisconnect},
		{"shutdown", testSIOShutdown},
		{"recovery", testSIORecovery},
	}
	for _, m := range sioModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					ctx, cancel := context.WithTimeout(t.Context(), sioScenarioTimeout)
					defer cancel()
					sc.run(t, ctx, m)
				})
			}
		})
	}
}

func testSIOAuth(t *testing.T, ctx context.Context, m sioMode) {
	g := startGoSIO(t, nil)
	g.srv.Use(func(s *socketio.Socket) error {
		if tok, _ := s.Handshake().Auth["token"].(string); tok != "secret" {
			return &socketio.ConnectError{Message: "bad token", Data: map[string]any{"code": 4001, "got": tok}}
		}
		return nil
	})
	g.srv.OnConnection(func(s *socketio.Socket) {
		s.On("whoami", func(ack socketio.Ack) {
			_ = ack(map[string]any{"token": s.Handshake().Auth["token"], "id": s.ID()})
		})
	})
	c := startSIOClient(t, ctx, g.url, m, "auth")
	ce := c.next(t, ctx, "connect_error")
	if ce.Message != "bad token" {
		t.Errorf("connect_error message %q, want %q", ce.Message, "bad token")
	}
	jsonEqual(t, "connect_error data", ce.Data, map[string]any{"code": 4001, "got": "wrong"})
	if ce.Active {
		t.Errorf("socket.active after a middleware refusal: true, want false")
	}
	conn := c.next(t, ctx, "connect")
	checkTransport(t, m, conn)
	jsonEqual(t, "whoami", c.next(t, ctx, "whoami").Data, map[string]any{"token": "secret", "id": conn.ID})
	c.done(t, ctx)
}

func testSIOAck(t *testing.T, ctx context.Context, m sioMode) {
	g := startGoSIO(t, nil)
	type asked struct {
		n     int
		label string
		err   error
	}
	askedCh := make(chan asked, 1)
	noanswer := make(chan int, 1)
	g.srv.OnConnection(func(s *socketio.Socket) {
		s.On("c2s", func(v map[string]any, tag string, ack socketio.Ack) {
			_ = ack(map[string]any{"echo": v, "tag": tag, "transport": s.Transport()}, "second")
		})
		s.On("noanswer", func(n int, ack socketio.Ack) { noanswer <- n })
		s.On("ask-me", func(ack socketio.Ack) {
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			var a asked
			args, err := s.EmitWithAck(actx, "s2c", 21, "lbl")
			a.err = err
			if err == nil {
				if args.Len() != 2 {
					a.err = fmt.Errorf("answer has %d arguments", args.Len())
				}
				_ = args.Decode(0, &a.n)
				_ = args.Decode(1, &a.label)
			}
			askedCh <- a
			errText := ""
			if err != nil {
				errText = err.Error()
			}
			_ = ack(map[string]any{"n": a.n, "label": a.label, "err": errText})
		})
	})
	c := startSIOClient(t, ctx, g.url, m, "ack")
	checkTransport(t, m, c.next(t, ctx, "connect"))
	tr := m.transport()
	cb := c.next(t, ctx, "ack")
	jsonEqual(t, "callback ack", cb.Data, []any{map[string]any{"echo": map[string]any{"n": 1, "s": "héllo"}, "tag": "x", "transport": tr}, "second"})
	wa := c.next(t, ctx, "ack")
	jsonEqual(t, "emitWithAck ack", wa.Data, map[string]any{"echo": map[string]any{"n": 2, "s": "two"}, "tag": "y", "transport": tr})
	if n := receive(t, ctx, c, noanswer, "the noanswer event"); n != 1 {
		t.Errorf("noanswer argument %d", n)
	}
	if e := c.next(t, ctx, "noanswer"); e.Message != "operation has timed out" {
		t.Errorf("unanswered emitWithAck: %q, want a timeout", e.Message)
	}
	s2c := c.next(t, ctx, "s2c")
	if s2c.N != 21 || s2c.Label != "lbl" || s2c.Transport != tr {
		t.Errorf("client's s2c handler got %d %q over %q", s2c.N, s2c.Label, s2c.Transport)
	}
	a := receive(t, ctx, c, askedCh, "EmitWithAck's answer")
	if a.err != nil || a.n != 42 || a.label != "lbl!" {
		t.Errorf("EmitWithAck: %d %q %v; want 42 \"lbl!\"", a.n, a.label, a.err)
	}
	jsonEqual(t, "server-got", c.next(t, ctx, "server-got").Data, map[string]any{"n": 42, "label": "lbl!", "err": ""})
	c.done(t, ctx)
}

func testSIOBinary(t *testing.T, ctx context.Context, m sioMode) {
	g := startGoSIO(t, nil)
	// binIn is the first argument decoded into Go types.
	type binIn struct {
		A struct {
			B struct {
				Big []byte `json:"big"`
			} `json:"b"`
		} `json:"a"`
	}
	got := make(chan string, 1) // "" when all is well, else what differs
	toClient := pattern(300, 3)
	g.srv.OnConnection(func(s *socketio.Socket) {
		s.On("bin", func(args sioparser.Args, ack socketio.Ack) {
			var bad string
			var in binIn
			var whole any // the same argument decoded into any
			var small []byte
			if err := errors.Join(args.Decode(0, &in), args.Decode(0, &whole), args.Decode(1, &small)); err != nil {
				bad += err.Error() + "; "
			}
			list, _ := whole.(map[string]any)["a"].(map[string]any)["b"].(map[string]any)["list"].([]any)
			if !bytes.Equal(in.A.B.Big, pattern(70000, 7)) {
				bad += "big differs; "
			}
			wantSmall := []byte{0, 1, 2, 0xfe, 0xff}
			if !bytes.Equal(small, wantSmall) {
				bad += "second argument differs; "
			}
			if len(list) != 2 {
				bad += "list length; "
			} else if obj, ok := list[1].(map[string]any); !ok {
				bad += "list[1] is not an object; "
			} else if b, ok := obj["small"].([]byte); !ok || !bytes.Equal(b, wantSmall) {
				bad += "list[1].small differs; "
			}
			got <- bad
			_ = s.Emit("bin", map[string]any{
				"top":  []byte{0xde, 0xad},
				"deep": map[string]any{"deeper": []any{"label", map[string]any{"payload": toClient}}},
			})
			_ = ack(map[string]any{"x": map[string]any{"y": []any{map[string]any{"z": in.A.B.Big}}}, "note": "ok"})
		})
	})
	c := startSIOClient(t, ctx, g.url, m, "binary")
	checkTransport(t, m, c.next(t, ctx, "connect"))
	sent := c.next(t, ctx, "sent")
	if bad := receive(t, ctx, c, got, "the bin event"); bad != "" {
		t.Errorf("server received: %s", bad)
	}
	bin := c.next(t, ctx, "bin")
	if !bin.IsBuffer || bin.Length != len(toClient) || bin.SHA256 != sha256Hex(toClient) || bin.Label != "label" || bin.Top != "dead" {
		t.Errorf("client received bin: buffer %v, %d bytes, sha %s, label %q, top %q", bin.IsBuffer, bin.Length, bin.SHA256, bin.Label, bin.Top)
	}
	ack := c.next(t, ctx, "ack")
	if !ack.IsBuffer || ack.Length != 70000 || ack.SHA256 != sent.SHA256 || ack.Note != "ok" {
		t.Errorf("client's ack: buffer %v, %d bytes, sha %s (sent %s), note %q", ack.IsBuffer, ack.Length, ack.SHA256, sent.SHA256, ack.Note)
	}
	c.done(t, ctx)
}

func testSIONamespaces(t *testing.T, ctx context.Context, m sioMode) {
	g := startGoSIO(t, nil)
	where := func(s *socketio.Socket) {
		s.On("where", func(ack socketio.Ack) { _ = ack(map[string]any{"ns": s.Namespace().Name(), "id": s.ID()}) })
	}
	g.srv.OnConnection(where)
	g.srv.Of("/admin").OnConnection(where)
	parent := g.srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	parent.OnConnection(where)
	c := startSIOClient(t, ctx, g.url, m, "namespaces")
	ids := map[string]string{}
	for range 3 {
		e := c.next(t, ctx, "connect")
		checkTransport(t, m, e)
		ids[e.Client] = e.ID
	}
	if eng := c.next(t, ctx, "engines"); eng.N != 1 || eng.Managers != 1 {
		t.Errorf("the namespaces used %d engine connections and %d managers, want 1", eng.N, eng.Managers)
	}
	for range 3 {
		e := c.next(t, ctx, "where")
		jsonEqual(t, "where "+e.Client, e.Data, map[string]any{"ns": e.Client, "id": ids[e.Client]})
	}
	ce := c.next(t, ctx, "connect_error")
	if ce.Message != "Invalid namespace" {
		t.Errorf("connect_error for /dyn-x: %q, want %q", ce.Message, "Invalid namespace")
	}
	again := c.next(t, ctx, "where")
	jsonEqual(t, "where after the refusal", again.Data, map[string]any{"ns": "/dyn-42", "id": ids["/dyn-42"]})
	if !again.Connected {
		t.Errorf("a refused namespace disconnected the others")
	}
	var names []string
	for _, n := range parent.Children() {
		names = append(names, n.Name())
	}
	if !slices.Equal(names, []string{"/dyn-42"}) {
		t.Errorf("dynamic children %q, want [/dyn-42]", names)
	}
	c.done(t, ctx)
}

func testSIORooms(t *testing.T, ctx context.Context, m sioMode) {
	g := startGoSIO(t, nil)
	srv := g.srv
	fanout := make(chan error, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(rooms []string, ack socketio.Ack) {
			s.Join(rooms...)
			_ = ack(s.Rooms())
		})
		s.On("fanout", func(ack socketio.Ack) {
			var other string
			for _, o := range srv.Sockets().Sockets() {
				if o.ID() != s.ID() {
					other = o.ID()
				}
			}
			fanout <- errors.Join(
				srv.To("room1").Emit("ev", "1 srv.To(room1)"),
				srv.To("room1").Except("vip").Emit("ev", "2 srv.To(room1).Except(vip)"),
				s.To("room1").Emit("ev", "3 s.To(room1)"),
				s.Broadcast().Emit("ev", "4 s.Broadcast()"),
				s.Except("vip").Emit("ev", "5 s.Except(vip)"),
				srv.Except("room1").Emit("ev", "6 srv.Except(room1)"),
				srv.To("vip").Emit("ev", "7 srv.To(vip)"),
				srv.To("room1", "vip").Emit("ev", "8 srv.To(room1, vip)"),
				srv.To(other).Emit("ev", "9 srv.To(b's id)"),
				s.Emit("ev", "10 s.Emit"),
				srv.Emit("end"),
			)
			_ = ack()
		})
	})
	c := startSIOClient(t, ctx, g.url, m, "rooms")
	checkTransport(t, m, c.next(t, ctx, "connect"))
	checkTransport(t, m, c.next(t, ctx, "connect"))
	if err := receive(t, ctx, c, fanout, "the fanout"); err != nil {
		t.Errorf("broadcasts: %v", err)
	}
	c.done(t, ctx)
	got := map[string][]string{}
	for _, e := range c.events("ev") {
		var s string
		_ = json.Unmarshal(e.Data, &s)
		got[e.Client] = append(got[e.Client], s)
	}
	want := map[string][]string{
		"a": {"1 srv.To(room1)", "7 srv.To(vip)", "8 srv.To(room1, vip)", "10 s.Emit"},
		"b": {"1 srv.To(room1)", "2 srv.To(room1).Except(vip)", "3 s.To(room1)", "4 s.Broadcast()",
			"5 s.Except(vip)", "8 srv.To(room1, vip)", "9 srv.To(b's id)"},
	}
	for _, k := range []string{"a", "b"} {
		if !slices.Equal(got[k], want[k]) {
			t.Errorf("client %s received %q, want %q", k, got[k], want[k])
		}
	}
}

func testSIOVolatile(t *testing.T, ctx context.Context, m sioMode) {
	g := startGoSIO(t, nil)
	g.srv.OnConnection(func(s *socketio.Socket) {
		s.On("volatile", func(step string) {
			switch step {
			case "socket":
				_ = s.Volatile().Emit("v", step)
			case "broadcast":
				_ = g.srv.Volatile().Emit("v", step)
			case "namespace":
				_ = s.Namespace().Volatile().To(s.ID()).Emit("v", step)
			}
			_ = s.Emit("mark", step)
		})
	})
	c := startSIOClient(t, ctx, g.url, m, "volatile")
	checkTransport(t, m, c.next(t, ctx, "connect"))
	c.done(t, ctx)
	var got []string
	for _, e := range c.events("v", "mark") {
		var s string
		_ = json.Unmarshal(e.Data, &s)
		got = append(got, e.Event+" "+s)
	}
	want := []string{"v socket", "mark socket", "v broadcast", "mark broadcast", "v namespace", "mark namespace"}
	if !slices.Equal(got, want) {
		t.Errorf("client received %q, want %q", got, want)
	}
}

// disconnectRun starts a server whose sockets obey "kick" (Disconnect) and
// answer "hello", and reports each OnDisconnect reason.
func disconnectRun(t *testing.T, ctx context.Context, m sioMode, scenario string) (*goSIO, *sioClient, <-chan string) {
	g := startGoSIO(t, nil)
	reasons := make(chan string, 2)
	g.srv.OnConnection(func(s *socketio.Socket) {
		s.On("kick", func(close bool) { s.Disconnect(close) })
		s.On("hello", func(ack socketio.Ack) { _ = ack() })
		s.OnDisconnect(func(reason string) { reasons <- reason })
	})
	c := startSIOClient(t, ctx, g.url, m, scenario)
	checkTransport(t, m, c.next(t, ctx, "connect"))
	return g, c, reasons
}

func checkReasons(t *testing.T, ctx context.Context, c *sioClient, reasons <-chan string, jsWant, goWant string) {
	t.Helper()
	js := c.next(t, ctx, "disconnect")
	goReason := receive(t, ctx, c, reasons, "OnDisconnect")
	if js.Reason != jsWant {
		t.Errorf("client disconnect reason %q (%q), want %q%s", js.Reason, js.Desc, jsWant, c.node.logs())
	}
	if goReason != goWant {
		t.Errorf("server OnDisconnect reason %q, want %q", goReason, goWant)
	}
	if js.Active {
		t.Errorf("client socket still active (would reconnect)")
	}
	t.Logf("client reason %q (desc %q), server reason %q", js.Reason, js.Desc, goReason)
	c.done(t, ctx)
}

func testSIOServerDisconnect(t *testing.T, ctx context.Context, m sioMode) {
	_, c, reasons := disconnectRun(t, ctx, m, "server-disconnect")
	checkReasons(t, ctx, c, reasons, "io server disconnect", socketio.ReasonServerNamespaceDisconnect)
}

func testSIOServerDisconnectClose(t *testing.T, ctx context.Context, m sioMode) {
	_, c, reasons := disconnectRun(t, ctx, m, "server-disconnect-close")
	checkReasons(t, ctx, c, reasons, "io server disconnect", socketio.ReasonServerNamespaceDisconnect)
	// The client, whose reconnection is on, must take the disconnection as
	// final: one disconnect event, no reconnection.
	if evs := c.events("disconnect", "reconnect"); len(evs) != 1 {
		var got []string
		for _, e := range evs {
			got = append(got, e.Event+" "+e.Reason)
		}
		t.Errorf("client events after the kick: %q, want one disconnect", got)
	}
}

func testSIOClientDisconnect(t *testing.T, ctx context.Context, m sioMode) {
	_, c, reasons := disconnectRun(t, ctx, m, "client-disconnect")
	checkReasons(t, ctx, c, reasons, "io client disconnect", socketio.ReasonClientNamespaceDisconnect)
}

func testSIOShutdown(t *testing.T, ctx context.Context, m sioMode) {
	g, c, reasons := disconnectRun(t, ctx, m, "shutdown")
	c.next(t, ctx, "hello")
	start := time.Now()
	if err := g.shutdown(); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	t.Logf("Shutdown took %v", time.Since(start))
	js := c.next(t, ctx, "disconnect")
	goReason := receive(t, ctx, c, reasons, "OnDisconnect")
	// Over polling, the client's next GET may reach a server that has
	// forgotten the session (HTTP 400, "transport error"), as with Node,
	// whose Shutdown discards polling transports too.
	jsWant := []string{"transport close"}
	if m.transports == "polling" {
		jsWant = append(jsWant, "transport error")
	}
	if !slices.Contains(jsWant, js.Reason) {
		t.Errorf("client disconnect reason %q (%q), want one of %q%s", js.Reason, js.Desc, jsWant, c.node.logs())
	}
	if goReason != socketio.ReasonServerShuttingDown {
		t.Errorf("server OnDisconnect reason %q, want %q", goReason, socketio.ReasonServerShuttingDown)
	}
	t.Logf("client reason %q (desc %q, active %v), server reason %q", js.Reason, js.Desc, js.Active, goReason)
	c.done(t, ctx)
}

func testSIORecovery(t *testing.T, ctx context.Context, m sioMode) {
	g := startGoSIO(t, &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 10 * time.Second}})
	type conn struct {
		s  *socketio.Socket
		at time.Time
	}
	conns := make(chan conn, 4)
	reasons := make(chan string, 4)
	g.srv.OnConnection(func(s *socketio.Socket) {
		s.On("arm", func() { _ = s.Emit("e", 0) })
		s.OnDisconnect(func(reason string) { reasons <- reason })
		conns <- conn{s, time.Now()}
	})
	c := startSIOClient(t, ctx, g.url, m, "recovery")
	first := receive(t, ctx, c, conns, "the connection")
	if first.s.Recovered() {
		t.Errorf("first connection Recovered() = true")
	}
	goReason := receive(t, ctx, c, reasons, "OnDisconnect")
	for i := 1; i <= 3; i++ {
		if err := g.srv.To(first.s.ID()).Emit("e", i); err != nil {
			t.Errorf("emit %d: %v", i, err)
		}
	}
	emitted := time.Now()
	second := receive(t, ctx, c, conns, "the reconnection")
	if !second.at.After(emitted) {
		t.Errorf("the client reconnected before the server emitted: the events were not missed")
	}
	if !second.s.Recovered() || second.s.ID() != first.s.ID() {
		t.Errorf("reconnection: Recovered() %v, id %q, first id %q", second.s.Recovered(), second.s.ID(), first.s.ID())
	}
	c1 := c.next(t, ctx, "connect")
	dis := c.next(t, ctx, "disconnect")
	c2 := c.next(t, ctx, "connect")
	if c1.Recovered || !c2.Recovered || c1.ID != c2.ID || c1.ID != first.s.ID() {
		t.Errorf("client: first connect recovered %v id %q; second recovered %v id %q; server id %q",
			c1.Recovered, c1.ID, c2.Recovered, c2.ID, first.s.ID())
	}
	seen := c.next(t, ctx, "seen")
	jsonEqual(t, "events seen", seen.Data, []int{0, 1, 2, 3})
	if !seen.Recovered || seen.ID != first.s.ID() {
		t.Errorf("at the end: recovered %v, id %q", seen.Recovered, seen.ID)
	}
	t.Logf("client disconnect reason %q (desc %q), server OnDisconnect %q; reconnected %v after the emits, over %s",
		dis.Reason, dis.Desc, goReason, second.at.Sub(emitted).Round(time.Millisecond), c2.Transport)
	c.done(t, ctx)
}
