package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wsio/wsio/websocket"
)

const (
	// bigSize is the largest message, and our read limit.
	bigSize = 16 << 20
	// wsMaxPayload is ws's limit. ws checks it against the message's size on
	// the wire too, and deflate makes incompressible data a little larger
	// (ws does the same to ws), so it leaves room above bigSize.
	wsMaxPayload = bigSize + 64<<10
	// scenarioTimeout bounds each scenario: node, the connection and every wait.
	scenarioTimeout = 30 * time.Second
	// Default compression thresholds: messages smaller than these go out
	// uncompressed (ours: AcceptOptions/DialOptions.CompressionThreshold;
	// ws: perMessageDeflate.threshold, which ws applies only when it resets
	// its context after each message).
	ourThreshold = 512
	wsThreshold  = 1024
)

// mode is a compression setting on each side.
type mode struct {
	name      string
	wsDeflate bool                      // ws perMessageDeflate
	ours      websocket.CompressionMode // our Compression option
	deflate   bool                      // permessage-deflate is expected to be negotiated
	big       bool                      // run the 16 MiB scenarios (slow under -race; the other modes add little to them)
}

var modes = []mode{
	{"plain", false, websocket.CompressionDisabled, false, true},
	{"deflate-no-context-takeover", true, websocket.CompressionNoContextTakeover, true, true},
	{"deflate-context-takeover", true, websocket.CompressionContextTakeover, true, false},
	{"deflate-declined-by-ws", false, websocket.CompressionContextTakeover, false, false},
}

func (m mode) nodeArgs() []string {
	deflate := "off"
	if m.wsDeflate {
		deflate = "on"
	}
	return []string{"deflate=" + deflate, "maxPayload=" + strconv.Itoa(wsMaxPayload)}
}

var scenarios = []struct {
	name string
	run  func(s *session)
	big  bool // only in modes with big set
}{
	{"text", testText, false},
	{"binary", testBinary, false},
	{"ping", testPing, false},
	{"fragmented-by-us", testOurFragments, false},
	{"fragmented-by-ws", testWSFragments, false},
	{"16MiB", testBig, true},
	{"over-ws-limit", testOverWSLimit, true},
	{"over-our-limit", testOverOurLimit, true},
	{"we-close-4001", func(s *session) { s.closeAndCheck(4001, "bye") }, false},
	{"we-close-1000", func(s *session) { s.closeAndCheck(websocket.StatusNormalClosure, "done") }, false},
	{"ws-closes-4002", func(s *session) { s.wsCloses("4002", "later", 4002) }, false},
	{"ws-closes-1000", func(s *session) { s.wsCloses("1000", "", websocket.StatusNormalClosure) }, false},
	{"ws-closes-without-code", func(s *session) { s.wsCloses("", "", websocket.StatusNoStatusRcvd) }, false},
}

// TestDialWSServer runs every scenario with our Dial client against a ws
// WebSocketServer.
func TestDialWSServer(t *testing.T) { runScenarios(t, dialWS) }

// TestWSClientAccept runs every scenario with a ws client against our
// Accept server.
func TestWSClientAccept(t *testing.T) { runScenarios(t, acceptWS) }

func runScenarios(t *testing.T, connect func(*testing.T, context.Context, mode) *session) {
	nodeBinary(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel() // each scenario has its own node process, port and connection
			for _, sc := range scenarios {
				if sc.big && !m.big {
					continue
				}
				t.Run(sc.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
					defer cancel()
					sc.run(connect(t, ctx, m))
				})
			}
		})
	}
}

// session is one connection between our package and a ws peer that echoes.
type session struct {
	t    *testing.T
	ctx  context.Context
	mode mode
	c    *websocket.Conn
	tap  *tapConn
	peer *nodePeer
}

// dialWS starts a ws server and connects to it with Dial.
func dialWS(t *testing.T, ctx context.Context, m mode) *session {
	peer := startNode(t, ctx, "ws-server.mjs", m.nodeArgs()...)
	port := peer.port(t, ctx)
	var tap *tapConn
	opts := &websocket.DialOptions{
		Compression: m.ours,
		ReadLimit:   bigSize,
		Proxy:       func(*http.Request) (*url.URL, error) { return nil, nil },
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tap = &tapConn{Conn: nc}
			return tap, nil
		},
	}
	c, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://127.0.0.1:%d/", port), opts)
	if err != nil {
		t.Fatalf("dial: %v%s", err, peer.logs())
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return newSession(t, ctx, m, c, tap, peer)
}

// acceptWS starts an HTTP server on 127.0.0.1 and a ws client that
// connects to it, and returns the connection Accept made.
func acceptWS(t *testing.T, ctx context.Context, m mode) *session {
	type accepted struct {
		c   *websocket.Conn
		tap *tapConn
		err error
	}
	ch := make(chan accepted, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Compression: m.ours, ReadLimit: bigSize})
		tap, _ := r.Context().Value(tapKey{}).(*tapConn)
		select {
		case ch <- accepted{c, tap, err}:
		default: // only the first connection is the test's
			if c != nil {
				_ = c.CloseNow()
			}
		}
	}))
	srv.Listener = tapListener{srv.Listener}
	srv.Config.ConnContext = withTap
	srv.Start()
	t.Cleanup(srv.Close)

	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
	peer := startNode(t, ctx, "ws-client.mjs", append(m.nodeArgs(), "url="+wsURL)...)
	var a accepted
	select {
	case a = <-ch:
	case <-peer.exited:
		t.Fatalf("ws client exited before connecting%s", peer.logs())
	case <-ctx.Done():
		t.Fatalf("waiting for the ws client: %v%s", ctx.Err(), peer.logs())
	}
	if a.err != nil {
		t.Fatalf("accept: %v%s", a.err, peer.logs())
	}
	t.Cleanup(func() { _ = a.c.CloseNow() })
	return newSession(t, ctx, m, a.c, a.tap, peer)
}

// newSession checks what both sides negotiated.
func newSession(t *testing.T, ctx context.Context, m mode, c *websocket.Conn, tap *tapConn, peer *nodePeer) *session {
	t.Helper()
	if tap == nil {
		t.Fatal("the connection was not tapped")
	}
	open := peer.next(t, ctx, "open")
	if c.Compressed() != m.deflate {
		t.Errorf("our side: Compressed() = %v, want %v (extensions %q)", c.Compressed(), m.deflate, c.Extensions())
	}
	if got := open.Extensions != ""; got != m.deflate {
		t.Errorf("ws side: extensions %q, want deflate %v", open.Extensions, m.deflate)
	}
	return &session{t: t, ctx: ctx, mode: m, c: c, tap: tap, peer: peer}
}

func (s *session) write(typ websocket.MessageType, p []byte) {
	s.t.Helper()
	if err := s.c.Write(s.ctx, typ, p); err != nil {
		s.t.Fatalf("write %s of %d bytes: %v", typ, len(p), err)
	}
}

// echo sends p and checks the echo.
func (s *session) echo(typ websocket.MessageType, p []byte) {
	s.t.Helper()
	s.write(typ, p)
	s.expectEcho(typ, p)
}

// expectEcho checks what ws received (type, length, SHA-256), reads the
// echo and compares it byte for byte, and checks that each direction was
// compressed exactly when the sender's threshold says so.
func (s *session) expectEcho(typ websocket.MessageType, p []byte) {
	s.t.Helper()
	gotTyp, got, err := s.c.Read(s.ctx)
	if err != nil {
		s.t.Fatalf("reading the echo of %d bytes: %v%s", len(p), err, s.peer.logs())
	}
	s.peerGot(typ, p)
	if gotTyp != typ {
		s.t.Errorf("echo type %s, want %s", gotTyp, typ)
	}
	sameBytes(s.t, "echo", got, p)

	out, in := s.lastOnWire()
	if want := s.mode.deflate && len(p) >= ourThreshold; out.compressed != want {
		s.t.Errorf("we sent %d bytes with compression %v, want %v", len(p), out.compressed, want)
	}
	wsKeepsContext := s.mode.ours == websocket.CompressionContextTakeover
	if want := s.mode.deflate && (len(p) >= wsThreshold || wsKeepsContext); in.compressed != want {
		s.t.Errorf("ws sent %d bytes with compression %v, want %v", len(p), in.compressed, want)
	}
}

// peerGot checks ws's report of the next message it received.
func (s *session) peerGot(typ websocket.MessageType, p []byte) {
	s.t.Helper()
	e := s.peer.next(s.t, s.ctx, "message")
	sum := sha256.Sum256(p)
	if e.Binary != (typ == websocket.MessageBinary) || e.Length != len(p) || e.SHA256 != hex.EncodeToString(sum[:]) {
		s.t.Errorf("ws received binary=%v length=%d sha256=%s; we sent %s of %d bytes, sha256=%x",
			e.Binary, e.Length, e.SHA256, typ, len(p), sum)
	}
}

// lastOnWire returns the last data message each way.
func (s *session) lastOnWire() (out, in wireMessage) {
	s.t.Helper()
	outs, ins := s.tap.out.messages(), s.tap.in.messages()
	if len(outs) == 0 || len(ins) == 0 {
		s.t.Fatalf("no data message on the wire: %d sent, %d received", len(outs), len(ins))
	}
	return outs[len(outs)-1], ins[len(ins)-1]
}

// closeAndCheck closes from our side and checks that ws saw code and reason.
func (s *session) closeAndCheck(code websocket.StatusCode, reason string) {
	s.t.Helper()
	if err := s.c.Close(code, reason); err != nil {
		s.t.Fatalf("Close(%d, %q): %v", code, reason, err)
	}
	e := s.peer.next(s.t, s.ctx, "close")
	if e.Code != int(code) || e.Reason != reason {
		s.t.Errorf("ws saw close %d %q, want %d %q", e.Code, e.Reason, code, reason)
	}
	s.peer.wait(s.t, s.ctx)
}

// wsCloses makes ws close with code (empty: none) and reason and checks
// that our Read reports want and reason, and that ws saw our answer.
func (s *session) wsCloses(code, reason string, want websocket.StatusCode) {
	s.t.Helper()
	s.write(websocket.MessageText, []byte("close:"+code+":"+reason))
	_, _, err := s.c.Read(s.ctx)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		s.t.Fatalf("Read after ws closed: %v, want a *websocket.CloseError", err)
	}
	if ce.Code != want || ce.Reason != reason {
		s.t.Errorf("Read: close %d %q, want %d %q", ce.Code, ce.Reason, want, reason)
	}
	if got := websocket.CloseStatus(err); got != want {
		s.t.Errorf("CloseStatus = %d, want %d", got, want)
	}
	if e := s.peer.next(s.t, s.ctx, "close"); e.Code != int(want) {
		s.t.Errorf("ws saw our answer as close %d %q, want code %d", e.Code, e.Reason, want)
	}
	s.peer.wait(s.t, s.ctx)
	if err := s.c.Close(websocket.StatusNormalClosure, ""); !errors.Is(err, net.ErrClosed) {
		s.t.Errorf("Close after the closing handshake: %v, want net.ErrClosed", err)
	}
}

func testText(s *session) {
	for i, n := range []int{0, 5, 2000, 70 << 10} {
		s.echo(websocket.MessageText, randomText(uint64(i), n))
	}
	s.closeAndCheck(websocket.StatusNormalClosure, "")
}

// testBinary covers each frame length encoding (7-bit, 16-bit, 64-bit).
func testBinary(s *session) {
	for i, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 100 << 10} {
		s.echo(websocket.MessageBinary, randomBytes(uint64(100+i), n))
	}
	s.closeAndCheck(websocket.StatusNormalClosure, "")
}

// testPing pings ws (ws answers) and makes ws ping us (our reader answers).
func testPing(s *session) {
	type result struct {
		typ websocket.MessageType
		p   []byte
		err error
	}
	read := make(chan result, 1)
	go func() {
		typ, p, err := s.c.Read(s.ctx)
		read <- result{typ, p, err}
	}()
	if err := s.c.Ping(s.ctx); err != nil {
		s.t.Errorf("Ping: %v", err)
	}
	s.write(websocket.MessageText, []byte("after ping"))
	r := <-read // bounded by s.ctx
	if r.err != nil || r.typ != websocket.MessageText || string(r.p) != "after ping" {
		s.t.Fatalf("Read during Ping: %s %q %v", r.typ, r.p, r.err)
	}
	s.peerGot(websocket.MessageText, []byte("after ping"))

	s.write(websocket.MessageText, []byte("ping:from ws"))
	typ, p, err := s.c.Read(s.ctx)
	if err != nil || typ != websocket.MessageText || string(p) != "pinged" {
		s.t.Fatalf("Read while ws pings: %s %q %v", typ, p, err)
	}
	if e := s.peer.next(s.t, s.ctx, "pong"); e.Data != "from ws" {
		s.t.Errorf("ws got pong %q, want %q", e.Data, "from ws")
	}
	s.closeAndCheck(websocket.StatusNormalClosure, "")
}

// testOurFragments streams messages through Conn.Writer in small writes;
// they must leave in several frames and come back intact.
func testOurFragments(s *session) {
	for _, tc := range []struct {
		typ   websocket.MessageType
		p     []byte
		chunk int
	}{
		{websocket.MessageText, randomText(200, 256<<10), 10000},
		{websocket.MessageBinary, randomBytes(201, 200<<10), 7000},
	} {
		before := len(s.tap.out.messages())
		w, err := s.c.Writer(s.ctx, tc.typ)
		if err != nil {
			s.t.Fatalf("Writer: %v", err)
		}
		for off := 0; off < len(tc.p); off += tc.chunk {
			if _, err := w.Write(tc.p[off:min(off+tc.chunk, len(tc.p))]); err != nil {
				s.t.Fatalf("Writer.Write at %d: %v", off, err)
			}
		}
		if err := w.Close(); err != nil {
			s.t.Fatalf("Writer.Close: %v", err)
		}
		s.expectEcho(tc.typ, tc.p)
		if m := s.tap.out.messages()[before]; m.frames < 2 {
			s.t.Errorf("Writer sent %d bytes of %s in %d frame, want several", len(tc.p), tc.typ, m.frames)
		}
	}
	s.closeAndCheck(websocket.StatusNormalClosure, "")
}

// testWSFragments makes ws echo messages in five frames
// (ws.send(part, {fin: false}) then the final part).
func testWSFragments(s *session) {
	for _, tc := range []struct {
		typ websocket.MessageType
		p   []byte
	}{
		{websocket.MessageText, randomText(300, 100<<10)},
		{websocket.MessageBinary, randomBytes(301, 100<<10)},
	} {
		s.write(websocket.MessageText, []byte("fragment-next:5"))
		before := len(s.tap.in.messages())
		s.echo(tc.typ, tc.p)
		if e := s.peer.next(s.t, s.ctx, "fragments"); e.Parts != 5 {
			s.t.Errorf("ws reports %d fragments, want 5", e.Parts)
		}
		if m := s.tap.in.messages()[before]; m.frames != 5 {
			s.t.Errorf("ws echo of %s arrived in %d frames, want 5", tc.typ, m.frames)
		}
	}
	s.closeAndCheck(websocket.StatusNormalClosure, "")
}

// testBig sends a message exactly as large as our read limit, of random
// bytes, which deflate cannot shrink.
func testBig(s *session) {
	s.echo(websocket.MessageBinary, bigBinary())
	s.closeAndCheck(websocket.StatusNormalClosure, "")
}

// testOverWSLimit sends one byte more than ws's maxPayload: ws must close
// with 1009.
func testOverWSLimit(s *session) {
	p := randomBytes(17, wsMaxPayload+1)
	s.write(websocket.MessageBinary, p)
	_, _, err := s.c.Read(s.ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig {
		s.t.Errorf("Read after an over-limit message: %v, want close 1009", err)
	}
	if e := s.peer.next(s.t, s.ctx, "error"); e.ErrorCode != "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" {
		s.t.Errorf("ws error %q (%s), want WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", e.ErrorCode, e.Message)
	}
	s.peer.wait(s.t, s.ctx)
}

// testOverOurLimit lowers our read limit below the echo's size: Read must
// fail with ErrMessageTooBig and close the connection with 1009.
func testOverOurLimit(s *session) {
	p := bigBinary()
	s.write(websocket.MessageBinary, p)
	s.c.SetReadLimit(bigSize - 1)
	_, _, err := s.c.Read(s.ctx)
	if !errors.Is(err, websocket.ErrMessageTooBig) {
		s.t.Errorf("Read of an over-limit message: %v, want ErrMessageTooBig", err)
	}
	s.peerGot(websocket.MessageBinary, p)
	// After its close frame our side half-closes and drains what ws still
	// sends, so the frame is not lost to a TCP reset: ws must see 1009.
	e := s.peer.next(s.t, s.ctx, "close")
	if e.Code != int(websocket.StatusMessageTooBig) {
		s.t.Errorf("ws saw close %d %q, want 1009", e.Code, e.Reason)
	}
	s.t.Logf("ws saw close %d", e.Code)

	s.peer.wait(s.t, s.ctx)
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	p := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(p)
	return p
}

// textRunes mixes 1- to 4-byte UTF-8 sequences. It has no ':', so no text
// made from it reads as a command to the node scripts.
var textRunes = []rune("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789.,-_/éàüßøåЖЩЯ€£→★中文字日本語𝄞😀🚀")

// randomText returns n bytes of deterministic pseudo-random valid UTF-8.
func randomText(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x7e57))
	p := make([]byte, 0, n)
	for len(p) < n {
		c := textRunes[r.IntN(len(textRunes))]
		if len(p)+utf8.RuneLen(c) > n {
			c = 'z'
		}
		p = utf8.AppendRune(p, c)
	}
	return p
}

var bigBinary = sync.OnceValue(func() []byte { return randomBytes(16, bigSize) })

func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: got %d bytes, want %d; they differ from byte %d", what, len(got), len(want), i)
}
