package websocket

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// Tests of the client side: a raw server sends frames to our Dial client.

// clientRead dials a raw server running fn and returns the client's first
// read result.
func clientRead(t *testing.T, fn func(p *rawPeer)) (*Conn, MessageType, []byte, error) {
	url := rawServer(t, nil, fn)
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	typ, msg, err := c.Read(testCtx(t))
	return c, typ, msg, err
}

func TestClientReadsFramesOfEveryLength(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 65535, 65536, 300000}
	url := rawServer(t, nil, func(p *rawPeer) {
		for _, n := range sizes {
			p.send(rawFrame{fin: true, op: opBinary, payload: bytes.Repeat([]byte{7}, n)})
		}
		_, _ = p.recv() // wait for the client's close
	})
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, n := range sizes {
		typ, msg, err := c.Read(testCtx(t))
		if err != nil || typ != MessageBinary || len(msg) != n {
			t.Fatalf("size %d: %v %d %v", n, typ, len(msg), err)
		}
	}
}

func TestClientMasksEveryFrameWithFreshKeys(t *testing.T) {
	keys := make(chan [4]byte, 20)
	url := rawServer(t, nil, func(p *rawPeer) {
		defer close(keys)
		for range 20 {
			var b [6]byte
			if _, err := p.br.Read(b[:2]); err != nil {
				return
			}
			if b[1]&0x80 == 0 {
				t.Errorf("client frame not masked")
				return
			}
			n := int(b[1] & 0x7f)
			key := make([]byte, 4+n)
			if _, err := ioReadFull(p, key); err != nil {
				return
			}
			keys <- [4]byte(key[:4])
			payload := key[4:]
			maskBytes([4]byte(key[:4]), 0, payload)
			if string(payload) != "same" {
				t.Errorf("payload %q", payload)
			}
		}
	})
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for range 20 {
		if err := c.Write(testCtx(t), MessageText, []byte("same")); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[[4]byte]bool{}
	for k := range keys {
		seen[k] = true
	}
	if len(seen) < 19 {
		t.Fatalf("only %d distinct mask keys in 20 frames", len(seen))
	}
}

func ioReadFull(p *rawPeer, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := p.br.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestClientRejectsMaskedFrame(t *testing.T) {
	closeCode := make(chan StatusCode, 1)
	url := rawServer(t, nil, func(p *rawPeer) {
		p.send(rawFrame{fin: true, op: opText, payload: []byte("masked"), masked: true})
		f, err := p.recv()
		if err == nil && f.op == opClose && len(f.payload) >= 2 {
			closeCode <- StatusCode(int(f.payload[0])<<8 | int(f.payload[1]))
		}
		close(closeCode)
	})
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(testCtx(t)); !errors.Is(err, ErrProtocol) {
		t.Fatalf("err = %v", err)
	}
	if code := <-closeCode; code != StatusProtocolError {
		t.Fatalf("client sent close %v", code)
	}
}

func TestClientProtocolErrors(t *testing.T) {
	cases := map[string]rawFrame{
		"rsv2":            {fin: true, rsv2: true, op: opText},
		"opcode 5":        {fin: true, op: 5},
		"big ping":        {fin: true, op: opPing, payload: make([]byte, 200)},
		"orphan fragment": {fin: true, op: opContinuation, payload: []byte("x")},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := clientRead(t, func(p *rawPeer) { p.send(f); _, _ = p.recv() })
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestClientAnswersPingAndSeesServerClose(t *testing.T) {
	pong := make(chan string, 1)
	url := rawServer(t, nil, func(p *rawPeer) {
		p.send(rawFrame{fin: true, op: opPing, payload: []byte("are you there")})
		f, err := p.recv()
		if err == nil && f.op == opPong {
			pong <- string(f.payload)
		}
		p.send(rawFrame{fin: true, op: opClose, payload: closePayload(4001, "server says bye")})
		f, err = p.recv()
		if err != nil || f.op != opClose || !bytes.Equal(f.payload, closePayload(4001, "")) {
			t.Errorf("client's close reply: %v %q %v", f.op, f.payload, err)
		}
	})
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, _, err = c.Read(testCtx(t))
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "server says bye" {
		t.Fatalf("err = %v", err)
	}
	if CloseStatus(err) != 4001 {
		t.Fatalf("CloseStatus = %v", CloseStatus(err))
	}
	if got := <-pong; got != "are you there" {
		t.Fatalf("pong %q", got)
	}
	// Reads after the close keep returning the close error.
	if _, _, err2 := c.Read(testCtx(t)); CloseStatus(err2) != 4001 {
		t.Fatalf("second read: %v", err2)
	}
	if err := c.Write(testCtx(t), MessageText, []byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestClientConnectionLost(t *testing.T) {
	_, _, _, err := clientRead(t, func(p *rawPeer) {
		p.sendBytes([]byte{0x81, 0x05, 'h', 'e'}) // half a frame, then the TCP connection ends
	})
	if CloseStatus(err) != StatusAbnormalClosure {
		t.Fatalf("err = %v", err)
	}
}

func TestCloseHandshake(t *testing.T) {
	errs := make(chan error, 1)
	url := echoServer(t, nil, errs)
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(4000, "done"); err != nil {
		t.Fatal(err)
	}
	var ce *CloseError
	if err := <-errs; !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "done" {
		t.Fatalf("server saw %v", err)
	}
	if err := c.Close(StatusNormalClosure, ""); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed")
	}
}

func TestCloseWhileAnotherGoroutineReads(t *testing.T) {
	url := echoServer(t, nil, nil)
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.Read(context.Background())
		readErr <- err
	}()
	time.Sleep(10 * time.Millisecond)
	start := time.Now()
	if err := c.Close(StatusGoingAway, "leaving"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := <-readErr; CloseStatus(err) != StatusGoingAway {
		t.Fatalf("reader got %v", err)
	}
}

func TestCloseWaitIsBounded(t *testing.T) {
	old := closeTimeout
	closeTimeout = 200 * time.Millisecond
	defer func() { closeTimeout = old }()
	url := rawServer(t, nil, func(p *rawPeer) {
		_, _ = p.recv() // reads our close frame, never answers
		time.Sleep(time.Second)
	})
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Close(StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("Close returned after %v", d)
	}
}

func TestCloseRejectsInvalidValues(t *testing.T) {
	url := echoServer(t, nil, nil)
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, code := range []StatusCode{0, 999, 1004, 1005 + 1, 1006, 1015, 2000, 5000} {
		if err := c.Close(code, ""); !errors.Is(err, ErrInvalidCloseCode) {
			t.Errorf("Close(%d): %v", code, err)
		}
	}
	if err := c.Close(1000, string(make([]byte, 124))); !errors.Is(err, ErrCloseReason) {
		t.Errorf("124-byte reason: %v", err)
	}
	if err := c.Close(1000, "\xff"); !errors.Is(err, ErrCloseReason) {
		t.Errorf("invalid UTF-8 reason: %v", err)
	}
	// The connection is still usable after refused Close calls.
	if err := c.Write(testCtx(t), MessageText, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(testCtx(t)); err != nil || string(msg) != "ok" {
		t.Fatalf("%q %v", msg, err)
	}
}

func TestPing(t *testing.T) {
	url := echoServer(t, nil, nil)
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		_, _, _ = c.Read(context.Background())
	}()
	for range 3 {
		if err := c.Ping(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	c.CloseNow()
	<-readDone
}

func TestReadContextCancel(t *testing.T) {
	url := echoServer(t, nil, nil)
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := c.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	select {
	case <-c.Done():
	case <-time.After(time.Second):
		t.Fatal("connection not closed after an interrupted read")
	}
}

func TestCompletedReadIgnoresLaterCancel(t *testing.T) {
	url := echoServer(t, nil, nil)
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		if err := c.Write(ctx, MessageText, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatal(err)
		}
		cancel() // after completion: must not poison the next operation
	}
	if _, _, err := func() (MessageType, []byte, error) {
		_ = c.Write(context.Background(), MessageText, []byte("y"))
		return c.Read(testCtx(t))
	}(); err != nil {
		t.Fatal(err)
	}
}
