package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsio/wsio/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEchoHandler(t *testing.T) {
	cfg, err := parseEcho(nil, io.Discard)
	if err != nil || cfg.addr != "127.0.0.1:9001" || !cfg.compress {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
	echo := newEchoServer(cfg, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(echo)
	defer srv.Close()
	defer echo.closeAll()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{
		Compression: websocket.CompressionContextTakeover, ReadLimit: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Compressed() {
		t.Fatal("echo server did not accept compression")
	}
	for _, msg := range [][]byte{[]byte("hi"), bytes.Repeat([]byte("big "), 1<<20)} {
		if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.Read(ctx); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: %v", len(got), err)
		}
	}
	// Shutdown closes the open connection with 1001.
	readErr := make(chan error, 1)
	go func() { _, _, err := c.Read(ctx); readErr <- err }()
	echo.closeAll()
	if err := <-readErr; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("client saw %v", err)
	}
}

func TestRunEchoListensAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"echo", "--addr", "127.0.0.1:0"}, &syncWriter{w: &out}, io.Discard) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(readSync(&out), "listening on") {
		if time.Now().After(deadline) {
			t.Fatal("echo did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunUsage(t *testing.T) {
	if err := run(context.Background(), nil, io.Discard, io.Discard); err == nil {
		t.Fatal("no command accepted")
	}
	if err := run(context.Background(), []string{"nope"}, io.Discard, io.Discard); err == nil {
		t.Fatal("unknown command accepted")
	}
}
