package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wsio/wsio/bench/internal/eioload"
)

const eioSectionTitle = "Engine.IO throughput"

// eioStat is the median of one metric over the repetitions of a case on
// one server, and the largest deviation of a repetition from it.
func eioStat(rs []eioload.Result, f func(eioload.Result) float64) stat {
	var vs []float64
	for _, r := range rs {
		if v := f(r); !math.IsNaN(v) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return stat{med: math.NaN()}
	}
	slices.Sort(vs)
	m := vs[len(vs)/2]
	if len(vs)%2 == 0 {
		m = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	s := stat{med: m, n: len(vs)}
	if m > 0 {
		s.spread = max(vs[len(vs)-1]-m, m-vs[0]) / m
	}
	return s
}

func (e *eioRun) resultsFor(cs eioCase, server string) []eioload.Result {
	var out []eioload.Result
	for _, r := range e.results {
		if r.Server == server && r.Transport == cs.transport && r.Mode == cs.mode &&
			r.Clients == cs.clients && r.Size == cs.size && (cs.mode != "broadcast" || r.Burst == cs.burst) {
			out = append(out, r)
		}
	}
	return out
}

func perSec(r eioload.Result) float64    { return r.PerSec }
func p50(r eioload.Result) float64       { return r.P50us }
func p99(r eioload.Result) float64       { return r.P99us }
func cpuPerMsg(r eioload.Result) float64 { return r.ServerCPUPerMsgUs }
func srvCPUShare(r eioload.Result) float64 {
	return r.ServerCPU / r.Seconds
}
func genCPUShare(r eioload.Result) float64 {
	return r.ClientCPU / r.Seconds
}
func otherCPUShare(r eioload.Result) float64 {
	return r.OtherCPU / r.Seconds
}

func fmtRate(v float64) string {
	switch {
	case math.IsNaN(v):
		return "?"
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtUs(v float64) string {
	switch {
	case math.IsNaN(v):
		return "?"
	case v >= 1e4:
		return fmt.Sprintf("%.1f ms", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.2f ms", v/1e3)
	case v >= 10:
		return fmt.Sprintf("%.0f µs", v)
	}
	return fmt.Sprintf("%.1f µs", v)
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "?"
	}
	return fmt.Sprintf("%.2fx", v)
}

func fmtPct(v float64) string {
	if math.IsNaN(v) {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", v*100)
}

// eioReport renders the Engine.IO section of RESULTS.md.
func (r *runner) eioReport() string {
	e := r.eio
	if e == nil {
		return ""
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := e.machine
	w("## %s\n\n", eioSectionTitle)
	w("Our Engine.IO server (`github.com/wsio/wsio/engineio`, `internal/eioserver`) against Node's engine.io, side by side in one run of `%s` (in `bench/`), which took %v for this part. Every ratio is oriented so that **above 1 means ours is better**: throughput ours ÷ Node, times and CPU Node ÷ ours.\n\n",
		e.cmdline, e.end.Sub(e.start).Round(time.Second))
	w("| | |\n|---|---|\n")
	w("| date | %s |\n", e.start.UTC().Format("2006-01-02 15:04 MST"))
	w("| commit | %s |\n", eioRev())
	w("| sources (sha256 of engineio/, eioparser/, websocket/, internal/ non-test .go) | %s |\n", e.srcStart)
	w("| nproc | %s |\n", m.nproc)
	w("| CPU | %s |\n", m.cpu)
	w("| kernel | %s |\n", m.kernel)
	w("| Go | %s |\n", m.goVersion)
	if len(e.results) > 0 {
		other := eioStat(e.results, func(r eioload.Result) float64 { return r.OtherCPU / r.Seconds })
		steal := eioStat(e.results, func(r eioload.Result) float64 { return r.StealCPU / r.Seconds })
		var worst float64
		for _, r := range e.results {
			worst = max(worst, r.OtherCPU/r.Seconds)
		}
		budget := ""
		if e.retryBudgetSpent {
			budget = fmt.Sprintf("; the %v allowed for them ran out, so later disturbed measurements were kept", r.cfg.eioRetryBudget)
		}
		w("| CPU used by other processes during the windows (share of one core; /proc/stat minus server and generator) | median %s, max %s; hypervisor steal median %s; %d of %d measurements made again because other processes took more than %s (up to %d times each, keeping the least disturbed)%s |\n",
			fmtPct(other.med), fmtPct(worst), fmtPct(steal.med), e.retried, len(e.results), fmtPct(r.cfg.eioMaxOther), r.cfg.eioRetries, budget)
	}
	if e.nodeVersion != "" {
		w("| Node | %s |\n", e.nodeVersion)
		w("| npm packages | %s |\n", strings.Join(e.npmVersions, ", "))
	}
	w("\n")
	if e.srcEnd != "" && e.srcEnd != e.srcStart {
		w("**Warning: the engineio, eioparser, websocket or internal sources changed during the run (fingerprint %s at the start, %s at the end).** Run again.\n\n", e.srcStart, e.srcEnd)
	}
	if e.nodeErr != "" {
		w("**Node's server was not measured: %s.** Only our numbers are shown.\n\n", e.nodeErr)
	}
	w("### Commands\n\n$TMP is a temporary directory removed at the end of the run.\n\n```sh\ncd bench\n")
	for _, s := range e.steps {
		w("%s\n", s.cmd)
	}
	w("```\n\n")

	r.eioSummary(w)
	r.eioEchoTable(w)
	r.eioBroadcastTable(w)
	r.eioCPUTable(w)
	if len(e.serverRSS) > 0 {
		w("Peak RSS (VmHWM) of the server processes at the end of the run: ")
		var parts []string
		for _, name := range eioServerNames {
			if v, ok := e.serverRSS[name]; ok {
				parts = append(parts, eioDisplay(name)+" "+v)
			}
		}
		w("%s.\n\n", strings.Join(parts, ", "))
	}
	for _, msg := range e.errs {
		w("- failed: %s\n", msg)
	}
	if len(e.errs) > 0 {
		w("\n")
	}

	w("### Per-message cost of our server, in process\n\n")
	w("`BenchmarkEngineIO*` in `eio_test.go`. `EngineIOWebSocket`: one round trip over loopback TCP, a text message `4`+data from a client made with the websocket package (which allocates nothing per message, see `Echo/lib=wsio` above) to the Engine.IO echo server (`server=engineio`) or to a bare websocket echo server (`server=websocket`), so the difference is what Engine.IO adds; allocs/op count both sides, all of them the server's. `EngineIOPolling`: no network, the server's ServeHTTP called with reused requests and an in-memory ResponseWriter, so allocs/op are the server's alone: `op=echo` is one POST carrying one message, echoed, and the GET that takes the echo (gzip=true sends Accept-Encoding: gzip, which compresses the 1 KiB answer); `op=get/msgs=16` is 16 messages queued with Session.Send and the GET that takes them (the payload encoding).\n\n")
	if e.microErr != "" {
		w("Micro benchmarks failed: %s\n\n", e.microErr)
	}
	if len(e.micro) > 0 {
		w("Medians of %d runs:\n\n", r.cfg.count)
		r.rawTable(w, e.micro)
	}
	if e.microStat != "" {
		w("```\n%s```\n\n", e.microStat)
	}
	w("### Method\n\n%s", eioMethodNotes)
	return b.String()
}

func eioDisplay(name string) string {
	if name == "wsio" {
		return "ours"
	}
	return "Node"
}

func eioRev() string {
	rev := cmdOut("git", "-C", "..", "rev-parse", "--short", "HEAD")
	if rev == "" {
		return "unknown"
	}
	args := append([]string{"-C", "..", "status", "--porcelain", "--"}, eioSources...)
	if dirty := cmdOut("git", args...); dirty != "" {
		rev += " with uncommitted changes in " + strings.Join(eioSources, "/, ") + "/"
	}
	return rev
}

// eioCasesRun returns the cases that have results, in order.
func (e *eioRun) casesRun(mode string) []eioCase {
	var out []eioCase
	for _, cs := range eioCases {
		if cs.mode == mode && (len(e.resultsFor(cs, "wsio")) > 0 || len(e.resultsFor(cs, "node")) > 0) {
			out = append(out, cs)
		}
	}
	return out
}

func (r *runner) eioSummary(w func(string, ...any)) {
	e := r.eio
	type group struct {
		title  string
		ratios []float64
	}
	var groups []*group
	byName := map[string]*group{}
	for _, cs := range eioCases {
		o := eioStat(e.resultsFor(cs, "wsio"), perSec).med
		n := eioStat(e.resultsFor(cs, "node"), perSec).med
		if math.IsNaN(o) || math.IsNaN(n) || n == 0 {
			continue
		}
		key := cs.transport + " " + cs.mode
		g := byName[key]
		if g == nil {
			g = &group{title: key}
			byName[key] = g
			groups = append(groups, g)
		}
		g.ratios = append(g.ratios, o/n)
	}
	if len(groups) == 0 {
		return
	}
	w("**Summary** (throughput, ours ÷ Node, median of %d runs per case; above 1: ours delivers more messages per second):\n\n", e.reps)
	for _, g := range groups {
		lo, hi := slices.Min(g.ratios), slices.Max(g.ratios)
		w("- %s: geometric mean %.2fx over %d cases (from %.2fx to %.2fx)\n", g.title, geomean(g.ratios), len(g.ratios), lo, hi)
	}
	w("\n")
}

func geomean(vs []float64) float64 {
	s := 0.0
	for _, v := range vs {
		s += math.Log(v)
	}
	return math.Exp(s / float64(len(vs)))
}

func (r *runner) eioEchoTable(w func(string, ...any)) {
	e := r.eio
	cases := e.casesRun("echo")
	if len(cases) == 0 {
		return
	}
	w("### Echo: messages per second and round-trip latency\n\n")
	w("Each client sends a text message and waits for its echo, in a loop (one message in flight per client); msg/s counts round trips completed in the %v window by all clients together. Medians of %d runs (± the largest deviation of a run from the median). Ratios: msg/s ours ÷ Node, latency Node ÷ ours; above 1 means ours is better.\n\n", e.window, e.reps)
	w("| transport | clients | size | ours msg/s | Node msg/s | ours ÷ Node | ours p50 | Node p50 | Node ÷ ours | ours p99 | Node p99 | Node ÷ ours |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, cs := range cases {
		o, n := e.resultsFor(cs, "wsio"), e.resultsFor(cs, "node")
		ot, nt := eioStat(o, perSec), eioStat(n, perSec)
		o50, n50 := eioStat(o, p50), eioStat(n, p50)
		o99, n99 := eioStat(o, p99), eioStat(n, p99)
		w("| %s | %d | %s | %s ±%.0f%% | %s ±%.0f%% | %s | %s | %s | %s | %s | %s | %s |\n",
			cs.transport, cs.clients, sizeName(cs.size),
			fmtRate(ot.med), ot.spread*100, fmtRate(nt.med), nt.spread*100, fmtRatio(ot.med/nt.med),
			fmtUs(o50.med), fmtUs(n50.med), fmtRatio(n50.med/o50.med),
			fmtUs(o99.med), fmtUs(n99.med), fmtRatio(n99.med/o99.med))
	}
	w("\n")
}

func (r *runner) eioBroadcastTable(w func(string, ...any)) {
	e := r.eio
	cases := e.casesRun("broadcast")
	if len(cases) == 0 {
		return
	}
	w("### Broadcast: messages delivered per second\n\n")
	w("In rounds: one client sends the text command `bcast:K:...` (the given size in all), the server sends that message K times to every session (ours: one shared `engineio.NewMessage` with `Session.SendMessage`; Node: `socket.send(data)` to every socket of `engine.clients`, what an engine.io application writes), and the next round starts when every client has all K. msg/s counts messages received by all clients together in the window; the round time is the time of one round. Medians of %d runs. Ratios: ours ÷ Node for msg/s, Node ÷ ours for times; above 1 means ours is better.\n\n", e.reps)
	w("| transport | clients | size | K | ours msg/s | Node msg/s | ours ÷ Node | ours round p50 | Node round p50 | Node ÷ ours | ours round p99 | Node round p99 | Node ÷ ours |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, cs := range cases {
		o, n := e.resultsFor(cs, "wsio"), e.resultsFor(cs, "node")
		ot, nt := eioStat(o, perSec), eioStat(n, perSec)
		o50, n50 := eioStat(o, p50), eioStat(n, p50)
		o99, n99 := eioStat(o, p99), eioStat(n, p99)
		w("| %s | %d | %s | %d | %s ±%.0f%% | %s ±%.0f%% | %s | %s | %s | %s | %s | %s | %s |\n",
			cs.transport, cs.clients, sizeName(cs.size), cs.burst,
			fmtRate(ot.med), ot.spread*100, fmtRate(nt.med), nt.spread*100, fmtRatio(ot.med/nt.med),
			fmtUs(o50.med), fmtUs(n50.med), fmtRatio(n50.med/o50.med),
			fmtUs(o99.med), fmtUs(n99.med), fmtRatio(n99.med/o99.med))
	}
	w("\n")
}

func (r *runner) eioCPUTable(w func(string, ...any)) {
	e := r.eio
	var cases []eioCase
	for _, cs := range eioCases {
		if len(e.resultsFor(cs, "wsio")) > 0 || len(e.resultsFor(cs, "node")) > 0 {
			cases = append(cases, cs)
		}
	}
	if len(cases) == 0 {
		return
	}
	w("### CPU time\n\n")
	w("Server CPU per message: the server process's user+system CPU time in the window (/proc/PID/stat, all threads, 10 ms ticks) ÷ messages counted (echo: round trips, each one message in and one out; broadcast: messages delivered). Node ÷ ours: above 1 means ours uses less CPU per message. Server, generator and other CPU: share of one core over the window (the machine has %s); the generator is the same Go program for both servers; other is everything else on the machine in the same window.\n\n", e.machine.nproc)
	w("| case | ours CPU/msg | Node CPU/msg | Node ÷ ours | server CPU ours | server CPU Node | generator CPU (ours run) | generator CPU (Node run) | other CPU (ours run) | other CPU (Node run) |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, cs := range cases {
		o, n := e.resultsFor(cs, "wsio"), e.resultsFor(cs, "node")
		oc, nc := eioStat(o, cpuPerMsg), eioStat(n, cpuPerMsg)
		w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", cs.name(),
			fmtUs(oc.med), fmtUs(nc.med), fmtRatio(nc.med/oc.med),
			fmtPct(eioStat(o, srvCPUShare).med), fmtPct(eioStat(n, srvCPUShare).med),
			fmtPct(eioStat(o, genCPUShare).med), fmtPct(eioStat(n, genCPUShare).med),
			fmtPct(eioStat(o, otherCPUShare).med), fmtPct(eioStat(n, otherCPUShare).med))
	}
	w("\n")
}

const eioMethodNotes = `- **Processes**: ours is ` + "`wsbench eio-server`" + ` (engineio.NewServer with Node's defaults spelled out: pingInterval 25 s, pingTimeout 20 s, maxHttpBufferSize 1e6, perMessageDeflate off, httpCompression on with threshold 1024; mounted at /engine.io/ on a net/http server); Node's is ` + "`interop/node/bench-eio-server.mjs`" + ` (engine.io's ` + "`new Server()`" + ` with its defaults, attached to node:http). Both listen on 127.0.0.1 and run for the whole Engine.IO part; both echo every message with its binary flag (ours copies the data, as the OnMessage contract requires) and answer the broadcast command. The load generator is a third process per measurement (` + "`wsbench eio-load`" + `), the same Go program for both servers. Nothing is pinned: the 2 cores are shared by the server, the generator and the machine's other load, so the generator's own CPU use is in the CPU table.
- **Clients**: the generator speaks Engine.IO v4 itself (eioparser for packets, the websocket package for WebSocket): WebSocket sessions open directly with ` + "`transport=websocket`" + ` (no polling first, no upgrade); polling sessions keep one long-poll GET outstanding and POST one message at a time, over kept-alive connections (Go's http.Transport, up to two idle connections per client), with Accept-Encoding: gzip as browsers send, so both servers gzip answers of 1024 bytes and more (1 KiB echoes and broadcast batches; Node uses zlib's default level, ours gzip.BestSpeed: the 1025-byte echo payload becomes 191 bytes with zlib's default level and 202 with Go's BestSpeed). Messages are text: the JSON-like payload of the WebSocket benchmarks (` + "`peers.Payload`" + `), the same bytes for both servers. Pings are answered, but no ping falls inside a run (25 s interval).
- **Measurement**: each measurement connects its clients, runs the load for the warm-up, then counts over the window; latency samples are round trips (echo) or rounds (broadcast) that end in the window. Every case is measured the given number of times per server, alternating which server goes first, and the median is reported.
- **Other processes**: the machine is shared. The CPU time of everything else in each window is the machine's busy time from /proc/stat minus the server's and the generator's; it may also hold kernel time spent on the loopback traffic that is not charged to either process (in a quiet run the column stays between 0% and a few %). A measurement disturbed by more than ` + "`-eio-max-other`" + ` is made again (` + "`-eio-retries`" + `, within ` + "`-eio-retry-budget`" + `) and the least disturbed attempt is kept; raw/eio.jsonl has every kept measurement.
`
