package sioclient

import (
	"math/rand/v2"
	"time"
)

// backoff computes reconnection delays as socket.io-client does: the first
// delay doubled at each attempt, capped, spread by the randomization
// factor. Used under the Manager's lock.
type backoff struct {
	min, max time.Duration
	jitter   float64
	attempts int
}

// next returns the delay before the next attempt and counts it.
func (b *backoff) next() time.Duration {
	d := float64(b.min)
	for range b.attempts {
		d *= 2
		if d >= float64(b.max) {
			break
		}
	}
	b.attempts++
	if b.jitter > 0 {
		dev := rand.Float64() * b.jitter * d
		if rand.IntN(2) == 0 {
			d -= dev
		} else {
			d += dev
		}
	}
	return min(time.Duration(d), b.max)
}

func (b *backoff) reset() { b.attempts = 0 }
