package websocket

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestConcurrentWritersNeverInterleave(t *testing.T) {
	for _, mode := range []CompressionMode{CompressionDisabled, CompressionContextTakeover} {
		url := echoServer(t, &AcceptOptions{Compression: mode, ReadLimit: -1}, nil)
		c, _, err := Dial(testCtx(t), url, &DialOptions{Compression: mode, ReadLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		const writers, each = 8, 25
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					msg := bytes.Repeat([]byte{byte('a' + w)}, 1000+i*700)
					if err := c.Write(context.Background(), MessageBinary, msg); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		counts := map[byte]int{}
		for range writers * each {
			_, msg, err := c.Read(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Count(msg, msg[:1]) != len(msg) {
				t.Fatal("a message mixes bytes of two writers")
			}
			counts[msg[0]]++
		}
		wg.Wait()
		for w := range writers {
			if counts[byte('a'+w)] != each {
				t.Fatalf("writer %d: %d messages", w, counts[byte('a'+w)])
			}
		}
		c.CloseNow()
	}
}

func TestWritesAfterCloseFailWithoutPanic(t *testing.T) {
	url := echoServer(t, nil, nil)
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if err := c.Write(context.Background(), MessageText, []byte("spam")); err != nil {
					return
				}
			}
		})
	}
	wg.Go(func() { _ = c.Close(StatusNormalClosure, "") })
	wg.Wait()
	if err := c.Write(context.Background(), MessageText, []byte("late")); err == nil {
		t.Fatal("write after close succeeded")
	}
	if _, err := c.Writer(context.Background(), MessageText); err == nil {
		t.Fatal("Writer after close succeeded")
	}
}

func TestStreamingWriterLetsControlFramesThrough(t *testing.T) {
	// While our server streams a message, the client pings; the pong must
	// arrive between fragments rather than after the whole message.
	release := make(chan struct{})
	url := serve(t, nil, nil, func(c *Conn) error {
		defer c.CloseNow()
		go func() { _, _, _ = c.Read(context.Background()) }() // answers pings
		w, err := c.Writer(context.Background(), MessageBinary)
		if err != nil {
			return err
		}
		_, _ = w.Write(make([]byte, writeChunk)) // first fragment goes out
		<-release
		_, _ = w.Write([]byte("rest"))
		return w.Close()
	})
	p, _ := dialRaw(t, url)
	if f := p.mustRecv(); f.op != opBinary || f.fin {
		t.Fatalf("first fragment: op %v fin %v", f.op, f.fin)
	}
	p.send(rawFrame{fin: true, op: opPing, payload: []byte("mid-stream")})
	if f := p.mustRecv(); f.op != opPong || string(f.payload) != "mid-stream" {
		t.Fatalf("got %v %q while the message was open", f.op, f.payload)
	}
	close(release)
	var rest []byte
	for {
		f := p.mustRecv()
		if f.op != opContinuation {
			t.Fatalf("op %v inside a fragmented message", f.op)
		}
		rest = append(rest, f.payload...)
		if f.fin {
			break
		}
	}
	if string(rest) != "rest" {
		t.Fatalf("final fragments %q", rest)
	}
}

func TestReaderDiscardsUnreadRest(t *testing.T) {
	url := echoServer(t, nil, nil)
	c, _, err := Dial(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_ = c.Write(testCtx(t), MessageText, []byte(strings.Repeat("first ", 1000)))
	_ = c.Write(testCtx(t), MessageText, []byte("second"))
	_, r, err := c.Reader(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	_, msg, err := c.Read(testCtx(t))
	if err != nil || string(msg) != "second" {
		t.Fatalf("%q %v", msg, err)
	}
}

func TestPreparedMessage(t *testing.T) {
	for _, mode := range []CompressionMode{CompressionDisabled, CompressionNoContextTakeover, CompressionContextTakeover} {
		url := echoServer(t, &AcceptOptions{Compression: mode}, nil)
		conns := make([]*Conn, 3)
		for i := range conns {
			c, _, err := Dial(testCtx(t), url, &DialOptions{Compression: mode})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			conns[i] = c
		}
		for _, payload := range [][]byte{[]byte("small"), compressible(5000)} {
			pm, err := NewPreparedMessage(MessageText, payload)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range conns { // client side: masked per frame
				if err := c.WritePrepared(testCtx(t), pm); err != nil {
					t.Fatal(err)
				}
				if _, got, err := c.Read(testCtx(t)); err != nil || !bytes.Equal(got, payload) {
					t.Fatalf("mode %d: %d bytes %v", mode, len(got), err)
				}
			}
		}
	}
}

func TestPreparedMessageSameBytesToEveryServerConn(t *testing.T) {
	payload := compressible(4000)
	pm, _ := NewPreparedMessage(MessageBinary, payload)
	var mu sync.Mutex
	var frames [][]byte
	capture := func(nc net.Conn) net.Conn { return &captureConn{Conn: nc, mu: &mu, out: &frames} }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(&hijackWrap{ResponseWriter: w, wrap: capture}, r, &AcceptOptions{Compression: CompressionNoContextTakeover})
		if err != nil {
			return
		}
		defer c.CloseNow()
		_ = c.WritePrepared(context.Background(), pm)
		_, _, _ = c.Read(context.Background())
	}))
	defer srv.Close()
	for range 3 {
		c, _, err := Dial(testCtx(t), "ws"+strings.TrimPrefix(srv.URL, "http"), &DialOptions{Compression: CompressionNoContextTakeover})
		if err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.Read(testCtx(t)); err != nil || !bytes.Equal(got, payload) {
			t.Fatal(err)
		}
		c.CloseNow()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(frames) < 3 {
		t.Fatalf("%d frames captured", len(frames))
	}
	for _, f := range frames[1:3] {
		if &f[0] != &frames[0][0] {
			t.Fatal("prepared frame was re-encoded for another connection")
		}
	}
}

// captureConn records the slices written to it, to check which buffers a
// prepared message writes.
type captureConn struct {
	net.Conn
	mu  *sync.Mutex
	out *[][]byte
}

func (c *captureConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if len(p) > 0 && p[0] == 0xC2 && len(*c.out) < 3 { // FIN+RSV1 binary: the prepared frame
		*c.out = append(*c.out, p)
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// hijackWrap substitutes the hijacked connection.
type hijackWrap struct {
	http.ResponseWriter
	wrap func(net.Conn) net.Conn
}

func (h *hijackWrap) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return h.wrap(nc), brw, nil
}

func TestIdleConnectionHoldsNoPooledBuffer(t *testing.T) {
	// The server checks its own read state between messages, on the reading
	// goroutine: after every message it must hold no pooled buffer.
	held := make(chan bool, 10)
	url := serve(t, &AcceptOptions{ReadLimit: -1}, nil, func(c *Conn) error {
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(context.Background())
			if err != nil {
				return err
			}
			held <- c.rd.br.pooled != nil
			if err := c.Write(context.Background(), typ, msg); err != nil {
				return err
			}
		}
	})
	c, _, err := Dial(testCtx(t), url, &DialOptions{ReadLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, n := range []int{10, 5000, 200000} {
		if err := c.Write(testCtx(t), MessageBinary, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Read(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if c.rd.br.pooled != nil {
			t.Fatalf("client kept a pooled read buffer after a %d-byte message", n)
		}
		if <-held {
			t.Fatalf("server kept a pooled read buffer after a %d-byte message", n)
		}
	}
}

func TestMessageTypeString(t *testing.T) {
	if MessageText.String() != "text" || MessageBinary.String() != "binary" || MessageType(9).String() != "MessageType(9)" {
		t.Fatal("MessageType.String")
	}
	if StatusGoingAway.String() != "1001 (going away)" || StatusCode(4000).String() != "4000" {
		t.Fatal("StatusCode.String")
	}
	if _, err := NewPreparedMessage(MessageType(3), nil); err == nil {
		t.Fatal("bad type accepted")
	}
	_ = fmt.Sprint(&CloseError{Code: 1000})
}

// Batched sends what is written during fn with one write to the network,
// in order, on server and client connections, compressed or not.
func TestBatched(t *testing.T) {
	for _, mode := range []CompressionMode{CompressionDisabled, CompressionNoContextTakeover, CompressionContextTakeover} {
		msgs := [][]byte{[]byte("one"), bytes.Repeat([]byte("two "), 300), []byte("three"), make([]byte, 100<<10), []byte("five")}
		var writes atomic.Int64
		url := serve(t, &AcceptOptions{Compression: mode}, nil, func(c *Conn) error {
			ctx := context.Background()
			c.nc = countingConn{Conn: c.nc, n: &writes}
			pm, _ := NewPreparedMessage(MessageBinary, []byte("prepared"))
			before := writes.Load()
			err := c.Batched(ctx, func() error {
				for i, m := range msgs[:3] {
					if err := c.Write(ctx, MessageType(1+i%2), m); err != nil {
						return err
					}
				}
				if err := c.WritePrepared(ctx, pm); err != nil {
					return err
				}
				// A nested call adds to the running batch.
				return c.Batched(ctx, func() error { return c.Write(ctx, MessageText, msgs[4]) })
			})
			if err != nil {
				return err
			}
			if n := writes.Load() - before; n != 1 {
				return fmt.Errorf("%d writes for a batch of small messages", n)
			}
			// Past the batch limit, frames go out as they come, in order.
			err = c.Batched(ctx, func() error {
				for _, m := range msgs {
					if err := c.Write(ctx, MessageBinary, m); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			_, _, err = c.Read(ctx)
			return err
		})
		c, _, err := Dial(t.Context(), url, &DialOptions{Compression: mode})
		if err != nil {
			t.Fatal(err)
		}
		want := append(append([][]byte{}, msgs[:3]...), []byte("prepared"), msgs[4])
		want = append(want, msgs...)
		for i, w := range want {
			_, got, err := c.Read(t.Context())
			if err != nil {
				t.Fatalf("mode %v, message %d: %v", mode, i, err)
			}
			if !bytes.Equal(got, w) {
				t.Fatalf("mode %v, message %d: %d bytes, want %d", mode, i, len(got), len(w))
			}
		}
		c.CloseNow()
	}
}

// countingConn counts the writes to the network.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}
