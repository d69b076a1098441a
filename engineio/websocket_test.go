package engineio

import (
	"errors"
	"strings"
	"testing"

	"github.com/wsio/wsio/websocket"
)

func TestWebSocketMessages(t *testing.T) {
	st := newTestServer(t, nil, nil)
	c := st.dial(t, "EIO=4&transport=websocket")
	readWS(t, c) // open
	writeWS(t, c, websocket.MessageText, "4hello")
	if typ, m := readWS(t, c); typ != websocket.MessageText || m != "4hello" {
		t.Errorf("text echo %v %q", typ, m)
	}
	writeWS(t, c, websocket.MessageBinary, "\x01\x02\x03\x04")
	if typ, m := readWS(t, c); typ != websocket.MessageBinary || m != "\x01\x02\x03\x04" {
		t.Errorf("binary echo %v %q", typ, m)
	}
	// Large messages up to maxPayload both ways.
	big := "4" + strings.Repeat("y", 999_999)
	writeWS(t, c, websocket.MessageText, big)
	if _, m := readWS(t, c); m != big {
		t.Errorf("large echo of %d bytes", len(m))
	}
}

func TestWebSocketInvalidPacket(t *testing.T) {
	st := newTestServer(t, nil, nil)
	c := st.dial(t, "EIO=4&transport=websocket")
	sid := parseOpen(t, func() string { _, m := readWS(t, c); return m }()).SID
	writeWS(t, c, websocket.MessageText, "abc")
	if err := readWSErr(t, c); websocket.CloseStatus(err) != websocket.StatusProtocolError {
		t.Errorf("read error %v", err)
	}
	if reason := st.waitClosed(t, sid); reason != ReasonParseError {
		t.Errorf("reason %q", reason)
	}
}

func TestWebSocketClientClose(t *testing.T) {
	st := newTestServer(t, nil, nil)
	c := st.dial(t, "EIO=4&transport=websocket")
	_, m := readWS(t, c)
	sid := parseOpen(t, m).SID
	writeWS(t, c, websocket.MessageText, "1")
	readWSErr(t, c)
	if reason := st.waitClosed(t, sid); reason != ReasonTransportClose {
		t.Errorf("reason %q", reason)
	}
	// Dropping the connection without a close packet is a transport close too.
	c = st.dial(t, "EIO=4&transport=websocket")
	_, m = readWS(t, c)
	sid = parseOpen(t, m).SID
	_ = c.Close(websocket.StatusNormalClosure, "")
	if reason := st.waitClosed(t, sid); reason != ReasonTransportClose {
		t.Errorf("reason after a WebSocket close %q", reason)
	}
	if s := st.closedSession(sid); s != nil && s.Err() != nil {
		t.Errorf("a normal close reports error %v", s.Err())
	}
}

func TestWebSocketMessageTooBig(t *testing.T) {
	st := newTestServer(t, &Options{MaxHTTPBufferSize: 1000}, nil)
	c := st.dial(t, "EIO=4&transport=websocket")
	_, m := readWS(t, c)
	sid := parseOpen(t, m).SID
	writeWS(t, c, websocket.MessageText, "4"+strings.Repeat("z", 1000))
	if err := readWSErr(t, c); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("read error %v", err)
	}
	if reason := st.waitClosed(t, sid); reason != ReasonTransportError {
		t.Errorf("reason %q", reason)
	}
}

func TestWebSocketServerClose(t *testing.T) {
	sessions := make(chan *Session, 1)
	st := newTestServer(t, nil, func(s *Session) { sessions <- s })
	c := st.dial(t, "EIO=4&transport=websocket")
	readWS(t, c)
	s := <-sessions
	for _, m := range []string{"a", "b", "c"} {
		_ = s.Send([]byte(m), false)
	}
	_ = s.Close()
	for _, want := range []string{"4a", "4b", "4c"} {
		if _, m := readWS(t, c); m != want {
			t.Errorf("got %q, want %q", m, want)
		}
	}
	err := readWSErr(t, c)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure {
		t.Errorf("close %v", err)
	}
	if reason := st.waitClosed(t, s.ID()); reason != ReasonForcedClose {
		t.Errorf("reason %q", reason)
	}
}

func TestWebSocketOriginPolicy(t *testing.T) {
	st := newTestServer(t, &Options{CORS: &CORSOptions{Origins: []string{"https://app.example"}}}, nil)
	dial := func(origin string) int {
		c, res, err := websocket.Dial(t.Context(), st.wsURL("EIO=4&transport=websocket"),
			&websocket.DialOptions{HTTPHeader: map[string][]string{"Origin": {origin}}})
		if err == nil {
			_ = c.CloseNow()
			return 101
		}
		if res == nil {
			t.Fatalf("origin %s: %v", origin, err)
		}
		return res.StatusCode
	}
	if got := dial("https://app.example"); got != 101 {
		t.Errorf("allowed origin: %d", got)
	}
	if got := dial("https://evil.example"); got != 403 {
		t.Errorf("other origin: %d", got)
	}
	// Without CORS options, the WebSocket package's same-origin rule holds.
	st2 := newTestServer(t, nil, nil)
	_, res, err := websocket.Dial(t.Context(), st2.wsURL("EIO=4&transport=websocket"),
		&websocket.DialOptions{HTTPHeader: map[string][]string{"Origin": {"https://evil.example"}}})
	if err == nil || res == nil || res.StatusCode != 403 {
		t.Errorf("cross-origin without CORS: %v %v", err, res)
	}
}

func TestWebSocketPerMessageDeflate(t *testing.T) {
	st := newTestServer(t, &Options{PerMessageDeflate: true}, nil)
	c, _, err := websocket.Dial(t.Context(), st.wsURL("EIO=4&transport=websocket"),
		&websocket.DialOptions{Compression: websocket.CompressionNoContextTakeover})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if !c.Compressed() {
		t.Fatal("permessage-deflate not negotiated")
	}
	readWS(t, c)
	big := "4" + strings.Repeat("abc", 2000)
	writeWS(t, c, websocket.MessageText, big)
	if _, m := readWS(t, c); m != big {
		t.Errorf("echo of %d bytes", len(m))
	}
	// Off by default.
	st2 := newTestServer(t, nil, nil)
	c2, _, err := websocket.Dial(t.Context(), st2.wsURL("EIO=4&transport=websocket"),
		&websocket.DialOptions{Compression: websocket.CompressionNoContextTakeover})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	if c2.Compressed() {
		t.Error("permessage-deflate negotiated by default")
	}
}

// A slow client's queue is bounded; overflow closes that session only.
func TestWriteBufferFull(t *testing.T) {
	sessions := make(chan *Session, 1)
	st := newTestServer(t, &Options{MaxBufferedBytes: 1, MaxHTTPBufferSize: 1000}, func(s *Session) { sessions <- s })
	sid, _ := st.open(t)
	s := <-sessions
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = s.Send([]byte(strings.Repeat("q", 100)), false)
	}
	if !errors.Is(err, ErrBufferFull) {
		t.Fatalf("Send: %v", err)
	}
	if reason := st.waitClosed(t, sid); reason != ReasonWriteBufferFull || !errors.Is(s.Err(), ErrBufferFull) {
		t.Errorf("reason %q err %v", reason, s.Err())
	}
}

func TestSharedMessage(t *testing.T) {
	sessions := make(chan *Session, 2)
	st := newTestServer(t, nil, func(s *Session) { sessions <- s })
	c := st.dial(t, "EIO=4&transport=websocket")
	readWS(t, c)
	wsSession := <-sessions
	_, q := st.open(t)
	pollSession := <-sessions
	for _, m := range []*Message{NewMessage([]byte("shared"), false), NewMessage([]byte{9, 8}, true)} {
		if err := wsSession.SendMessage(m); err != nil {
			t.Fatal(err)
		}
		if err := pollSession.SendMessage(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, m := readWS(t, c); m != "4shared" {
		t.Errorf("ws text %q", m)
	}
	if typ, m := readWS(t, c); typ != websocket.MessageBinary || m != "\x09\x08" {
		t.Errorf("ws binary %v %q", typ, m)
	}
	if r := st.get(t, q); r.body != "4shared\x1ebCQg=" {
		t.Errorf("polling %q", r.body)
	}
}

// A callback that releases the reader keeps running while the next
// messages are read and delivered; what it sends before and after goes
// out; and it can wait for a later message.
func TestReleaseReader(t *testing.T) {
	second := make(chan string, 1)
	var canRelease, released, again bool
	st := newTestServer(t, nil, func(s *Session) {
		s.OnMessage(func(data []byte, binary bool) {
			switch string(data) {
			case "first":
				canRelease = s.CanReleaseReader()
				_ = s.Send([]byte("before"), false)
				released = s.ReleaseReader()
				again = s.ReleaseReader()
				got := <-second // delivered by the new reader
				_ = s.Send([]byte("after "+got), false)
			default:
				second <- string(data)
			}
		})
	})
	c := st.dial(t, "EIO=4&transport=websocket")
	readWS(t, c) // open
	writeWS(t, c, websocket.MessageText, "4first")
	if _, m := readWS(t, c); m != "4before" {
		t.Fatalf("got %q", m)
	}
	writeWS(t, c, websocket.MessageText, "4second")
	if _, m := readWS(t, c); m != "4after second" {
		t.Fatalf("got %q", m)
	}
	if !canRelease || !released || again {
		t.Errorf("CanReleaseReader %v, ReleaseReader %v then %v", canRelease, released, again)
	}
	// The session goes on as usual.
	writeWS(t, c, websocket.MessageText, "4third")
	if got := <-second; got != "third" {
		t.Errorf("third message %q", got)
	}
}

// Callbacks of polling requests cannot release anything.
func TestReleaseReaderPolling(t *testing.T) {
	res := make(chan [2]bool, 1)
	st := newTestServer(t, nil, func(s *Session) {
		s.OnMessage(func([]byte, bool) { res <- [2]bool{s.CanReleaseReader(), s.ReleaseReader()} })
	})
	_, q := st.open(t)
	st.post(t, q, "4x")
	if r := <-res; r[0] || r[1] {
		t.Errorf("CanReleaseReader %v, ReleaseReader %v on polling", r[0], r[1])
	}
}
