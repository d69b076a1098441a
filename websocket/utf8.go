package websocket

import "encoding/binary"

// utf8Validator checks UTF-8 incrementally, so that text split across frames
// and reads is validated as it arrives and a bad byte is reported at once
// (RFC 6455 section 8.1, Unicode table 3-7).
type utf8Validator struct {
	need uint8 // continuation bytes still expected
	lo   byte  // bounds of the next continuation byte
	hi   byte
}

const asciiMask = 0x8080808080808080

// feed validates p, continuing from the previous call. It returns false as
// soon as p contains a byte that cannot continue a valid sequence.
func (v *utf8Validator) feed(p []byte) bool {
	need, lo, hi := v.need, v.lo, v.hi
	i := 0
	for i < len(p) {
		if need == 0 {
			for len(p)-i >= 8 && binary.LittleEndian.Uint64(p[i:])&asciiMask == 0 {
				i += 8
			}
			if i == len(p) {
				break
			}
			b := p[i]
			i++
			switch {
			case b < 0x80:
				continue
			case b >= 0xC2 && b <= 0xDF:
				need, lo, hi = 1, 0x80, 0xBF
			case b == 0xE0:
				need, lo, hi = 2, 0xA0, 0xBF
			case b == 0xED:
				need, lo, hi = 2, 0x80, 0x9F
			case b >= 0xE1 && b <= 0xEF:
				need, lo, hi = 2, 0x80, 0xBF
			case b == 0xF0:
				need, lo, hi = 3, 0x90, 0xBF
			case b >= 0xF1 && b <= 0xF3:
				need, lo, hi = 3, 0x80, 0xBF
			case b == 0xF4:
				need, lo, hi = 3, 0x80, 0x8F
			default:
				v.need = 0
				return false
			}
			continue
		}
		b := p[i]
		i++
		if b < lo || b > hi {
			v.need = 0
			return false
		}
		need--
		lo, hi = 0x80, 0xBF
	}
	v.need, v.lo, v.hi = need, lo, hi
	return true
}

// complete reports whether the input so far ended on a sequence boundary.
func (v *utf8Validator) complete() bool { return v.need == 0 }

func (v *utf8Validator) reset() { *v = utf8Validator{} }
