package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
)

// A test of our socketio server against the socket.io-client browser
// bundle in a real browser: headless Chromium (Debian's chromium package),
// driven by the npm playwright-core (node/browser.mjs), opens
// testdata/browser/index.html, which connects, emits with an ack, has bytes
// echoed, answers a server-initiated emit and reports what it saw; over
// polling only, WebSocket only and the client's default (polling, then the
// upgrade).

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds each mode of TestSocketIOBrowser, Chromium's start
// included.
const browserTimeout = 60 * time.Second

// browserBundle is the socket.io-client browser bundle the page loads,
// served from node_modules (it is not committed).
var browserBundle = filepath.Join("node_modules", "socket.io-client", "dist", "socket.io.min.js")

// browserPage is the page node/browser.mjs opens.
var browserPage = filepath.Join("testdata", "browser", "index.html")

// browserPrereqs returns node's path, or ends the test when node, Chromium,
// playwright-core or the socket.io-client bundle is missing: a skip
// normally, a failure under CI (see missingPeer).
func browserPrereqs(t *testing.T) string {
	t.Helper()
	node := nodeBinary(t)
	if _, err := os.Stat(chromiumPath); err != nil {
		missingPeer(t, chromiumPath+" is missing: apt-get install chromium")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		missingPeer(t, "interop/node_modules/playwright-core is missing: run npm ci in interop")
	}
	if _, err := os.Stat(browserBundle); err != nil {
		missingPeer(t, "interop/"+browserBundle+" is missing: run npm ci in interop")
	}
	return node
}

// startBrowserSIO starts our socketio server at /socket.io/ on an httptest
// server (127.0.0.1) that also serves the page at / and the client bundle
// at /client/socket.io.min.js, so that the page and the server share one
// origin. The test's cleanup shuts the server down, then closes the HTTP
// server.
func startBrowserSIO(t *testing.T) *goSIO {
	t.Helper()
	return startGoSIO(t, nil, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /client/socket.io.min.js", func(w http.ResponseWriter, r *http.Request) {
			http.ServeFile(w, r, browserBundle)
		})
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			http.ServeFile(w, r, browserPage)
		})
		// No icon: without this, Chromium's request for one logs a 404 in
		// the page's console.
		mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})
	})
}

// browserEvent is one JSON line of node/browser.mjs.
type browserEvent struct {
	Event     string          `json:"event"`
	Message   string          `json:"message"`
	UserAgent string          `json:"userAgent"`
	Result    json.RawMessage `json:"result"`
}

// nextBrowserEvent returns the first event of kind that node/browser.mjs
// printed, waiting for it while node runs. A "fail" or "timeout" line ends
// the test at once.
func nextBrowserEvent(t *testing.T, ctx context.Context, p *nodePeer, kind string) browserEvent {
	t.Helper()
	for {
		lines, more := p.stdout.snapshot()
		for _, line := range lines {
			var e browserEvent
			if json.Unmarshal([]byte(line), &e) != nil {
				continue
			}
			if e.Event == "fail" || e.Event == "timeout" {
				t.Fatalf("browser.mjs: %s %s%s", e.Event, e.Message, p.logs())
			}
			if e.Event == kind {
				return e
			}
		}
		p.await(t, ctx, more, "a "+kind+" event")
	}
}

// pushAnswer is the page's answer to the server's "push": what it decoded
// the bytes into, and their length and SHA-256.
type pushAnswer struct {
	Seq    int    `json:"seq"`
	Kind   string `json:"kind"`
	Length int    `json:"length"`
	SHA256 string `json:"sha256"`
}

// browserResult is window.wsioResult of the page. It is decoded with
// unknown fields refused, so that every fact the page reports has a check.
type browserResult struct {
	Error            string          `json:"error"`
	Mode             string          `json:"mode"`
	EngineProtocol   int             `json:"engineProtocol"`
	Events           []string        `json:"events"`
	OpenTransport    string          `json:"openTransport"`
	ConnectTransport string          `json:"connectTransport"`
	ID               string          `json:"id"`
	Transport        string          `json:"transport"`
	Welcome          json.RawMessage `json:"welcome"`
	Ack              json.RawMessage `json:"ack"`
	Binary           struct {
		SentSHA256 string `json:"sentSHA256"`
		Kind       string `json:"kind"`
		Length     int    `json:"length"`
		SHA256     string `json:"sha256"`
		Equal      bool   `json:"equal"`
		SmallKind  string `json:"smallKind"`
		Small      string `json:"small"`
		SmallEqual bool   `json:"smallEqual"`
		Note       string `json:"note"`
	} `json:"binary"`
	Push           pushAnswer `json:"push"`
	FinalTransport string     `json:"finalTransport"`
	Disconnect     string     `json:"disconnect"`
}

// TestSocketIOBrowser runs the page in every mode, in parallel, each with
// its own server, node process and Chromium.
func TestSocketIOBrowser(t *testing.T) {
	browserPrereqs(t)
	for _, m := range sioModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), browserTimeout)
			defer cancel()
			testBrowser(t, ctx, m)
		})
	}
}

func testBrowser(t *testing.T, ctx context.Context, m sioMode) {
	g := startBrowserSIO(t)
	type connected struct{ id, transport string }
	type pushed struct {
		answer pushAnswer
		err    error
	}
	conns := make(chan connected, 1)
	binGot := make(chan string, 1) // "" when all is well, else what differs
	pushes := make(chan pushed, 1)
	reasons := make(chan string, 1)
	big := pattern(70000, 7)
	small := []byte{0, 1, 2, 0xfe, 0xff}
	toBrowser := pattern(300, 3)
	g.srv.OnConnection(func(s *socketio.Socket) {
		conns <- connected{s.ID(), s.Transport()}
		s.OnDisconnect(func(reason string) { reasons <- reason })
		s.On("sum", func(v struct{ A, B int }, label string, ack socketio.Ack) {
			_ = ack(map[string]any{"sum": v.A + v.B, "label": label + "!", "transport": s.Transport()})
		})
		s.On("bin", func(args sioparser.Args, ack socketio.Ack) {
			var bad string
			var in struct {
				A struct {
					B struct {
						Big  []byte `json:"big"`
						List []any  `json:"list"`
					} `json:"b"`
				} `json:"a"`
			}
			if err := args.Decode(0, &in); err != nil {
				bad += err.Error() + "; "
			}
			if args.Len() != 1 {
				bad += "not one argument; "
			}
			if !bytes.Equal(in.A.B.Big, big) {
				bad += "big differs; "
			}
			var gotSmall []byte
			if l := in.A.B.List; len(l) != 2 || l[0] != float64(1) {
				bad += "list differs; "
			} else if obj, ok := l[1].(map[string]any); !ok {
				bad += "list[1] is not an object; "
			} else if b, ok := obj["small"].([]byte); !ok || !bytes.Equal(b, small) {
				bad += "list[1].small differs; "
			} else {
				gotSmall = b
			}
			binGot <- bad
			_ = ack(map[string]any{"x": map[string]any{"y": []any{map[string]any{"z": in.A.B.Big}}}, "small": gotSmall, "note": "ok"})
		})
		s.On("ask-push", func() {
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			var p pushed
			args, err := s.EmitWithAck(actx, "push", map[string]any{"seq": 7, "inner": map[string]any{"data": toBrowser}})
			p.err = err
			if err == nil {
				if args.Len() != 1 {
					p.err = errors.New("the answer has not one argument")
				}
				if err := args.Decode(0, &p.answer); err != nil {
					p.err = err
				}
			}
			pushes <- p
		})
		_ = s.Emit("welcome", map[string]any{"id": s.ID(), "n": 1})
	})

	p := startNode(t, ctx, "browser.mjs",
		"url="+g.url+"/?transports="+m.transports,
		"profile="+t.TempDir(),
		"chromium="+chromiumPath)
	c := &sioClient{node: p} // for receive's logs
	if ua := nextBrowserEvent(t, ctx, p, "browser").UserAgent; !strings.Contains(ua, "HeadlessChrome/") {
		t.Errorf("the page ran in %q, want headless Chromium", ua)
	} else {
		t.Logf("browser: %s", ua)
	}
	conn := receive(t, ctx, c, conns, "the connection")
	res := nextBrowserEvent(t, ctx, p, "result")
	var r browserResult
	dec := json.NewDecoder(bytes.NewReader(res.Result))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("the page's result: %v in %s%s", err, res.Result, p.logs())
	}
	if r.Error != "" {
		t.Fatalf("the page failed: %s%s", r.Error, p.logs())
	}
	tr := m.transport()

	// The connection.
	if r.Mode != m.transports || r.EngineProtocol != 4 {
		t.Errorf("page mode %q, Engine.IO protocol %d; want %q and 4", r.Mode, r.EngineProtocol, m.transports)
	}
	wantFirst := "polling"
	if m.transports == "websocket" {
		wantFirst = "websocket"
	}
	if r.OpenTransport != wantFirst {
		t.Errorf("engine opened over %q, want %q", r.OpenTransport, wantFirst)
	}
	// In default mode the upgrade runs beside the namespace's connect: it
	// may end on either side of it.
	if m.transports == "default" {
		for _, got := range []string{r.ConnectTransport, conn.transport} {
			if got != "polling" && got != "websocket" {
				t.Errorf("connected over %q (page %q, server %q)", got, r.ConnectTransport, conn.transport)
			}
		}
		t.Logf("default mode: the page connected over %s, the server saw %s", r.ConnectTransport, conn.transport)
	} else if r.ConnectTransport != wantFirst || conn.transport != wantFirst {
		t.Errorf("connected over %q (server: %q), want %q", r.ConnectTransport, conn.transport, wantFirst)
	}
	if r.Transport != tr || r.FinalTransport != tr {
		t.Errorf("scenario ran over %q, ended over %q; want %q", r.Transport, r.FinalTransport, tr)
	}
	if r.ID == "" || r.ID != conn.id {
		t.Errorf("page's socket id %q, server's %q", r.ID, conn.id)
	}
	jsonEqual(t, "welcome", r.Welcome, map[string]any{"id": conn.id, "n": 1})
	if want := []string{"welcome", "push"}; !slices.Equal(r.Events, want) {
		t.Errorf("page received events %q, want %q", r.Events, want)
	}

	// The emit with an ack callback.
	jsonEqual(t, "sum's ack", r.Ack, []any{map[string]any{"sum": 42, "label": "label!", "transport": tr}})

	// The bytes, both ways.
	if bad := receive(t, ctx, c, binGot, "the bin event"); bad != "" {
		t.Errorf("server received bin: %s", bad)
	}
	b := r.Binary
	if b.SentSHA256 != sha256Hex(big) {
		t.Errorf("page sent bytes with SHA-256 %s, want %s", b.SentSHA256, sha256Hex(big))
	}
	if b.Kind != "ArrayBuffer" || b.Length != len(big) || b.SHA256 != sha256Hex(big) || !b.Equal {
		t.Errorf("echoed big: %s of %d bytes, SHA-256 %s, equal %v; want ArrayBuffer, %d, %s, true",
			b.Kind, b.Length, b.SHA256, b.Equal, len(big), sha256Hex(big))
	}
	if b.SmallKind != "ArrayBuffer" || b.Small != "000102feff" || !b.SmallEqual {
		t.Errorf("echoed small: %s %s, equal %v; want ArrayBuffer 000102feff true", b.SmallKind, b.Small, b.SmallEqual)
	}
	if b.Note != "ok" {
		t.Errorf("bin's ack note %q, want ok", b.Note)
	}

	// The server-initiated emit, and the page's ack of it.
	want := pushAnswer{Seq: 7, Kind: "ArrayBuffer", Length: len(toBrowser), SHA256: sha256Hex(toBrowser)}
	if r.Push != want {
		t.Errorf("page got push %+v, want %+v", r.Push, want)
	}
	if got := receive(t, ctx, c, pushes, "push's ack"); got.err != nil || got.answer != want {
		t.Errorf("server's EmitWithAck(push): %+v, %v; want %+v", got.answer, got.err, want)
	}

	// The page's disconnect.
	if r.Disconnect != "io client disconnect" {
		t.Errorf("page's disconnect reason %q, want %q", r.Disconnect, "io client disconnect")
	}
	if reason := receive(t, ctx, c, reasons, "OnDisconnect"); reason != socketio.ReasonClientNamespaceDisconnect {
		t.Errorf("server's OnDisconnect reason %q, want %q", reason, socketio.ReasonClientNamespaceDisconnect)
	}

	nextBrowserEvent(t, ctx, p, "done")
	p.wait(t, ctx)
}
