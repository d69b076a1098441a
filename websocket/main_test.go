package websocket

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Raw test peers never hang up on their own: do not wait a second for
	// them after every protocol failure.
	failLinger = 100 * time.Millisecond
	goleak.VerifyTestMain(m)
}
