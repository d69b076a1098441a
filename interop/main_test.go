package interop

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: the websocket
// package starts none of its own, and every helper here stops what it starts.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
