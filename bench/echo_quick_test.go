package bench

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wsio/wsio/bench/internal/peers"
)

// TestEcho checks, quickly, that every library's server and client used by
// BenchmarkEcho work for every size below 1 MiB, with and without
// compression.
func TestEcho(t *testing.T) {
	for _, lib := range peers.All {
		for _, compress := range []bool{false, true} {
			t.Run(fmt.Sprintf("lib=%s/compress=%v", lib.Name, compress), func(t *testing.T) {
				srv := startEchoServer(t, lib, compress, true)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := lib.Dial(ctx, srv.url, compress)
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				sent := 0
				for _, sz := range echoSizes[:3] {
					for range 2 {
						if err := c.Echo(peers.Payload(sz.n)); err != nil {
							t.Fatalf("%s: %v", sz.name, err)
						}
						sent += sz.n
					}
				}
				_ = c.Close()
				srv.stop(t)
				// The payload compresses more than tenfold: the server must
				// have read far less than was sent when compression is on.
				got := int(srv.received.Load())
				if compress && got > sent/4 {
					t.Errorf("compression on, but the server read %d bytes for %d bytes of messages", got, sent)
				}
				if !compress && got < sent {
					t.Errorf("compression off, but the server read only %d bytes for %d bytes of messages", got, sent)
				}
			})
		}
	}
}

func TestPayload(t *testing.T) {
	for _, n := range []int{0, 1, 16, 1 << 10, 1 << 20} {
		p := peers.Payload(n)
		if len(p) != n {
			t.Fatalf("Payload(%d) has %d bytes", n, len(p))
		}
		if !bytes.Equal(p, peers.Payload(n)) {
			t.Fatalf("Payload(%d) is not deterministic", n)
		}
	}
}
