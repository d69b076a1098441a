package eioload

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/wsio/wsio/bench/internal/eioserver"
)

// TestRun runs every transport and mode briefly against our server, in
// this process.
func TestRun(t *testing.T) {
	eio := eioserver.New()
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tr := range []string{"websocket", "polling"} {
		for _, mode := range []string{"echo", "broadcast"} {
			for _, size := range []int{32, 1500} {
				cfg := Config{
					URL: srv.URL + "/engine.io/", Transport: tr, Mode: mode, Clients: 3, Size: size, Burst: 4,
					Warmup: 20 * time.Millisecond, Duration: 100 * time.Millisecond, Timeout: 30 * time.Second,
					ServerPID: os.Getpid(),
				}
				res, err := Run(cfg)
				if err != nil {
					t.Fatalf("%s %s %d: %v", tr, mode, size, err)
				}
				if res.Messages <= 0 || res.PerSec <= 0 || res.Samples == 0 || res.P50us <= 0 || res.P99us < res.P50us {
					t.Errorf("%s %s %d: implausible result %+v", tr, mode, size, res)
				}
				if mode == "broadcast" && res.Messages%int64(cfg.Burst*cfg.Clients) != 0 {
					t.Errorf("%s broadcast: %d messages, not whole rounds of %d", tr, res.Messages, cfg.Burst*cfg.Clients)
				}
				if res.Seconds < 0.09 {
					t.Errorf("%s %s: window of %vs", tr, mode, res.Seconds)
				}
			}
		}
	}
	// Every client closed its session.
	deadline := time.Now().Add(5 * time.Second)
	for eio.Count() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := eio.Count(); n != 0 {
		t.Errorf("%d sessions still open after the runs", n)
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:80/engine.io/", "http://[::1]:1/"} {
		if err := CheckLoopback(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:80/", "http://example.com/", "https://127.0.0.1/", "ws://127.0.0.1/"} {
		if err := CheckLoopback(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestProcessCPU(t *testing.T) {
	// Burn a little CPU so that at least one tick is counted.
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) {
	}
	if c := processCPU(os.Getpid()); c <= 0 {
		t.Errorf("processCPU of this process = %v", c)
	}
	if c := processCPU(0); c != 0 {
		t.Errorf("processCPU(0) = %v", c)
	}
}
