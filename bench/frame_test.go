package bench

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/wsio/wsio/bench/internal/peers"
	"github.com/wsio/wsio/websocket"
)

// Micro benchmarks of the websocket package alone, without a network: a
// Conn writing whole messages to a net.Conn that discards them, and a Conn
// reading messages from a net.Conn that replays a pre-built stream of
// frames. allocs/op here is what the package itself allocates per message.

var frameSizes = []struct {
	name string
	n    int
}{
	{"16B", 16},
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
}

// sides: a server writes unmasked frames and reads masked ones; a client
// the other way round.
var sides = []string{"server", "client"}

func newConn(side string, rc *replayConn, compress bool) (*websocket.Conn, error) {
	if side == "server" {
		return serverConn(rc, compress)
	}
	return clientConn(rc, compress)
}

func BenchmarkFrameWrite(b *testing.B) {
	for _, side := range sides {
		for _, sz := range frameSizes {
			for _, compress := range []bool{false, true} {
				name := fmt.Sprintf("side=%s/size=%s/compress=%v", side, sz.name, compress)
				b.Run(name, func(b *testing.B) {
					benchWrite(b, side, peers.Payload(sz.n), compress, context.Background())
				})
			}
		}
	}
}

func BenchmarkFrameRead(b *testing.B) {
	for _, side := range sides {
		for _, sz := range frameSizes {
			for _, compress := range []bool{false, true} {
				name := fmt.Sprintf("side=%s/size=%s/compress=%v", side, sz.name, compress)
				b.Run(name, func(b *testing.B) {
					benchRead(b, side, peers.Payload(sz.n), compress, context.Background())
				})
			}
		}
	}
}

// BenchmarkFrameCtx repeats the 1 KiB server cases with a context that can
// be cancelled, as a request's context is, instead of
// context.Background().
func BenchmarkFrameCtx(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := peers.Payload(1 << 10)
	b.Run("op=write/side=server/size=1KiB/ctx=cancelable", func(b *testing.B) {
		benchWrite(b, "server", p, false, ctx)
	})
	b.Run("op=read/side=server/size=1KiB/ctx=cancelable", func(b *testing.B) {
		benchRead(b, "server", p, false, ctx)
	})
}

func benchWrite(b *testing.B, side string, p []byte, compress bool, ctx context.Context) {
	c, err := newConn(side, &replayConn{}, compress)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageBinary, p); err != nil { // warm up the pools
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if err := c.Write(ctx, websocket.MessageBinary, p); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRead(b *testing.B, side string, p []byte, compress bool, ctx context.Context) {
	// A server reads the client's masked frames and a client the server's
	// unmasked ones.
	rc := &replayConn{stream: frameStream(encodeFrame(p, side == "server", compress))}
	c, err := newConn(side, rc, compress)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, len(p))
	_, buf, err = c.ReadAppend(ctx, buf[:0]) // warm up the pools
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(buf, p) {
		b.Fatalf("read back %d bytes that differ from the %d sent", len(buf), len(p))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		_, buf, err = c.ReadAppend(ctx, buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		if len(buf) != len(p) {
			b.Fatalf("read %d bytes, want %d", len(buf), len(p))
		}
	}
}

// TestFakeConns checks that the Conns over replayConn read back exactly the
// frames the micro benchmarks replay, and write without error.
func TestFakeConns(t *testing.T) {
	for _, side := range sides {
		for _, sz := range frameSizes {
			for _, compress := range []bool{false, true} {
				p := peers.Payload(sz.n)
				rc := &replayConn{stream: frameStream(encodeFrame(p, side == "server", compress))}
				c, err := newConn(side, rc, compress)
				if err != nil {
					t.Fatalf("%s/%s/%v: %v", side, sz.name, compress, err)
				}
				for range 3 {
					typ, got, err := c.Read(context.Background())
					if err != nil || typ != websocket.MessageBinary || !bytes.Equal(got, p) {
						t.Fatalf("%s/%s/%v: read %v %d bytes, %v", side, sz.name, compress, typ, len(got), err)
					}
				}
				if err := c.Write(context.Background(), websocket.MessageBinary, p); err != nil {
					t.Fatalf("%s/%s/%v: write: %v", side, sz.name, compress, err)
				}
			}
		}
	}
}
