package websocket

import (
	"context"
	"net"
	"testing"
	"time"
)

// loopConn is a net.Conn that replays data forever on Read and discards
// writes: a network without a network, for allocation tests and benchmarks.
type loopConn struct {
	data []byte
	pos  int
}

func (c *loopConn) Read(p []byte) (int, error) {
	n := copy(p, c.data[c.pos:])
	c.pos = (c.pos + n) % len(c.data)
	return n, nil
}
func (c *loopConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *loopConn) Close() error                     { return nil }
func (c *loopConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *loopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *loopConn) SetDeadline(time.Time) error      { return nil }
func (c *loopConn) SetReadDeadline(time.Time) error  { return nil }
func (c *loopConn) SetWriteDeadline(time.Time) error { return nil }

// serverOver returns a server Conn whose peer sends the frame for payload
// again and again.
func serverOver(payload []byte, masked bool) *Conn {
	f := rawFrame{fin: true, op: opBinary, payload: payload, masked: masked}.bytes()
	return newConn(connConfig{nc: &loopConn{data: f}, server: masked, readLimit: -1})
}

func TestFrameReadAndWriteDoNotAllocate(t *testing.T) {
	if raceEnabled {
		// scripts/test.sh runs this test again without -race.
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items); CI runs this test without -race")
	}
	for _, size := range []int{16, 1024, 64 << 10} {
		payload := make([]byte, size)
		srv := serverOver(payload, true)
		buf := make([]byte, 0, size)
		ctx := context.Background()
		if n := testing.AllocsPerRun(200, func() {
			var err error
			if _, buf, err = srv.ReadAppend(ctx, buf[:0]); err != nil || len(buf) != size {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("server read of %d bytes: %v allocs", size, n)
		}
		if n := testing.AllocsPerRun(200, func() {
			if err := srv.Write(ctx, MessageBinary, payload); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("server write of %d bytes: %v allocs", size, n)
		}
		cli := serverOver(payload, false)
		cli.server = false
		if n := testing.AllocsPerRun(200, func() {
			var err error
			if _, buf, err = cli.ReadAppend(ctx, buf[:0]); err != nil || len(buf) != size {
				t.Fatal(err)
			}
			if err := cli.Write(ctx, MessageBinary, payload); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("client read+write of %d bytes: %v allocs", size, n)
		}
	}
}

func BenchmarkServerWrite(b *testing.B) {
	for _, size := range []int{16, 1024, 64 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			c := serverOver(make([]byte, 1), true)
			p := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				_ = c.Write(context.Background(), MessageBinary, p)
			}
		})
	}
}

func BenchmarkServerRead(b *testing.B) {
	for _, size := range []int{16, 1024, 64 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			c := serverOver(make([]byte, size), true)
			buf := make([]byte, 0, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				_, buf, _ = c.ReadAppend(context.Background(), buf[:0])
			}
		})
	}
}

func BenchmarkClientWrite(b *testing.B) {
	for _, size := range []int{16, 1024, 64 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			c := serverOver(make([]byte, 1), false)
			c.server = false
			p := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				_ = c.Write(context.Background(), MessageBinary, p)
			}
		})
	}
}

func BenchmarkMask(b *testing.B) {
	p := make([]byte, 4096)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		maskBytes([4]byte{1, 2, 3, 4}, 1, p)
	}
}

func BenchmarkUTF8(b *testing.B) {
	p := []byte(string(compressible(4096)))
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		var v utf8Validator
		v.feed(p)
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return itoa(n>>20) + "MiB"
	case n >= 1<<10:
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestCompressedReadAndWriteDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items); CI runs this test without -race")
	}
	payload := compressible(1024)
	f := rawFrame{fin: true, rsv1: true, op: opBinary, payload: deflated(payload), masked: true}.bytes()
	defl := &deflateConfig{level: 1, threshold: 512, readNoTakeover: true, writeNoTakeover: true}
	c := newConn(connConfig{nc: &loopConn{data: f}, server: true, readLimit: -1, deflate: defl})
	buf := make([]byte, 0, len(payload))
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		var err error
		if _, buf, err = c.ReadAppend(ctx, buf[:0]); err != nil || len(buf) != len(payload) {
			t.Fatal(err)
		}
		if err := c.Write(ctx, MessageBinary, payload); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("compressed read+write of 1 KiB: %v allocs", n)
	}
	big := compressible(256 << 10) // written in fragments by the chunked path
	if n := testing.AllocsPerRun(50, func() {
		if err := c.Write(ctx, MessageBinary, big); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("compressed write of 256 KiB: %v allocs", n)
	}
}
