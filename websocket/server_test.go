package websocket

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Tests of the server side, in the spirit of the Autobahn test suite: a raw
// client sends frames and checks what our echo server answers.

func TestServerFramingLengths(t *testing.T) { // Autobahn 1.x
	url := echoServer(t, &AcceptOptions{ReadLimit: -1}, nil)
	p, _ := dialRaw(t, url)
	for _, n := range []int{0, 1, 125, 126, 127, 128, 65535, 65536, 1 << 20} {
		for _, op := range []opcode{opText, opBinary} {
			payload := bytes.Repeat([]byte{'*'}, n)
			p.send(rawFrame{fin: true, op: op, payload: payload})
			f := p.mustRecv()
			if f.op != op || !f.fin || !bytes.Equal(f.payload, payload) || f.masked {
				t.Fatalf("len %d op %v: echo op=%v fin=%v masked=%v len=%d", n, op, f.op, f.fin, f.masked, len(f.payload))
			}
		}
	}
	p.send(rawFrame{fin: true, op: opClose, payload: closePayload(StatusNormalClosure, "")})
	p.expectClose(StatusNormalClosure)
}

func TestServerFramingHeaderInPieces(t *testing.T) {
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	b := rawFrame{fin: true, op: opText, payload: []byte(strings.Repeat("x", 300)), masked: true}.bytes()
	for i := range b { // one byte per write: the reader must reassemble
		p.sendBytes(b[i : i+1])
	}
	if f := p.mustRecv(); string(f.payload) != strings.Repeat("x", 300) {
		t.Fatalf("echo %q", f.payload)
	}
}

func TestServerPings(t *testing.T) { // Autobahn 2.x
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	for _, payload := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{0xfe}, 125)} {
		p.send(rawFrame{fin: true, op: opPing, payload: payload})
		f := p.mustRecv()
		if f.op != opPong || !bytes.Equal(f.payload, payload) {
			t.Fatalf("ping %d bytes: got op %v payload %d bytes", len(payload), f.op, len(f.payload))
		}
	}
	// Unsolicited pongs are ignored; ten pings get ten pongs.
	p.send(rawFrame{fin: true, op: opPong, payload: []byte("unsolicited")})
	for i := range 10 {
		p.send(rawFrame{fin: true, op: opPing, payload: []byte{byte(i)}})
	}
	for i := range 10 {
		if f := p.mustRecv(); f.op != opPong || f.payload[0] != byte(i) {
			t.Fatalf("pong %d: %v %v", i, f.op, f.payload)
		}
	}
	p.text("still here")
	if f := p.mustRecv(); string(f.payload) != "still here" {
		t.Fatalf("echo after pings: %q", f.payload)
	}
}

func TestServerProtocolViolations(t *testing.T) { // Autobahn 2.5, 3.x, 4.x, 5.x
	cases := []struct {
		name   string
		frames []rawFrame
	}{
		{"ping 126 bytes", []rawFrame{{fin: true, op: opPing, payload: make([]byte, 126)}}},
		{"fragmented ping", []rawFrame{{fin: false, op: opPing, payload: []byte("a")}}},
		{"RSV1 without extension", []rawFrame{{fin: true, rsv1: true, op: opText, payload: []byte("a")}}},
		{"RSV2", []rawFrame{{fin: true, rsv2: true, op: opText, payload: []byte("a")}}},
		{"RSV3", []rawFrame{{fin: true, rsv3: true, op: opBinary, payload: []byte("a")}}},
		{"RSV on ping", []rawFrame{{fin: true, rsv1: true, rsv2: true, rsv3: true, op: opPing}}},
		{"opcode 3", []rawFrame{{fin: true, op: 3}}},
		{"opcode 7", []rawFrame{{fin: true, op: 7, payload: []byte("x")}}},
		{"opcode 0xB", []rawFrame{{fin: true, op: 0xB}}},
		{"opcode 0xF", []rawFrame{{fin: true, op: 0xF, payload: []byte("x")}}},
		{"continuation first", []rawFrame{{fin: true, op: opContinuation, payload: []byte("x")}}},
		{"continuation not final first", []rawFrame{{fin: false, op: opContinuation, payload: []byte("x")}}},
		{"text inside fragmented text", []rawFrame{{fin: false, op: opText, payload: []byte("a")}, {fin: true, op: opText, payload: []byte("b")}}},
		{"close 1 byte", []rawFrame{{fin: true, op: opClose, payload: []byte{0x03}}}},
		{"close fragmented", []rawFrame{{fin: false, op: opClose}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := make(chan error, 1)
			url := echoServer(t, nil, errs)
			p, _ := dialRaw(t, url)
			for _, f := range tc.frames {
				p.send(f)
			}
			p.expectClose(StatusProtocolError)
			p.expectEOF()
			if err := <-errs; !errors.Is(err, ErrProtocol) {
				t.Fatalf("server read error %v, want ErrProtocol", err)
			}
		})
	}
}

func TestServerRejectsUnmaskedFrame(t *testing.T) {
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	p.client = false
	p.send(rawFrame{fin: true, op: opText, payload: []byte("plain")})
	p.expectClose(StatusProtocolError)
}

func TestServerRejectsLengthWithTopBit(t *testing.T) {
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	p.sendBytes([]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4})
	p.expectClose(StatusProtocolError)
}

func TestServerFragmentation(t *testing.T) { // Autobahn 5.x
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	p.send(rawFrame{fin: false, op: opText, payload: []byte("frag")})
	p.send(rawFrame{fin: true, op: opPing, payload: []byte("mid")}) // control frame inside a message
	p.send(rawFrame{fin: false, op: opContinuation, payload: []byte("men")})
	p.send(rawFrame{fin: false, op: opContinuation}) // empty fragment
	p.send(rawFrame{fin: true, op: opContinuation, payload: []byte("ted")})
	if f := p.mustRecv(); f.op != opPong || string(f.payload) != "mid" {
		t.Fatalf("pong inside fragmented message: %v %q", f.op, f.payload)
	}
	var got []byte
	for {
		f := p.mustRecv()
		got = append(got, f.payload...)
		if f.fin {
			break
		}
	}
	if string(got) != "fragmented" {
		t.Fatalf("echo %q", got)
	}
	// Fragmented binary with one-byte fragments.
	for i := range 5 {
		op := opBinary
		if i > 0 {
			op = opContinuation
		}
		p.send(rawFrame{fin: i == 4, op: op, payload: []byte{byte(i)}})
	}
	got = nil
	for {
		f := p.mustRecv()
		got = append(got, f.payload...)
		if f.fin {
			break
		}
	}
	if !bytes.Equal(got, []byte{0, 1, 2, 3, 4}) {
		t.Fatalf("binary echo %v", got)
	}
}

func TestServerUTF8(t *testing.T) { // Autobahn 6.x
	valid := "κόσμε, Hello-µ@ßöäüàá-UTF-8!! \U0001F600 \u00e9\u0800\uffff\U0010FFFF"
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	b := []byte(valid)
	for split := range len(b) + 1 { // every split point across two fragments
		p.send(rawFrame{fin: false, op: opText, payload: b[:split]})
		p.send(rawFrame{fin: true, op: opContinuation, payload: b[split:]})
		var got []byte
		for {
			f := p.mustRecv()
			got = append(got, f.payload...)
			if f.fin {
				break
			}
		}
		if string(got) != valid {
			t.Fatalf("split %d: echo %q", split, got)
		}
	}

	invalid := [][]byte{
		{0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64}, // surrogate
		{0xc0, 0xaf},             // overlong
		{0xf4, 0x90, 0x80, 0x80}, // above U+10FFFF
		{0xff},
		{0x80},
		{0xe0, 0x80, 0xaf},
	}
	for i, bad := range invalid {
		t.Run("invalid", func(t *testing.T) {
			url := echoServer(t, nil, nil)
			p, _ := dialRaw(t, url)
			p.send(rawFrame{fin: true, op: opText, payload: bad})
			p.expectClose(StatusInvalidFramePayloadData)
			_ = i
		})
	}
}

func TestServerUTF8FailsFast(t *testing.T) {
	// The bad byte comes in the first fragment; the message never ends, yet
	// the server must close with 1007 at once.
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	p.send(rawFrame{fin: false, op: opText, payload: []byte{'o', 'k', 0xff}})
	p.expectClose(StatusInvalidFramePayloadData)
}

func TestServerUTF8TruncatedAtEnd(t *testing.T) {
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	p.send(rawFrame{fin: true, op: opText, payload: []byte{'a', 0xe2, 0x82}}) // incomplete €
	p.expectClose(StatusInvalidFramePayloadData)
}

func TestServerCloseCodes(t *testing.T) { // Autobahn 7.x
	for _, code := range []StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		errs := make(chan error, 1)
		url := echoServer(t, nil, errs)
		p, _ := dialRaw(t, url)
		p.send(rawFrame{fin: true, op: opClose, payload: closePayload(code, "reason")})
		p.expectClose(code)
		p.expectEOF()
		var ce *CloseError
		if err := <-errs; !errors.As(err, &ce) || ce.Code != code || ce.Reason != "reason" {
			t.Fatalf("code %d: server saw %v", code, err)
		}
	}
	for _, code := range []StatusCode{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		url := echoServer(t, nil, nil)
		p, _ := dialRaw(t, url)
		p.send(rawFrame{fin: true, op: opClose, payload: closePayload(code, "")})
		p.expectClose(StatusProtocolError)
	}
}

func TestServerCloseEmptyAndReasons(t *testing.T) {
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	p.send(rawFrame{fin: true, op: opClose})
	p.expectClose(StatusNoStatusRcvd) // empty close answered with an empty close

	url = echoServer(t, nil, nil)
	p, _ = dialRaw(t, url)
	p.send(rawFrame{fin: true, op: opClose, payload: closePayload(1000, strings.Repeat("r", 123))})
	p.expectClose(StatusNormalClosure)

	url = echoServer(t, nil, nil)
	p, _ = dialRaw(t, url)
	p.send(rawFrame{fin: true, op: opClose, payload: append(closePayload(1000, ""), 0xff, 0xfe)})
	p.expectClose(StatusInvalidFramePayloadData)
}

func TestServerIgnoresDataAfterClose(t *testing.T) {
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	// One write for all three frames: the server may close TCP as soon as it
	// has answered the close, so a second write could meet a broken pipe.
	var b []byte
	for _, f := range []rawFrame{
		{fin: true, op: opClose, payload: closePayload(1000, "")},
		{fin: true, op: opText, payload: []byte("after close")},
		{fin: true, op: opPing},
	} {
		f.masked = true
		b = append(b, f.bytes()...)
	}
	p.sendBytes(b)
	p.expectClose(StatusNormalClosure)
	for range 100 {
		f, err := p.recv()
		if err != nil {
			return
		}
		t.Fatalf("frame after close: %v %q", f.op, f.payload)
	}
}

func TestServerReadLimit(t *testing.T) { // Autobahn 9.x limits
	errs := make(chan error, 1)
	url := echoServer(t, &AcceptOptions{ReadLimit: 1000}, errs)
	p, _ := dialRaw(t, url)
	p.send(rawFrame{fin: true, op: opBinary, payload: make([]byte, 1000)})
	if f := p.mustRecv(); len(f.payload) != 1000 {
		t.Fatalf("echo of a message at the limit: %d bytes", len(f.payload))
	}
	// A header announcing 2^40 bytes, with no payload behind it: the server
	// must close at once, without waiting for (or allocating) the payload.
	p.send(rawFrame{fin: true, op: opBinary, length: 1 << 40})
	p.expectClose(StatusMessageTooBig)
	if err := <-errs; !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("server error %v", err)
	}
}

func TestServerReadLimitAcrossFragments(t *testing.T) {
	url := echoServer(t, &AcceptOptions{ReadLimit: 100}, nil)
	p, _ := dialRaw(t, url)
	p.send(rawFrame{fin: false, op: opText, payload: make([]byte, 60)})
	p.send(rawFrame{fin: false, op: opContinuation, length: 60})
	p.expectClose(StatusMessageTooBig)
}

func TestServerDefaultReadLimit(t *testing.T) {
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	p.send(rawFrame{fin: true, op: opBinary, length: DefaultReadLimit + 1})
	p.expectClose(StatusMessageTooBig)
}

func TestUTF8ValidatorMatchesStdlib(t *testing.T) {
	inputs := [][]byte{
		[]byte("plain ascii text that is long enough for the word loop"),
		[]byte("\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd\xf4\x8f\xbf\xbf"),
		{0xed, 0xa0, 0x80}, {0xf0, 0x8f, 0xbf, 0xbf}, {0xc1, 0xbf}, {0xe0, 0x9f, 0xbf},
	}
	for _, in := range inputs {
		for split := range len(in) + 1 {
			var v utf8Validator
			ok := v.feed(in[:split]) && v.feed(in[split:]) && v.complete()
			if ok != utf8.Valid(in) {
				t.Fatalf("%x split %d: validator %v, stdlib %v", in, split, ok, utf8.Valid(in))
			}
		}
	}
}

func TestServerWaitsForMessageHeader(t *testing.T) {
	// A slow client: the header trickles in over time and the server must
	// not give up or misparse.
	url := echoServer(t, nil, nil)
	p, _ := dialRaw(t, url)
	b := rawFrame{fin: true, op: opText, payload: []byte("slow"), masked: true}.bytes()
	p.sendBytes(b[:1])
	time.Sleep(20 * time.Millisecond)
	p.sendBytes(b[1:])
	if f := p.mustRecv(); string(f.payload) != "slow" {
		t.Fatalf("echo %q", f.payload)
	}
}

func TestUnlimitedReadDoesNotTrustAnnouncedLength(t *testing.T) {
	// No read limit, and a header announcing 2^62 bytes: the reader must
	// not try to allocate that, only what arrives, and fail cleanly when
	// the peer hangs up.
	errs := make(chan error, 1)
	url := echoServer(t, &AcceptOptions{ReadLimit: -1}, errs)
	p, _ := dialRaw(t, url)
	p.send(rawFrame{fin: true, op: opBinary, length: 1 << 62, payload: []byte("only this")})
	p.nc.Close()
	if err := <-errs; CloseStatus(err) != StatusAbnormalClosure {
		t.Fatalf("server error %v", err)
	}
}
