package websocket

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// connectProxy starts a one-connection HTTP CONNECT proxy on loopback and
// reports the target of the CONNECT it served.
func connectProxy(t *testing.T) (*url.URL, <-chan string) {
	seen := make(chan string, 1)
	addr := acceptOne(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil || req.Method != http.MethodConnect {
			return
		}
		seen <- req.Host
		up, err := net.Dial("tcp", req.Host)
		if err != nil {
			return
		}
		defer up.Close()
		_ = up.SetDeadline(time.Now().Add(testTimeout))
		if _, err := nc.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
			return
		}
		go func() { _, _ = io.Copy(up, br); up.Close() }()
		_, _ = io.Copy(nc, up)
	})
	return &url.URL{Scheme: "http", Host: addr}, seen
}
