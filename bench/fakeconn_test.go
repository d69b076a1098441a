package bench

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/wsio/wsio/websocket"
)

// This file builds websocket.Conns over an in-memory net.Conn, without any
// network: the websocket package only makes Conns through Accept and Dial,
// so a server Conn comes from Accept over a hijackable ResponseWriter and a
// client Conn from Dial with a NetDialContext that returns the fake conn,
// which answers the handshake itself.

// replayConn is a net.Conn whose writes are discarded and whose reads
// replay a fixed byte stream over and over, so that a benchmark can read any
// number of frames without allocating or blocking.
type replayConn struct {
	stream []byte
	pos    int

	// Client handshake: the request is collected until its blank line, then
	// the response is read back before the stream.
	handshake bool
	req       []byte
	resp      []byte
	deflate   bool
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.resp) > 0 {
		n := copy(p, c.resp)
		c.resp = c.resp[n:]
		return n, nil
	}
	if c.handshake || len(c.stream) == 0 {
		return 0, errors.New("replayConn: nothing to read")
	}
	n := copy(p, c.stream[c.pos:])
	c.pos += n
	if c.pos == len(c.stream) {
		c.pos = 0
	}
	return n, nil
}

func (c *replayConn) Write(p []byte) (int, error) {
	if c.handshake {
		c.req = append(c.req, p...)
		if bytes.Contains(c.req, []byte("\r\n\r\n")) {
			if err := c.answer(); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}

// answer builds the server's 101 response to the collected request.
func (c *replayConn) answer() error {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(c.req)))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Accept: " + acceptFor(r.Header.Get("Sec-WebSocket-Key")) + "\r\n")
	if c.deflate {
		b.WriteString("Sec-WebSocket-Extensions: " + deflateOffer + "\r\n")
	}
	b.WriteString("\r\n")
	c.resp = b.Bytes()
	c.handshake = false
	return nil
}

func (c *replayConn) Close() error                     { return nil }
func (c *replayConn) LocalAddr() net.Addr              { return fakeAddr{} }
func (c *replayConn) RemoteAddr() net.Addr             { return fakeAddr{} }
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

type fakeAddr struct{}

func (fakeAddr) Network() string { return "fake" }
func (fakeAddr) String() string  { return "fake" }

const deflateOffer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// acceptFor computes Sec-WebSocket-Accept (RFC 6455 section 4.2.2).
func acceptFor(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// hijackWriter is an http.ResponseWriter whose connection can be hijacked.
type hijackWriter struct {
	h  http.Header
	nc net.Conn
}

func (w *hijackWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *hijackWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *hijackWriter) WriteHeader(int)             {}
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.nc, bufio.NewReadWriter(bufio.NewReader(w.nc), bufio.NewWriter(w.nc)), nil
}

// serverConn returns a server-side Conn over nc.
func serverConn(nc net.Conn, compress bool) (*websocket.Conn, error) {
	r := httptest.NewRequest(http.MethodGet, "http://bench.invalid/", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")))
	opts := &websocket.AcceptOptions{ReadLimit: 4 << 20}
	if compress {
		r.Header.Set("Sec-WebSocket-Extensions", deflateOffer)
		opts.Compression = websocket.CompressionNoContextTakeover
	}
	c, err := websocket.Accept(&hijackWriter{nc: nc}, r, opts)
	if err != nil {
		return nil, err
	}
	if c.Compressed() != compress {
		return nil, errors.New("permessage-deflate negotiation did not go as planned")
	}
	return c, nil
}

// clientConn returns a client-side Conn over rc, which answers the
// handshake.
func clientConn(rc *replayConn, compress bool) (*websocket.Conn, error) {
	rc.handshake, rc.deflate = true, compress
	opts := &websocket.DialOptions{
		ReadLimit:      4 << 20,
		NetDialContext: func(context.Context, string, string) (net.Conn, error) { return rc, nil },
		Proxy:          func(*http.Request) (*url.URL, error) { return nil, nil },
	}
	if compress {
		opts.Compression = websocket.CompressionNoContextTakeover
	}
	c, _, err := websocket.Dial(context.Background(), "ws://bench.invalid/", opts)
	if err != nil {
		return nil, err
	}
	if c.Compressed() != compress {
		return nil, errors.New("permessage-deflate negotiation did not go as planned")
	}
	return c, nil
}

// encodeFrame encodes one final binary frame carrying payload, masked with
// a fixed key when masked is set (frames from a client), compressed as
// RFC 7692 describes when compress is set.
func encodeFrame(payload []byte, masked, compress bool) []byte {
	b0 := byte(0x80 | 0x2) // FIN, binary
	if compress {
		var z bytes.Buffer
		fw, _ := flate.NewWriter(&z, flate.BestSpeed)
		_, _ = fw.Write(payload)
		_ = fw.Flush()
		payload = bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
		b0 |= 0x40 // RSV1
	}
	var out []byte
	var b1 byte
	if masked {
		b1 = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		out = append(out, b0, b1|byte(n))
	case n <= 0xFFFF:
		out = append(out, b0, b1|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, b0, b1|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if !masked {
		return append(out, payload...)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, key[:]...)
	for i, c := range payload {
		out = append(out, c^key[i&3])
	}
	return out
}

// frameStream returns enough copies of the frame to make a stream of at
// least 64 KiB, so that reads see frames at every alignment a buffered
// reader would.
func frameStream(frame []byte) []byte {
	var s []byte
	for len(s) < 64<<10 {
		s = append(s, frame...)
	}
	return s
}
