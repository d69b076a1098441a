package websocket

import (
	"context"
	"testing"
)

func BenchmarkReadCompressed(b *testing.B) {
	for _, size := range []int{16, 1024, 64 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			payload := compressible(size)
			f := rawFrame{fin: true, rsv1: true, op: opBinary, payload: deflated(payload), masked: true}.bytes()
			c := newConn(connConfig{nc: &loopConn{data: f}, server: true, readLimit: -1, deflate: &deflateConfig{level: 1, threshold: 512, readNoTakeover: true, writeNoTakeover: true}})
			buf := make([]byte, 0, size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				_, buf, _ = c.ReadAppend(context.Background(), buf[:0])
			}
		})
	}
}

func BenchmarkWriteCompressed(b *testing.B) {
	for _, size := range []int{1024, 64 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			payload := compressible(size)
			c := newConn(connConfig{nc: &loopConn{data: []byte{0}}, server: true, readLimit: -1, deflate: &deflateConfig{level: 1, threshold: 512, readNoTakeover: true, writeNoTakeover: true}})
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				_ = c.Write(context.Background(), MessageBinary, payload)
			}
		})
	}
}
