// Package redistest starts redis-server processes for tests: on a free
// loopback port, without persistence, stopped by pid at the end of the
// test.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Server is a redis-server process a test started on a loopback port; the
// test's cleanup kills it by pid.
type Server struct {
	// Addr is host:port.
	Addr string
	cmd  *exec.Cmd
	port int
}

// Start starts redis-server on a free 127.0.0.1 port, without persistence.
// Without redis-server installed the test is skipped, or fails under
// CI=true (scripts/test.sh installs it).
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed (scripts/test.sh installs it with apt-get)")
		}
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), port: port}
	r.start(t, bin)
	return r
}

// URL returns the server's redis:// URL.
func (r *Server) URL() string { return "redis://" + r.Addr }

func (r *Server) start(t testing.TB, bin string) {
	t.Helper()
	cmd := exec.Command(bin, "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.cmd = cmd
	t.Cleanup(r.Kill)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", r.Addr, time.Second); err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start", r.Addr)
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

// Restart starts the server again on the same port.
func (r *Server) Restart(t testing.TB) {
	t.Helper()
	bin, _ := exec.LookPath("redis-server")
	r.start(t, bin)
}
