package websocket

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// onceConn serves fixed bytes on Read, then io.EOF, and records writes.
type onceConn struct {
	r   *bytes.Reader
	out bytes.Buffer
}

func (c *onceConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *onceConn) Write(p []byte) (int, error)        { return c.out.Write(p) }
func (c *onceConn) Close() error                       { return nil }
func (c *onceConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *onceConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *onceConn) SetDeadline(t time.Time) error      { return nil }
func (c *onceConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *onceConn) SetWriteDeadline(t time.Time) error { return nil }

// readAll reads messages from a connection fed with data until the first
// error, and checks that the error is one the protocol allows.
func readAll(t *testing.T, data []byte, server bool, defl *deflateConfig) {
	nc := &onceConn{r: bytes.NewReader(data)}
	c := newConn(connConfig{nc: nc, server: server, deflate: defl, readLimit: 1 << 16})
	ctx := context.Background()
	var buf []byte
	for i := 0; ; i++ {
		if i > len(data)+1 { // each message consumes at least two bytes
			t.Fatal("reader makes no progress")
		}
		typ, msg, err := c.ReadAppend(ctx, buf[:0])
		if err == nil {
			if typ == MessageText && !utf8.Valid(msg) {
				t.Fatalf("invalid UTF-8 delivered: %q", msg)
			}
			if len(msg) > 1<<16 {
				t.Fatalf("message of %d bytes over the limit", len(msg))
			}
			buf = msg
			continue
		}
		var ce *CloseError
		switch {
		case errors.As(err, &ce):
		case errors.Is(err, ErrProtocol), errors.Is(err, ErrInvalidUTF8), errors.Is(err, ErrMessageTooBig), errors.Is(err, ErrInvalidCompressed):
		default:
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
}

func seedFrames() [][]byte {
	masked := func(fs ...rawFrame) []byte {
		var b []byte
		for _, f := range fs {
			f.masked = true
			b = append(b, f.bytes()...)
		}
		return b
	}
	return [][]byte{
		masked(rawFrame{fin: true, op: opText, payload: []byte("hello")}),
		masked(rawFrame{fin: false, op: opText, payload: []byte("hel")}, rawFrame{fin: true, op: opPing}, rawFrame{fin: true, op: opContinuation, payload: []byte("lo")}),
		masked(rawFrame{fin: true, op: opBinary, payload: make([]byte, 300)}),
		masked(rawFrame{fin: true, op: opClose, payload: closePayload(1000, "bye")}),
		masked(rawFrame{fin: true, rsv1: true, op: opText, payload: deflated([]byte("compressed hello"))}),
		{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4},
		{0x81, 0x85, 1, 2, 3, 4, 0xff},
	}
}

func FuzzReadFrames(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s, true, false)
		f.Add(s, true, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, server, compress bool) {
		var defl *deflateConfig
		if compress {
			defl = &deflateConfig{level: 1, threshold: 512}
		}
		readAll(t, data, server, defl)
	})
}

func FuzzInflate(f *testing.F) {
	f.Add(deflated([]byte("hello hello hello")), true, true)
	f.Add(deflated(make([]byte, 1<<17)), false, false)
	f.Add([]byte{0xff, 0x00, 0x12}, true, false)
	f.Fuzz(func(t *testing.T, payload []byte, text, takeover bool) {
		op := opBinary
		if text {
			op = opText
		}
		frame := rawFrame{fin: true, rsv1: true, op: op, payload: payload, masked: true}.bytes()
		defl := &deflateConfig{level: 1, threshold: 512, readNoTakeover: !takeover}
		readAll(t, append(frame, frame...), true, defl)
	})
}

func FuzzHandshakeRequest(f *testing.F) {
	f.Add("GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
	f.Add("GET / HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10, permessage-deflate;;=\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		key, herr := checkRequest(r)
		if herr == nil && len(key) != 24 {
			t.Fatalf("accepted key %q", key)
		}
		_ = checkOrigin(r, []string{"*.example.com"})
		_ = selectSubprotocol(r, []string{"chat"})
		exts, _ := parseExtensions(r.Header)
		for _, mode := range []CompressionMode{CompressionNoContextTakeover, CompressionContextTakeover} {
			if p, ok := negotiateDeflate(exts, mode); ok {
				// What we answer must parse back as a valid response.
				h := http.Header{"Sec-Websocket-Extensions": {p.String()}}
				back, ok := parseExtensions(h)
				if !ok || len(back) != 1 {
					t.Fatalf("response %q does not parse", p.String())
				}
				if _, ok := parseDeflateParams(back[0].params, false); !ok {
					t.Fatalf("response %q has invalid params", p.String())
				}
			}
		}
	})
}

func FuzzHandshakeResponse(f *testing.F) {
	f.Add("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n", true)
	f.Add("HTTP/1.1 101 OK\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: foo, permessage-deflate; client_max_window_bits=8\r\n\r\n", false)
	f.Fuzz(func(t *testing.T, raw string, compress bool) {
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
		if err != nil {
			return
		}
		o := &DialOptions{Subprotocols: []string{"chat"}}
		if compress {
			o.Compression = CompressionContextTakeover
		}
		_ = verifyResponse(resp, "dGhlIHNhbXBsZSBub25jZQ==", o)
		defl, err := responseDeflate(resp, o)
		if err == nil && defl != nil && !compress {
			t.Fatal("compression accepted without an offer")
		}
	})
}

func FuzzUTF8(f *testing.F) {
	f.Add([]byte("hello, мир \U0001F600"), 3)
	f.Add([]byte{0xed, 0xa0, 0x80}, 1)
	f.Add([]byte{0xf4, 0x90, 0x80, 0x80}, 2)
	f.Fuzz(func(t *testing.T, p []byte, split int) {
		if split < 0 {
			split = -split
		}
		if len(p) > 0 {
			split %= len(p) + 1
		} else {
			split = 0
		}
		var v utf8Validator
		got := v.feed(p[:split]) && v.feed(p[split:]) && v.complete()
		if got != utf8.Valid(p) {
			t.Fatalf("%x split %d: validator %v, unicode/utf8 %v", p, split, got, utf8.Valid(p))
		}
	})
}
