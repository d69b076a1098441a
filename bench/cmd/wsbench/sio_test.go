package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sioTestRunner returns a runner for a short Socket.IO run.
func sioTestRunner(t *testing.T, node string) *runner {
	t.Helper()
	return &runner{
		cfg: config{
			raw: t.TempDir(), count: 1, eioReps: 1,
			eioWarmup: 30 * time.Millisecond, eioDuration: 100 * time.Millisecond,
			node: node, interop: filepath.Join("..", "..", "..", "interop"),
			sioIdle: 20, sioIdleReps: 1, sioIdleWait: 100 * time.Millisecond, sioBurst: 3, sioBcastClients: 20,
		},
		tmp:     t.TempDir(),
		start:   time.Now(),
		cmdline: "go run ./cmd/wsbench -only sio",
		machine: machineInfo{nproc: "2"},
	}
}

// TestSIOOursOnly runs the Socket.IO part against our server alone: the
// server and the load generator are child processes (this test binary).
func TestSIOOursOnly(t *testing.T) {
	r := sioTestRunner(t, "none")
	r.runSIO()
	e := r.sio
	if len(e.errs) > 0 {
		t.Fatalf("errors: %q", e.errs)
	}
	if len(e.results) != 4 {
		t.Fatalf("%d results, want 4: %+v", len(e.results), e.results)
	}
	for _, res := range e.results {
		if res.Server != "wsio" {
			t.Errorf("result of %q", res.Server)
		}
		if res.Mode == "idle" {
			if res.RSSAfterKiB <= 0 {
				t.Errorf("implausible idle result %+v", res)
			}
		} else if res.Messages <= 0 || res.PerSec <= 0 {
			t.Errorf("implausible result %+v", res)
		}
	}
	raw, err := os.ReadFile(filepath.Join(r.cfg.raw, "sio.jsonl"))
	if err != nil || strings.Count(string(raw), "\n") != 4 {
		t.Errorf("raw/sio.jsonl: %v\n%s", err, raw)
	}
	out := r.sioReport()
	for _, want := range []string{
		"## Socket.IO throughput\n",
		"Node's server was not measured: -node none",
		"zishang520's server was not measured: -sio-zsio=false",
		"| echo/clients=1 | msg/s |",
		"| broadcast/clients=20/burst=3 | p99 |",
		"| ours | 20 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	doc := replaceSection("# x\n\n## Socket.IO throughput\n\nOLDTEXT\n\n## Other\n", sioSectionTitle, out)
	if strings.Contains(doc, "OLDTEXT") || !strings.Contains(doc, "## Other\n") {
		t.Errorf("replaceSection:\n%s", doc)
	}
}

// TestSIOWithNode runs the echo and broadcast cases against our server and
// Node's. Without node or socket.io it is skipped, or fails under CI=true.
func TestSIOWithNode(t *testing.T) {
	r := sioTestRunner(t, "")
	if _, err := findSIONode(r.cfg.node, r.cfg.interop); err != nil {
		missingPeer(t, err.Error())
	}
	r.runSIO()
	e := r.sio
	if len(e.errs) > 0 || e.peerErrs["node"] != "" {
		t.Fatalf("errors: %q, node: %s", e.errs, e.peerErrs["node"])
	}
	got := map[string]int{}
	for _, res := range e.results {
		got[res.Server]++
	}
	if got["wsio"] != 4 || got["node"] != 4 {
		t.Errorf("results per server: %v", got)
	}
}
