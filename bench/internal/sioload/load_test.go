package sioload

import (
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/wsio/wsio/bench/internal/sioserver"
)

// TestRunOurServer runs each mode briefly against our server, in process.
func TestRunOurServer(t *testing.T) {
	srv := sioserver.New()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	url := hs.URL + "/socket.io/"
	pid := os.Getpid()
	for _, cfg := range []Config{
		{Mode: "echo", Clients: 1},
		{Mode: "echo", Clients: 8},
		{Mode: "broadcast", Clients: 20, Burst: 5},
		{Mode: "idle", Clients: 20},
	} {
		cfg.URL, cfg.ServerPID = url, pid
		cfg.Warmup, cfg.Duration, cfg.Timeout = 20*time.Millisecond, 100*time.Millisecond, 30*time.Second
		res, err := Run(cfg)
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		switch cfg.Mode {
		case "idle":
			if res.RSSBeforeKiB <= 0 || res.RSSAfterKiB <= 0 {
				t.Errorf("idle: no RSS: %+v", res)
			}
		default:
			if res.Messages <= 0 || res.PerSec <= 0 || res.Samples <= 0 || res.P99us <= 0 {
				t.Errorf("%s: implausible result %+v", cfg.Mode, res)
			}
		}
		if cfg.Mode == "broadcast" && res.Messages%int64(cfg.Clients*cfg.Burst) != 0 {
			t.Errorf("broadcast: %d messages, not whole rounds of %d", res.Messages, cfg.Clients*cfg.Burst)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []Config{
		{URL: "http://example.com/socket.io/", Mode: "echo", Clients: 1, Duration: time.Second},
		{URL: "http://127.0.0.1:1/socket.io/", Mode: "flood", Clients: 1, Duration: time.Second},
		{URL: "http://127.0.0.1:1/socket.io/", Mode: "broadcast", Clients: 1, Duration: time.Second},
	} {
		if err := c.check(); err == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
}
