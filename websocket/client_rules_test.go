package websocket

import (
	"bytes"
	"errors"
	"testing"
)

// The server-side rules, checked again on the client: a raw server sends
// the frames and reports the close code our client answers with.

// clientVerdict runs frames from a raw server against our client and
// returns the client's read error and the close code it sent.
func clientVerdict(t *testing.T, opts *DialOptions, extra []string, frames ...rawFrame) (StatusCode, error) {
	t.Helper()
	sent := make(chan StatusCode, 1)
	url := rawServer(t, extra, func(p *rawPeer) {
		for _, f := range frames {
			p.send(f)
		}
		code := StatusCode(-1)
		for range 100 {
			f, err := p.recv()
			if err != nil {
				break
			}
			if f.op == opClose {
				code = StatusNoStatusRcvd
				if len(f.payload) >= 2 {
					code = StatusCode(int(f.payload[0])<<8 | int(f.payload[1]))
				}
				break
			}
		}
		sent <- code
	})
	c, _, err := Dial(testCtx(t), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var readErr error
	for range 100 {
		if _, _, readErr = c.Read(testCtx(t)); readErr != nil {
			break
		}
	}
	return <-sent, readErr
}

func TestClientRules(t *testing.T) {
	cases := []struct {
		name   string
		frames []rawFrame
		code   StatusCode
		err    error
	}{
		{"RSV1 without extension", []rawFrame{{fin: true, rsv1: true, op: opText}}, StatusProtocolError, ErrProtocol},
		{"fragmented ping", []rawFrame{{fin: false, op: opPing}}, StatusProtocolError, ErrProtocol},
		{"text inside fragmented text", []rawFrame{{fin: false, op: opText, payload: []byte("a")}, {fin: true, op: opText}}, StatusProtocolError, ErrProtocol},
		{"invalid UTF-8", []rawFrame{{fin: true, op: opText, payload: []byte{0xc0, 0xaf}}}, StatusInvalidFramePayloadData, ErrInvalidUTF8},
		{"UTF-8 fails fast", []rawFrame{{fin: false, op: opText, payload: []byte{0xed, 0xa0}}}, StatusInvalidFramePayloadData, ErrInvalidUTF8},
		{"close 1 byte", []rawFrame{{fin: true, op: opClose, payload: []byte{3}}}, StatusProtocolError, ErrProtocol},
		{"close code 1005", []rawFrame{{fin: true, op: opClose, payload: closePayload(1005, "")}}, StatusProtocolError, ErrProtocol},
		{"close reason not UTF-8", []rawFrame{{fin: true, op: opClose, payload: append(closePayload(1000, ""), 0xff)}}, StatusInvalidFramePayloadData, ErrInvalidUTF8},
		{"over the read limit", []rawFrame{{fin: true, op: opBinary, length: 2000}}, StatusMessageTooBig, ErrMessageTooBig},
		{"limit across fragments", []rawFrame{{fin: false, op: opBinary, payload: make([]byte, 600)}, {fin: true, op: opContinuation, length: 600}}, StatusMessageTooBig, ErrMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, err := clientVerdict(t, &DialOptions{ReadLimit: 1000}, nil, tc.frames...)
			if !errors.Is(err, tc.err) {
				t.Fatalf("read error %v, want %v", err, tc.err)
			}
			if code != tc.code {
				t.Fatalf("client closed with %v, want %v", code, tc.code)
			}
		})
	}
}

func TestClientFragmentedAndInterleaved(t *testing.T) {
	url := rawServer(t, nil, func(p *rawPeer) {
		p.send(rawFrame{fin: false, op: opText, payload: []byte("héllo ")})
		p.send(rawFrame{fin: true, op: opPong, payload: []byte("unsolicited")})
		p.send(rawFrame{fin: false, op: opContinuation, payload: []byte{0xc3}}) // a character split across frames
		p.send(rawFrame{fin: true, op: opContinuation, payload: []byte{0xa9}})
		_, _ = p.recv()
	})
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	typ, msg, err := c.Read(testCtx(t))
	if err != nil || typ != MessageText || string(msg) != "héllo é" {
		t.Fatalf("%v %q %v", typ, msg, err)
	}
}

func TestClientCompressedFromRawServer(t *testing.T) {
	payload := bytes.Repeat([]byte("compressed by the server "), 100)
	z := deflated(payload)
	url := rawServer(t, []string{"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, func(p *rawPeer) {
		p.send(rawFrame{fin: false, rsv1: true, op: opBinary, payload: z[:10]})
		p.send(rawFrame{fin: true, op: opContinuation, payload: z[10:]})
		p.send(rawFrame{fin: true, rsv1: true, op: opBinary, payload: deflated(make([]byte, 1<<20))}) // bomb for a 1000-byte limit
		_, _ = p.recv()
	})
	c, _, err := Dial(testCtx(t), url, &DialOptions{Compression: CompressionNoContextTakeover, ReadLimit: 4000})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, msg, err := c.Read(testCtx(t)); err != nil || !bytes.Equal(msg, payload) {
		t.Fatalf("%d bytes %v", len(msg), err)
	}
	if _, _, err := c.Read(testCtx(t)); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("bomb: %v", err)
	}
}
