package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// nodeBinary returns the path of node, or ends the test when node or the
// installed ws package is missing: a skip normally, a failure under CI.
func nodeBinary(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missingPeer(t, "node is not on PATH: install Node.js, then run npm ci in interop")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "ws", "package.json")); err != nil {
		missingPeer(t, "interop/node_modules/ws is missing: run npm ci in interop")
	}
	return node
}

func missingPeer(t *testing.T, what string) {
	t.Helper()
	msg := what + " (under CI=true this fails)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg) // outside CI only: under CI=true the Fatal above runs
}

// event is one JSON line a node script printed (see node/peer.mjs).
type event struct {
	Event      string `json:"event"`
	Extensions string `json:"extensions"`
	Binary     bool   `json:"binary"`
	Length     int    `json:"length"`
	SHA256     string `json:"sha256"`
	Parts      int    `json:"parts"`
	Data       string `json:"data"`
	Code       int    `json:"code"`
	Reason     string `json:"reason"`
	Message    string `json:"message"`
	ErrorCode  string `json:"errorCode"`
}

// nodePeer is a running node script.
type nodePeer struct {
	cmd     *exec.Cmd
	stdout  lineLog
	stderr  lockedBuffer
	exited  chan struct{} // closed once Wait has returned
	waitErr error         // Wait's result, set before exited is closed
	taken   map[string]int
}

// startNode runs node/<script> with args. ctx bounds its life; the test's
// cleanup kills it, if still running, and waits for it.
func startNode(t *testing.T, ctx context.Context, script string, args ...string) *nodePeer {
	t.Helper()
	node := nodeBinary(t)
	p := &nodePeer{exited: make(chan struct{}), taken: map[string]int{}}
	p.stdout.more = make(chan struct{}, 1)
	p.cmd = exec.CommandContext(ctx, node, append([]string{filepath.Join("node", script)}, args...)...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", script, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		_ = p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("%s (pid %d) did not exit after kill", script, p.cmd.Process.Pid)
		}
	})
	return p
}

// port reads the first stdout line, the port a server script listens on.
func (p *nodePeer) port(t *testing.T, ctx context.Context) int {
	t.Helper()
	for {
		lines, more := p.stdout.snapshot()
		if len(lines) > 0 {
			n, err := strconv.Atoi(lines[0])
			if err != nil {
				t.Fatalf("first line of the server is not a port: %q%s", lines[0], p.logs())
			}
			return n
		}
		p.await(t, ctx, more, "the port")
	}
}

// next returns the next event of the given kind that no earlier call
// returned, waiting for it while the script runs.
func (p *nodePeer) next(t *testing.T, ctx context.Context, kind string) event {
	t.Helper()
	for {
		lines, more := p.stdout.snapshot()
		seen := 0
		for _, line := range lines {
			var e event
			if json.Unmarshal([]byte(line), &e) != nil || e.Event != kind {
				continue
			}
			if seen == p.taken[kind] {
				p.taken[kind]++
				return e
			}
			seen++
		}
		p.await(t, ctx, more, "a "+kind+" event")
	}
}

// await waits for a new stdout line; it fails the test when the script has
// exited (and so will print nothing more) or ctx ends.
func (p *nodePeer) await(t *testing.T, ctx context.Context, more <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-more:
	case <-p.exited:
		// Wait has copied all output; look once more before giving up.
		select {
		case <-more:
		default:
			t.Fatalf("node exited (%v) before printing %s%s", p.waitErr, what, p.logs())
		}
	case <-ctx.Done():
		t.Fatalf("waiting for %s: %v%s", what, ctx.Err(), p.logs())
	}
}

// wait waits for the script to exit by itself and checks its status.
func (p *nodePeer) wait(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Errorf("node: %v%s", p.waitErr, p.logs())
		}
	case <-ctx.Done():
		t.Fatalf("waiting for node to exit: %v%s", ctx.Err(), p.logs())
	}
}

func (p *nodePeer) logs() string {
	lines, _ := p.stdout.snapshot()
	var b bytes.Buffer
	b.WriteString("\nnode stdout:\n")
	for _, l := range lines {
		if len(l) > 300 {
			l = l[:300] + "..."
		}
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("node stderr:\n" + p.stderr.String())
	return b.String()
}

// lineLog collects what a process writes, split into lines, and signals
// each write on more.
type lineLog struct {
	mu    sync.Mutex
	part  []byte
	lines []string
	more  chan struct{}
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.part[:i]))
		l.part = l.part[i+1:]
	}
	l.mu.Unlock()
	select {
	case l.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *lineLog) snapshot() ([]string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lines[:len(l.lines):len(l.lines)], l.more
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 64<<10 {
		return len(p), nil // keep the first 64 KiB
	}
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
