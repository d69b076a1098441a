package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsio/wsio/socketio"
)

// connectLines runs wsio connect with args and stdin, and returns its
// stdout as JSON objects.
func connectLines(t *testing.T, script string, args ...string) []map[string]any {
	t.Helper()
	stdin = strings.NewReader(script)
	defer func() { stdin = nil }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	if err := run(ctx, append([]string{"connect"}, args...), &out, &errb); err != nil {
		t.Fatalf("connect: %v\n%s", err, errb.String())
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		lines = append(lines, v)
	}
	return lines
}

func TestConnectCommand(t *testing.T) {
	srv := newDemoServer(nil)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	for _, tr := range []string{"websocket", "polling", "polling,websocket"} {
		lines := connectLines(t, `["echo", {"a": 1}]
ack ["echo", "hi", [1, 2]]
not json
ack ["join", "room1"]
`, "-transports", tr, ts.URL+"/chat")
		// connect first and disconnect last; between them the echo event
		// and the two acks, whose order depends on the goroutines.
		if len(lines) != 5 || lines[0]["type"] != "connect" || lines[4]["type"] != "disconnect" || lines[4]["reason"] != "io client disconnect" {
			t.Fatalf("%s: lines %v", tr, lines)
		}
		acks := map[string]string{}
		events := 0
		for _, l := range lines[1:4] {
			switch l["type"] {
			case "ack":
				acks[l["event"].(string)] = mustJSON(l["args"])
			case "event":
				events++
				if l["event"] != "echo" || mustJSON(l["args"]) != `[{"a":1}]` {
					t.Fatalf("%s: event line %v", tr, l)
				}
			}
		}
		if events != 1 {
			t.Fatalf("%s: lines %v", tr, lines)
		}
		// join answers with the socket's rooms: its own id and room1.
		if acks["echo"] != `["hi",[1,2]]` || !strings.Contains(acks["join"], `"room1"`) {
			t.Fatalf("%s: acks %v", tr, acks)
		}
	}
}

func TestConnectCommandEmitFlag(t *testing.T) {
	srv := socketio.NewServer(nil)
	srv.Use(func(s *socketio.Socket) error {
		if s.Handshake().Auth["token"] != "x" {
			return &socketio.ConnectError{Message: "no", Data: map[string]any{"why": "token"}}
		}
		return nil
	})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("hello", func(name string, ack socketio.Ack) { _ = ack("hello, " + name) })
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	lines := connectLines(t, "", "-auth", `{"token":"x"}`, "-emit", `["hello","gopher"]`, "-ack", ts.URL)
	if len(lines) != 3 || lines[1]["type"] != "ack" || mustJSON(lines[1]["args"]) != `["hello, gopher"]` {
		t.Fatalf("lines %v", lines)
	}
	// Refused: the error is returned, and printed first.
	stdin = strings.NewReader("")
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"connect", "-auth", `{"token":"y"}`, ts.URL}, &out, &errb)
	if err == nil || !strings.Contains(out.String(), `"connect_error"`) || !strings.Contains(out.String(), `"why":"token"`) {
		t.Fatalf("refused: %v, %s", err, out.String())
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
