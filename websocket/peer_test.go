package websocket

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// This file holds the test harness: a raw peer that speaks frames byte by
// byte, so that the tests can send what a well-behaved implementation never
// would, and an echo server built on Accept.

const testTimeout = 10 * time.Second

// rawFrame is a frame as a raw peer writes or reads it.
type rawFrame struct {
	fin              bool
	rsv1, rsv2, rsv3 bool
	op               opcode
	payload          []byte
	masked           bool
	length           int64 // if non-zero, overrides len(payload) in the header
}

func (f rawFrame) bytes() []byte {
	h := frameHeader{fin: f.fin, rsv1: f.rsv1, rsv2: f.rsv2, rsv3: f.rsv3, op: f.op, masked: f.masked, length: int64(len(f.payload))}
	if f.length != 0 {
		h.length = f.length
	}
	if f.masked {
		_, _ = rand.Read(h.key[:])
	}
	var hdr [maxHeaderSize]byte
	n := putHeader(hdr[:], &h)
	out := append(hdr[:n:n], f.payload...)
	if f.masked {
		maskBytes(h.key, 0, out[n:])
	}
	return out
}

// rawPeer is one end of a WebSocket connection driven frame by frame.
type rawPeer struct {
	t      testing.TB
	nc     net.Conn
	br     *bufio.Reader
	client bool // frames it sends are masked
}

func (p *rawPeer) send(f rawFrame) {
	p.t.Helper()
	f.masked = f.masked || p.client
	p.sendBytes(f.bytes())
}

func (p *rawPeer) sendBytes(b []byte) {
	p.t.Helper()
	_ = p.nc.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("raw peer write: %v", err)
	}
}

func (p *rawPeer) text(s string) { p.send(rawFrame{fin: true, op: opText, payload: []byte(s)}) }

// recv reads one frame; it fails the test on a timeout.
func (p *rawPeer) recv() (rawFrame, error) {
	_ = p.nc.SetReadDeadline(time.Now().Add(testTimeout))
	var f rawFrame
	var b2 [2]byte
	if _, err := io.ReadFull(p.br, b2[:]); err != nil {
		return f, err
	}
	var h frameHeader
	extra := parseHeaderStart(b2[0], b2[1], &h)
	rest := make([]byte, extra)
	if _, err := io.ReadFull(p.br, rest); err != nil {
		return f, err
	}
	if err := parseHeaderRest(rest, &h); err != nil {
		return f, err
	}
	f = rawFrame{fin: h.fin, rsv1: h.rsv1, rsv2: h.rsv2, rsv3: h.rsv3, op: h.op, masked: h.masked}
	f.payload = make([]byte, h.length)
	if _, err := io.ReadFull(p.br, f.payload); err != nil {
		return f, err
	}
	if h.masked {
		maskBytes(h.key, 0, f.payload)
	}
	return f, nil
}

func (p *rawPeer) mustRecv() rawFrame {
	p.t.Helper()
	f, err := p.recv()
	if err != nil {
		p.t.Fatalf("raw peer read: %v", err)
	}
	return f
}

// expectClose reads frames until a close frame and checks its code. Data
// frames before it are allowed (echoes of earlier messages).
func (p *rawPeer) expectClose(code StatusCode) {
	p.t.Helper()
	for range 1000 {
		f, err := p.recv()
		if err != nil {
			p.t.Fatalf("waiting for close %v: %v", code, err)
		}
		if f.op != opClose {
			continue
		}
		got := StatusNoStatusRcvd
		if len(f.payload) >= 2 {
			got = StatusCode(binary.BigEndian.Uint16(f.payload))
		}
		if got != code {
			p.t.Fatalf("close code %v, want %v (payload %q)", got, code, f.payload)
		}
		return
	}
	p.t.Fatal("no close frame in 1000 frames")
}

// expectEOF checks that the other side closed the TCP connection.
func (p *rawPeer) expectEOF() {
	p.t.Helper()
	for range 1000 {
		if _, err := p.recv(); err != nil {
			return
		}
	}
	p.t.Fatal("connection still open after 1000 frames")
}

func closePayload(code StatusCode, reason string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(b, reason...)
}

// echoServer serves an echo endpoint with opts and returns its ws:// URL.
// Every connection's final read error goes to errs, if not nil.
func echoServer(t testing.TB, opts *AcceptOptions, errs chan<- error) string {
	t.Helper()
	return serve(t, opts, errs, echo)
}

// serve runs handle on every accepted connection.
func serve(t testing.TB, opts *AcceptOptions, errs chan<- error, handle func(*Conn) error) string {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts)
		if err != nil {
			return
		}
		go func() {
			err := handle(c)
			if errs != nil {
				select {
				case errs <- err:
				case <-done:
				}
			}
		}()
	}))
	t.Cleanup(func() {
		close(done)
		srv.CloseClientConnections()
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func echo(c *Conn) error {
	ctx := context.Background()
	defer c.CloseNow()
	var buf []byte
	for {
		typ, msg, err := c.ReadAppend(ctx, buf[:0])
		if err != nil {
			return err
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return err
		}
		buf = msg
	}
}

// streamEcho echoes with Reader and Writer, message by message.
func streamEcho(c *Conn) error {
	ctx := context.Background()
	defer c.CloseNow()
	for {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return err
		}
		w, err := c.Writer(ctx, typ)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, r); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
}

// dialRaw opens a raw client connection to url with a valid handshake plus
// extra header lines, and checks for 101.
func dialRaw(t testing.TB, url string, extra ...string) (*rawPeer, *http.Response) {
	t.Helper()
	p, resp := dialRawResp(t, url, extra...)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	return p, resp
}

func dialRawResp(t testing.TB, url string, extra ...string) (*rawPeer, *http.Response) {
	t.Helper()
	host := strings.TrimPrefix(url, "ws://")
	host, path, _ := strings.Cut(host, "/")
	nc, err := net.DialTimeout("tcp", host, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	req := fmt.Sprintf("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", path, host)
	for _, e := range extra {
		req += e + "\r\n"
	}
	req += "\r\n"
	p := &rawPeer{t: t, nc: nc, br: bufio.NewReader(nc), client: true}
	p.sendBytes([]byte(req))
	_ = nc.SetReadDeadline(time.Now().Add(testTimeout))
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, resp
}

// acceptOne listens on loopback, hands the first connection to fn (in its
// own goroutine, with a deadline of testTimeout) and returns the address.
// Cleanup closes the listener and waits for fn.
func acceptOne(t testing.TB, fn func(nc net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(testTimeout))
		fn(nc)
	}()
	return ln.Addr().String()
}

// rawServer accepts one connection, answers the handshake with a valid 101
// (plus extra header lines) and hands the raw peer to fn, which runs in the
// server goroutine. It returns the URL to Dial.
func rawServer(t testing.TB, extra []string, fn func(p *rawPeer)) string {
	t.Helper()
	addr := acceptOne(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			acceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n"
		for _, e := range extra {
			resp += e + "\r\n"
		}
		if _, err := nc.Write([]byte(resp + "\r\n")); err != nil {
			return
		}
		fn(&rawPeer{t: t, nc: nc, br: br})
	})
	return "ws://" + addr + "/"
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}
