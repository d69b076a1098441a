package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wsio/wsio/eioclient"
)

// Tests of our eioclient against the npm engine.io server
// (node/eio-server.mjs): every transport, messages both ways, the upgrade,
// the heartbeat and the server going silent.

// eioMessage is one OnMessage call.
type eioMessage struct {
	data   []byte
	binary bool
}

// eioSession is our client connected to a fresh node engine.io server.
type eioSession struct {
	node     *nodePeer
	c        *eioclient.Client
	msgs     chan eioMessage
	pings    chan struct{}
	upgrades chan string
	closed   chan *eioclient.CloseError
}

// startEIO starts node/eio-server.mjs with args and connects our client to
// it with opts (callbacks are set here). The test's cleanup closes the
// client and stops node.
func startEIO(t *testing.T, ctx context.Context, opts eioclient.Options, args ...string) *eioSession {
	t.Helper()
	if _, err := os.Stat(filepath.Join("node_modules", "engine.io", "package.json")); err != nil {
		missingPeer(t, "interop/node_modules/engine.io is missing: run npm ci in interop")
	}
	p := startNode(t, ctx, "eio-server.mjs", args...)
	port := p.port(t, ctx)
	s := &eioSession{
		node:     p,
		msgs:     make(chan eioMessage, 64),
		pings:    make(chan struct{}, 1000),
		upgrades: make(chan string, 4),
		closed:   make(chan *eioclient.CloseError, 1),
	}
	opts.OnMessage = func(data []byte, binary bool) { s.msgs <- eioMessage{data, binary} }
	opts.OnPing = func() { s.pings <- struct{}{} }
	opts.OnUpgrade = func(transport string) { s.upgrades <- transport }
	opts.OnClose = func(reason string, err error) { s.closed <- &eioclient.CloseError{Reason: reason, Err: err} }
	c, err := eioclient.Dial(ctx, "http://127.0.0.1:"+strconv.Itoa(port), &opts)
	if err != nil {
		t.Fatalf("Dial: %v%s", err, p.logs())
	}
	s.c = c
	t.Cleanup(func() {
		_ = c.Close()
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Error("the client did not end")
		}
	})
	return s
}

func (s *eioSession) message(t *testing.T, ctx context.Context) eioMessage {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case e := <-s.closed:
		t.Fatalf("closed while waiting for a message: %v%s", e, s.node.logs())
	case <-ctx.Done():
		t.Fatalf("waiting for a message: %v%s", ctx.Err(), s.node.logs())
	}
	return eioMessage{}
}

func (s *eioSession) closeReason(t *testing.T, ctx context.Context) *eioclient.CloseError {
	t.Helper()
	select {
	case e := <-s.closed:
		return e
	case <-ctx.Done():
		t.Fatalf("waiting for the close: %v%s", ctx.Err(), s.node.logs())
		return nil
	}
}

// echo sends data and checks what node received and what came back.
func (s *eioSession) echo(t *testing.T, ctx context.Context, data []byte, binary bool) {
	t.Helper()
	if err := s.c.Send(ctx, data, binary); err != nil {
		t.Fatalf("Send: %v", err)
	}
	sum := sha256.Sum256(data)
	e := s.node.next(t, ctx, "message")
	if e.Binary != binary || e.Length != len(data) || e.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("node received binary=%v length=%d, sent binary=%v length=%d (or the bytes differ)", e.Binary, e.Length, binary, len(data))
	}
	m := s.message(t, ctx)
	if m.binary != binary || !bytes.Equal(m.data, data) {
		t.Fatalf("echo binary=%v length=%d, sent binary=%v length=%d (or the bytes differ)", m.binary, len(m.data), binary, len(data))
	}
}

func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// TestEioClientTransports: polling only, WebSocket only, and polling
// upgraded to WebSocket against Node's engine.io; text and binary both
// ways, including 900 000-byte messages; then our Close, which Node sees
// as "transport close".
func TestEioClientTransports(t *testing.T) {
	text := bytes.Repeat([]byte("engine.io ✓ "), 900_000/len("engine.io ✓ "))
	for _, tc := range []struct {
		name       string
		transports []string
		args       []string
		open       string // the transport the session opens on
		final      string // the transport it ends on
	}{
		{"polling", []string{"polling"}, []string{"transports=polling"}, "polling", "polling"},
		{"websocket", []string{"websocket"}, []string{"transports=websocket"}, "websocket", "websocket"},
		{"upgrade", nil, nil, "polling", "websocket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// The binary message goes as base64 on polling: 1.2 MB.
			s := startEIO(t, ctx, eioclient.Options{Transports: tc.transports}, append(tc.args, "maxHttpBufferSize=2000000")...)
			if e := s.node.next(t, ctx, "open"); e.Data != tc.open {
				t.Fatalf("node opened on %q", e.Data)
			}
			if tc.name == "upgrade" {
				select {
				case u := <-s.upgrades:
					if u != "websocket" {
						t.Fatalf("OnUpgrade(%q)", u)
					}
				case <-ctx.Done():
					t.Fatalf("no upgrade%s", s.node.logs())
				}
				if e := s.node.next(t, ctx, "upgrade"); e.Data != "websocket" {
					t.Fatalf("node upgraded to %q", e.Data)
				}
			}
			s.echo(t, ctx, []byte("hello ✓"), false)
			s.echo(t, ctx, payload(256, 0), true)
			s.echo(t, ctx, []byte{}, true)
			s.echo(t, ctx, text, false)
			s.echo(t, ctx, payload(900_000, 3), true)
			if got := s.c.Transport(); got != tc.final {
				t.Fatalf("transport %q, want %q", got, tc.final)
			}
			if err := s.c.Close(); err != nil {
				t.Fatal(err)
			}
			if e := s.closeReason(t, ctx); e.Reason != eioclient.ReasonForcedClose {
				t.Fatalf("closed with %v", e)
			}
			if e := s.node.next(t, ctx, "close"); e.Reason != "transport close" {
				t.Fatalf("node closed with %q", e.Reason)
			}
			s.node.wait(t, ctx)
		})
	}
}

// TestEioClientServerClose: Node closing the session closes our client
// with "transport close", on each transport.
func TestEioClientServerClose(t *testing.T) {
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s := startEIO(t, ctx, eioclient.Options{Transports: []string{transport}}, "transports="+transport)
			if err := s.c.Send(ctx, []byte("cmd:close"), false); err != nil {
				t.Fatal(err)
			}
			e := s.closeReason(t, ctx)
			if e.Reason != eioclient.ReasonTransportClose {
				t.Fatalf("closed with %v", e)
			}
			if transport == "polling" && !errors.Is(e.Err, eioclient.ErrClosedByServer) {
				t.Fatalf("on polling, want the server's close packet: %v", e)
			}
			if e := s.node.next(t, ctx, "close"); e.Reason != "forced close" {
				t.Fatalf("node closed with %q", e.Reason)
			}
			s.node.wait(t, ctx)
		})
	}
}

// TestEioClientHeartbeat: with pingInterval and pingTimeout of 100 ms,
// Node pings about every 100 ms and would drop a client that does not
// answer within 100 ms; our client keeps the session for over a second,
// across the upgrade.
func TestEioClientHeartbeat(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startEIO(t, ctx, eioclient.Options{}, "pingInterval=100", "pingTimeout=100")
	time.Sleep(1200 * time.Millisecond)
	select {
	case e := <-s.closed:
		t.Fatalf("closed: %v%s", e, s.node.logs())
	default:
	}
	if n := len(s.pings); n < 5 {
		t.Fatalf("%d pings in 1.2 s", n)
	}
	s.echo(t, ctx, []byte("still here"), false)
	if s.c.Transport() != "websocket" {
		t.Fatalf("transport %q", s.c.Transport())
	}
}

// TestEioClientPingTimeout: when the Node process stops (SIGSTOP, sent by
// itself), no ping comes and our client closes with "ping timeout" after
// about pingInterval + pingTimeout.
func TestEioClientPingTimeout(t *testing.T) {
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s := startEIO(t, ctx, eioclient.Options{Transports: []string{transport}}, "transports="+transport, "pingInterval=100", "pingTimeout=100")
			s.echo(t, ctx, []byte("before"), false)
			if err := s.c.Send(ctx, []byte("cmd:freeze"), false); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			e := s.closeReason(t, ctx)
			if e.Reason != eioclient.ReasonPingTimeout || !errors.Is(e.Err, eioclient.ErrPingTimeout) {
				t.Fatalf("closed with %v", e)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("ping timeout after %v", d)
			}
			t.Logf("closed %v after the freeze", time.Since(start).Round(time.Millisecond))
		})
	}
}
