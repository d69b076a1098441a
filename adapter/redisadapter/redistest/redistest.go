// Package redistest starts redis-server processes for tests and
// benchmarks: on a free loopback port, without persistence, stopped by
// pid.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// ErrNotInstalled is returned by Launch when redis-server is not on PATH.
var ErrNotInstalled = errors.New("redistest: redis-server is not installed")

// Server is a running redis-server process on a loopback port.
type Server struct {
	// Addr is host:port.
	Addr string
	cmd  *exec.Cmd
	port int
	args []string // extra arguments of redis-server
}

// Start starts redis-server for a test, which kills it at its end. Without
// redis-server installed the test is skipped, or fails under CI=true
// (scripts/test.sh installs it).
func Start(t testing.TB) *Server {
	t.Helper()
	r, err := Launch()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip("redis-server is not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Kill)
	return r
}

// Launch starts redis-server on a free 127.0.0.1 port, without
// persistence, and waits until it answers PING. The caller kills it.
func Launch() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), port: port}
	return r, r.start()
}

// URL returns the server's redis:// URL.
func (r *Server) URL() string { return "redis://" + r.Addr }

// Pid returns the process id, or 0 when the server is not running.
func (r *Server) Pid() int {
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

func (r *Server) start() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return ErrNotInstalled
	}
	args := append([]string{"--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"}, r.args...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	r.cmd = cmd
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", r.Addr, time.Second); err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			r.Kill()
			return fmt.Errorf("redistest: redis-server on %s did not start", r.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the server (by pid) and waits for it.
func (r *Server) Kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Restart starts the server again on the same port; the test's cleanup
// kills it.
func (r *Server) Restart(t testing.TB) {
	t.Helper()
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Kill)
}
