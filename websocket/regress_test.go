package websocket

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Regression tests for defects found in review.

func pipeConns(compress bool) (srv, cli *Conn) {
	a, b := net.Pipe()
	var sd, cd *deflateConfig
	if compress {
		sd = &deflateConfig{level: 1, threshold: 1}
		cd = &deflateConfig{level: 1, threshold: 1}
	}
	return newConn(connConfig{nc: a, server: true, deflate: sd}), newConn(connConfig{nc: b, deflate: cd})
}

func TestWaitingReaderSeesTheFailure(t *testing.T) {
	a, b := net.Pipe()
	s := newConn(connConfig{nc: a, server: true})
	defer b.Close()
	go func() { _, _ = io.Copy(io.Discard, b) }()
	errs := make(chan error, 2)
	for range 2 { // the second waits for the first's lock
		go func() { _, _, err := s.Read(context.Background()); errs <- err }()
	}
	time.Sleep(20 * time.Millisecond)
	_, _ = b.Write([]byte{0x81, 0x01, 'x'}) // unmasked frame from a client
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("reader got %v, want ErrProtocol", err)
			}
		case <-time.After(testTimeout):
			t.Fatal("reader stuck")
		}
	}
}

// A frame that cannot be sent in time after state was committed (an open
// fragmented message, a compressor's window) must fail the connection.
func TestWriteTimeoutAfterCommittedStateFailsConnection(t *testing.T) {
	for _, compress := range []bool{false, true} {
		s, c := pipeConns(compress)
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		if compress {
			s.wframe <- struct{}{} // the frame lock is busy (a pong stuck on the wire)
			err := s.Write(ctx, MessageText, []byte(strings.Repeat("abcdefghij", 100)))
			<-s.wframe
			if err == nil {
				t.Fatal("write succeeded")
			}
		} else {
			w, err := s.Writer(ctx, MessageBinary)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(make([]byte, writeChunk)); err != nil { // first fragment goes out
				t.Fatal(err)
			}
			s.wframe <- struct{}{}
			_, err = w.Write(make([]byte, writeChunk))
			<-s.wframe
			if err == nil {
				t.Fatal("fragment write succeeded")
			}
			_ = w.Close()
		}
		cancel()
		if !s.isClosed() {
			t.Fatalf("compress=%v: connection left open with state the peer never got", compress)
		}
		c.CloseNow()
	}
}
