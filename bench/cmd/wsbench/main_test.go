package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/wsio/wsio/bench/internal/peers"
)

// TestMain lets the test binary stand in for wsbench when idle-server
// re-executes os.Args[0] with a subcommand.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == "idle-server" || os.Args[1] == "idle-client" ||
		os.Args[1] == "eio-server" || os.Args[1] == "eio-load" ||
		os.Args[1] == "sio-server" || os.Args[1] == "sio-load") {
		if err := run(os.Args[1:]); err != nil {
			os.Stderr.WriteString("wsbench: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestIdleServer runs the whole idle measurement, parent and child process,
// for every library with a handful of connections.
func TestIdleServer(t *testing.T) {
	for i, lib := range peers.All {
		detach := i%2 == 1
		cmd := exec.Command(os.Args[0], "idle-server", "-lib", lib.Name, "-n", "8",
			"-settle", "0s", "-timeout", "60s", "-detach="+boolStr(detach))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", lib.Name, err)
		}
		var res idleResult
		if err := json.Unmarshal(bytes.TrimSpace(out), &res); err != nil {
			t.Fatalf("%s: output %q: %v", lib.Name, out, err)
		}
		if res.Lib != lib.Name || res.N != 8 || res.Parked != 8 || res.Detach != detach {
			t.Errorf("%s: unexpected result %+v", lib.Name, res)
		}
		if res.After.Goroutines < res.Before.Goroutines+8 {
			t.Errorf("%s: %d goroutines before, %d after: connections not parked in goroutines",
				lib.Name, res.Before.Goroutines, res.After.Goroutines)
		}
		if res.After.RSS == 0 || res.After.HeapInuse == 0 {
			t.Errorf("%s: memory not measured: %+v", lib.Name, res.After)
		}
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"ws://127.0.0.1:80/", "ws://127.3.2.1:1/x", "ws://[::1]:8080/"} {
		if err := checkLoopback(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"ws://10.0.0.1:80/", "ws://example.com:80/", "wss://127.0.0.1:80/", "ws://192.168.1.1:1/"} {
		if err := checkLoopback(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

const sampleOutput = `goos: linux
BenchmarkEcho/lib=wsio/size=16B/compress=false-2   	   10000	     20000 ns/op	   0.80 MB/s	       0 B/op	       0 allocs/op
BenchmarkEcho/lib=wsio/size=16B/compress=false-2   	   10000	     22000 ns/op	   0.72 MB/s	       0 B/op	       0 allocs/op
BenchmarkEcho/lib=wsio/size=16B/compress=false-2   	   10000	     30000 ns/op	   0.53 MB/s	       0 B/op	       0 allocs/op
BenchmarkEcho/lib=gws/size=16B/compress=false-2    	   10000	     40000 ns/op	   0.40 MB/s	      80 B/op	       4 allocs/op
BenchmarkFrameRead/side=server/size=16B/compress=true-2    	 1000000	       443.6 ns/op	  36.07 MB/s	       1 B/op	       1 allocs/op
PASS
`

func TestParseAndReport(t *testing.T) {
	lines := parseBench([]byte(sampleOutput))
	if len(lines) != 5 {
		t.Fatalf("parsed %d lines, want 5", len(lines))
	}
	s := summarize(lines, "BenchmarkEcho/lib=wsio/size=16B/compress=false", nsOf)
	if s.med != 22000 || s.n != 3 {
		t.Fatalf("median %v of %d runs, want 22000 of 3", s.med, s.n)
	}
	r := &runner{cfg: config{count: 3, n: 8}, echo: lines[:4], micro: lines[4:]}
	r.idle = []idleResult{
		{Lib: "wsio", N: 10, Before: memSnap{HeapInuse: 100, RSS: 100}, After: memSnap{HeapInuse: 1100, RSS: 2100}},
		{Lib: "gws", N: 10, Before: memSnap{HeapInuse: 100, RSS: 100}, After: memSnap{HeapInuse: 2100, RSS: 3100}},
	}
	out := r.report()
	for _, want := range []string{
		"size=16B compress=false: vs gws 1.82x (MET)",
		"NOT MET — allocating: `FrameRead/side=server/size=16B/compress=true` 1",
		"mode=handler compress=false: heap+stack MET, RSS MET",
		"| 16B | false | 22.0 µs ±36% |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
