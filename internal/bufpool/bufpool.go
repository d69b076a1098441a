// Package bufpool keeps byte buffers in size classes so that a connection
// borrows memory only for the duration of one read or write.
//
// Get returns a buffer whose length is at least n; Put gives it back. Buffers
// larger than the largest class are allocated and dropped, never pooled, so a
// single huge message cannot pin memory in the pool.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 9  // 512 B
	maxShift = 20 // 1 MiB
)

var pools [maxShift - minShift + 1]sync.Pool

// class returns the index of the smallest class holding n bytes, or -1 when
// n is larger than every class.
func class(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	s := bits.Len(uint(n - 1))
	if s > maxShift {
		return -1
	}
	return s - minShift
}

// Get returns a buffer of length at least n (its length is the class size).
func Get(n int) *[]byte {
	c := class(n)
	if c < 0 {
		b := make([]byte, n)
		return &b
	}
	if v := pools[c].Get(); v != nil {
		return v.(*[]byte)
	}
	b := make([]byte, 1<<(c+minShift))
	return &b
}

// Put returns a buffer obtained from Get. Buffers of a size that is not a
// class size are dropped.
func Put(b *[]byte) {
	if b == nil {
		return
	}
	n := cap(*b)
	c := class(n)
	if c < 0 || 1<<(c+minShift) != n {
		return
	}
	*b = (*b)[:n]
	pools[c].Put(b)
}
