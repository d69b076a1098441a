// Package sid makes the random ids of sessions and sockets, as Node's
// base64id does: 15 bytes from crypto/rand in URL-safe base64, 20
// characters.
package sid

import (
	"crypto/rand"
	"encoding/base64"
)

// New returns a new id.
func New() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
