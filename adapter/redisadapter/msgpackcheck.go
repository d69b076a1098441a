package redisadapter

import (
	"encoding/binary"
	"errors"
)

// maxDepth bounds the nesting of a message from Redis.
const maxDepth = 64

var errMsgpack = errors.New("redisadapter: malformed msgpack")

// checkMsgpack walks one msgpack value in b without decoding it and fails
// when a length announces more than b holds (each element takes at least
// a byte), when it nests deeper than maxDepth, or when bytes are left
// over. The decoder allocates by the lengths it reads: they are checked
// here first.
func checkMsgpack(b []byte) error {
	var stack [maxDepth + 1]int // elements still to read at each depth
	depth := 0
	stack[0] = 1
	i := 0
	for {
		for depth >= 0 && stack[depth] == 0 {
			depth--
		}
		if depth < 0 {
			break
		}
		stack[depth]--
		if i >= len(b) {
			return errMsgpack
		}
		c := b[i]
		i++
		size, count := 0, 0 // bytes of payload, elements of a container
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			count = 2 * int(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			count = int(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf:
			size = int(c & 0x1f)
		default:
			n, ok := lengthAt(b, i, c)
			if !ok {
				return errMsgpack
			}
			i += n.header
			size, count = n.size, n.count
		}
		if size > len(b)-i || count > len(b)-i {
			return errMsgpack
		}
		i += size
		if count > 0 {
			if depth == maxDepth {
				return errMsgpack
			}
			depth++
			stack[depth] = count
		}
	}
	if i != len(b) {
		return errMsgpack
	}
	return nil
}

type msgpackLen struct{ header, size, count int }

// fixedSize is the payload size of the fixed-size types (numbers, fixext
// with their type byte), by first byte.
var fixedSize = [256]uint8{0xca: 4, 0xcb: 8, 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8, 0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8,
	0xd4: 2, 0xd5: 3, 0xd6: 5, 0xd7: 9, 0xd8: 17}

// lengthAt reads the length of the value whose first byte c is at i-1.
func lengthAt(b []byte, i int, c byte) (msgpackLen, bool) {
	read := func(n int) (int, bool) {
		if len(b)-i < n {
			return 0, false
		}
		switch n {
		case 1:
			return int(b[i]), true
		case 2:
			return int(binary.BigEndian.Uint16(b[i:])), true
		default:
			v := binary.BigEndian.Uint32(b[i:])
			if uint64(v) > uint64(len(b)) {
				return len(b) + 1, true // more than b holds: refused by the caller
			}
			return int(v), true
		}
	}
	if n := fixedSize[c]; n > 0 {
		return msgpackLen{size: int(n)}, true
	}
	var width int
	var ext, container, isMap bool
	switch c {
	case 0xc4, 0xd9:
		width = 1
	case 0xc5, 0xda:
		width = 2
	case 0xc6, 0xdb:
		width = 4
	case 0xc7:
		width, ext = 1, true
	case 0xc8:
		width, ext = 2, true
	case 0xc9:
		width, ext = 4, true
	case 0xdc:
		width, container = 2, true
	case 0xdd:
		width, container = 4, true
	case 0xde:
		width, container, isMap = 2, true, true
	case 0xdf:
		width, container, isMap = 4, true, true
	default:
		return msgpackLen{}, false // 0xc1 is never used
	}
	n, ok := read(width)
	if !ok {
		return msgpackLen{}, false
	}
	switch {
	case container && isMap:
		return msgpackLen{header: width, count: 2 * n}, true
	case container:
		return msgpackLen{header: width, count: n}, true
	case ext:
		return msgpackLen{header: width, size: n + 1}, true // the type byte, then the data
	}
	return msgpackLen{header: width, size: n}, true
}
