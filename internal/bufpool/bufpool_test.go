package bufpool

import "testing"

func TestGetSizes(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 4096, 5000, 1 << 20, 1<<20 + 1} {
		b := Get(n)
		if len(*b) < n {
			t.Fatalf("Get(%d) returned %d bytes", n, len(*b))
		}
		Put(b)
	}
}

func TestPutForeignSizeIsDropped(t *testing.T) {
	b := make([]byte, 700)
	Put(&b) // must not panic nor enter a class
	got := Get(700)
	if len(*got) != 1024 {
		t.Fatalf("Get(700) = %d bytes, want the 1024 class", len(*got))
	}
}

func BenchmarkGetPut(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Put(Get(4096))
	}
}
