package websocket

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// Autobahn 12.x and 13.x in spirit: compressed echo across sizes, modes and
// parameter combinations, plus the failure cases.

func compressible(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"event":"tick","seq":%d,"payload":"lorem ipsum dolor sit amet"},`, i%97)
	}
	return b.Bytes()[:n]
}

func incompressible(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestCompressionEcho(t *testing.T) {
	modes := []CompressionMode{CompressionNoContextTakeover, CompressionContextTakeover}
	for _, sm := range modes {
		for _, cm := range modes {
			t.Run(fmt.Sprintf("server%d-client%d", sm, cm), func(t *testing.T) {
				url := echoServer(t, &AcceptOptions{Compression: sm, ReadLimit: -1}, nil)
				c, _, err := Dial(testCtx(t), url, &DialOptions{Compression: cm, ReadLimit: -1})
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseNow()
				if !c.Compressed() {
					t.Fatalf("not negotiated: %q", c.Extensions())
				}
				for _, n := range []int{0, 16, 511, 512, 1000, 64 << 10, 1 << 20} {
					for _, payload := range [][]byte{compressible(n), incompressible(n)} {
						for rep := range 3 { // context takeover spans messages
							if err := c.Write(testCtx(t), MessageBinary, payload); err != nil {
								t.Fatal(err)
							}
							_, got, err := c.Read(testCtx(t))
							if err != nil || !bytes.Equal(got, payload) {
								t.Fatalf("size %d rep %d: %d bytes, %v", n, rep, len(got), err)
							}
						}
					}
				}
				text := strings.Repeat("héllo wörld ", 1000)
				if err := c.Write(testCtx(t), MessageText, []byte(text)); err != nil {
					t.Fatal(err)
				}
				if typ, got, err := c.Read(testCtx(t)); err != nil || typ != MessageText || string(got) != text {
					t.Fatalf("text: %v %v", typ, err)
				}
			})
		}
	}
}

func TestCompressionStreamingWriter(t *testing.T) {
	for _, mode := range []CompressionMode{CompressionNoContextTakeover, CompressionContextTakeover} {
		url := serve(t, &AcceptOptions{Compression: mode, ReadLimit: -1}, nil, streamEcho)
		c, _, err := Dial(testCtx(t), url, &DialOptions{Compression: mode, ReadLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		for _, payload := range [][]byte{nil, compressible(100), compressible(300 << 10), incompressible(200 << 10)} {
			w, err := c.Writer(testCtx(t), MessageBinary)
			if err != nil {
				t.Fatal(err)
			}
			for p := payload; len(p) > 0; {
				n := min(len(p), 7777)
				if _, err := w.Write(p[:n]); err != nil {
					t.Fatal(err)
				}
				p = p[n:]
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			_, got, err := c.Read(testCtx(t))
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("mode %d size %d: got %d bytes, %v", mode, len(payload), len(got), err)
			}
		}
		c.CloseNow()
	}
}

func TestCompressionThreshold(t *testing.T) {
	frames := make(chan rawFrame, 2)
	url := serve(t, &AcceptOptions{Compression: CompressionNoContextTakeover, CompressionThreshold: 100}, nil, echo)
	p, _ := dialRaw(t, url, "Sec-WebSocket-Extensions: permessage-deflate")
	p.text(strings.Repeat("a", 99))
	frames <- p.mustRecv()
	p.text(strings.Repeat("a", 100))
	frames <- p.mustRecv()
	if f := <-frames; f.rsv1 {
		t.Fatal("message below the threshold was compressed")
	}
	if f := <-frames; !f.rsv1 || len(f.payload) >= 100 {
		t.Fatalf("message at the threshold: rsv1=%v len=%d", f.rsv1, len(f.payload))
	}
}

// deflated compresses p as a permessage-deflate payload.
func deflated(p []byte) []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	_, _ = fw.Write(p)
	_ = fw.Flush()
	return bytes.TrimSuffix(b.Bytes(), deflateTail[:])
}

func TestCompressedFragmentsFromRawPeer(t *testing.T) {
	url := serve(t, &AcceptOptions{Compression: CompressionNoContextTakeover}, nil, echo)
	p, resp := dialRaw(t, url, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
	if !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("not negotiated: %v", resp.Header)
	}
	z := deflated([]byte(strings.Repeat("fragmented and compressed ", 50)))
	p.send(rawFrame{fin: false, rsv1: true, op: opText, payload: z[:5]})
	p.send(rawFrame{fin: true, op: opPing, payload: []byte("p")})
	p.send(rawFrame{fin: false, op: opContinuation, payload: z[5:9]})
	p.send(rawFrame{fin: true, op: opContinuation, payload: z[9:]})
	if f := p.mustRecv(); f.op != opPong {
		t.Fatalf("want pong, got %v", f.op)
	}
	f := p.mustRecv()
	got := f.payload
	if f.rsv1 {
		got = inflate(t, got)
	}
	if string(got) != strings.Repeat("fragmented and compressed ", 50) {
		t.Fatalf("echo %q", got)
	}
	// An uncompressed message on a compressed connection is fine too.
	p.text("plain")
	if f := p.mustRecv(); string(f.payload) != "plain" {
		t.Fatalf("echo %q", f.payload)
	}
}

func inflate(t *testing.T, p []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	fr := flate.NewReader(bytes.NewReader(append(p, deflateTail[:]...)))
	_, err := out.ReadFrom(fr)
	if err != nil && !errors.Is(err, errUnexpectedEOF) {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestCompressionFailures(t *testing.T) {
	bomb := deflated(make([]byte, 50<<20)) // 50 MiB of zeros in ~50 KiB
	cases := []struct {
		name  string
		frame rawFrame
		code  StatusCode
	}{
		{"deflate bomb", rawFrame{fin: true, rsv1: true, op: opBinary, payload: bomb}, StatusMessageTooBig},
		{"garbage", rawFrame{fin: true, rsv1: true, op: opBinary, payload: []byte{0xff, 0xff, 0xff, 0xff, 0x00}}, StatusInvalidFramePayloadData},
		{"invalid UTF-8 inside", rawFrame{fin: true, rsv1: true, op: opText, payload: deflated([]byte{'a', 0xff, 'b'})}, StatusInvalidFramePayloadData},
		{"RSV1 on continuation", rawFrame{fin: true, rsv1: true, op: opContinuation, payload: []byte{1}}, StatusProtocolError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := serve(t, &AcceptOptions{Compression: CompressionNoContextTakeover}, nil, echo)
			p, _ := dialRaw(t, url, "Sec-WebSocket-Extensions: permessage-deflate")
			if tc.frame.op == opContinuation {
				p.send(rawFrame{fin: false, op: opBinary, payload: []byte{1}})
			}
			p.send(tc.frame)
			p.expectClose(tc.code)
		})
	}
}

func TestRSV1RefusedWhenNotNegotiated(t *testing.T) {
	url := serve(t, &AcceptOptions{Compression: CompressionNoContextTakeover}, nil, echo)
	p, _ := dialRaw(t, url) // no extension offered
	p.send(rawFrame{fin: true, rsv1: true, op: opText, payload: deflated([]byte("x"))})
	p.expectClose(StatusProtocolError)
}

var errUnexpectedEOF = flateUnexpectedEOF()

func flateUnexpectedEOF() error {
	_, err := flate.NewReader(bytes.NewReader(nil)).Read(make([]byte, 1))
	return err
}

// WriteUncompressed and WritePreparedUncompressed never compress; Write
// and WritePrepared do, on the same connection, in both context modes.
func TestWriteUncompressed(t *testing.T) {
	for _, mode := range []CompressionMode{CompressionNoContextTakeover, CompressionContextTakeover} {
		big := []byte(strings.Repeat("b", 2000))
		url := serve(t, &AcceptOptions{Compression: mode}, nil, func(c *Conn) error {
			ctx := context.Background()
			pm, _ := NewPreparedMessage(MessageText, big)
			for _, err := range []error{
				c.WriteUncompressed(ctx, MessageText, big),
				c.Write(ctx, MessageText, big),
				c.WritePreparedUncompressed(ctx, pm),
				c.WritePrepared(ctx, pm),
				c.WriteUncompressed(ctx, MessageBinary, big),
			} {
				if err != nil {
					return err
				}
			}
			_, _, err := c.Read(ctx)
			return err
		})
		p, _ := dialRaw(t, url, "Sec-WebSocket-Extensions: permessage-deflate")
		for i, want := range []bool{false, true, false, true, false} {
			f := p.mustRecv()
			if f.rsv1 != want {
				t.Errorf("mode %v, message %d: rsv1 %v, want %v", mode, i, f.rsv1, want)
			}
			if !want && len(f.payload) != len(big) {
				t.Errorf("mode %v, message %d: %d bytes", mode, i, len(f.payload))
			}
		}
	}
}
