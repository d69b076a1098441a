package engineio

import (
	"context"
	"sync"
)

// tracker counts the goroutines the server started. Unlike a WaitGroup it
// may gain goroutines while someone waits for it to reach zero, which
// happens when requests still arrive during Shutdown.
type tracker struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n reaches zero, while someone waits
}

func (t *tracker) add() {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
}

func (t *tracker) done() {
	t.mu.Lock()
	t.n--
	if t.n == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
	t.mu.Unlock()
}

// wait returns when no tracked goroutine runs, or with ctx's error.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
