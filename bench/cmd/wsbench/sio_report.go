package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wsio/wsio/bench/internal/sioload"
)

// sioStat is the median of one metric over the repetitions of a case on
// one server (see eioStat).
func sioStat(rs []sioload.Result, f func(sioload.Result) float64) stat {
	var vs []float64
	for _, r := range rs {
		if v := f(r); !math.IsNaN(v) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return stat{med: math.NaN()}
	}
	return medianStat(vs)
}

// medianStat is the median of vs (sorted in place) and the largest
// deviation from it, as eioStat computes them.
func medianStat(vs []float64) stat {
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

func (e *sioRun) resultsFor(cs sioCase, server string) []sioload.Result {
	var out []sioload.Result
	for _, r := range e.results {
		if r.Server == server && r.Mode == cs.mode && r.Clients == cs.clients && (cs.mode != "broadcast" || r.Burst == cs.burst) {
			out = append(out, r)
		}
	}
	return out
}

// sioPeers are the servers other than ours that have results.
func (e *sioRun) peers() []string {
	var out []string
	for _, name := range sioServerNames[1:] {
		for _, r := range e.results {
			if r.Server == name {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

func sioRev() string {
	rev := cmdOut("git", "-C", "..", "rev-parse", "--short", "HEAD")
	if rev == "" {
		return "unknown"
	}
	args := append([]string{"-C", "..", "status", "--porcelain", "--"}, sioSources...)
	if dirty := cmdOut("git", args...); dirty != "" {
		rev += " with uncommitted changes in " + strings.Join(sioSources, "/, ") + "/"
	}
	return rev
}

// sioReport renders the Socket.IO section of RESULTS.md.
func (r *runner) sioReport() string {
	e := r.sio
	if e == nil {
		return ""
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := e.machine
	w("## %s\n\n", sioSectionTitle)
	w("Our Socket.IO server (`github.com/wsio/wsio/socketio`, `internal/sioserver`) against Node's socket.io and the Go server github.com/zishang520/socket.io, side by side in one run of `%s` (in `bench/`), which took %v for this part. Every ratio is oriented so that **above 1 means ours is better**: throughput ours ÷ peer, times and memory peer ÷ ours.\n\n",
		e.cmdline, e.end.Sub(e.start).Round(time.Second))
	w("| | |\n|---|---|\n")
	w("| date | %s |\n", e.start.UTC().Format("2006-01-02 15:04 MST"))
	w("| commit | %s |\n", sioRev())
	w("| sources (sha256 of %s/ non-test .go) | %s |\n", strings.Join(sioSources, "/, "), e.srcStart)
	w("| nproc | %s |\n", m.nproc)
	w("| CPU | %s |\n", m.cpu)
	w("| kernel | %s |\n", m.kernel)
	w("| Go | %s |\n", m.goVersion)
	if e.nodeVersion != "" {
		w("| Node | %s |\n", e.nodeVersion)
		w("| npm packages | %s |\n", strings.Join(e.npmVersions, ", "))
	}
	if _, ok := e.peerErrs["zsio"]; !ok {
		w("| Go peer | %s (internal/zsioserver, a module of its own) |\n", zsioVersion)
	}
	if len(e.results) > 0 {
		var worst float64
		var others []float64
		for _, r := range e.results {
			if r.Seconds > 0 {
				others = append(others, r.OtherCPU/r.Seconds)
				worst = max(worst, r.OtherCPU/r.Seconds)
			}
		}
		if len(others) > 0 {
			w("| CPU used by other processes during the windows (share of one core) | median %s, max %s (no measurement was made again) |\n",
				fmtPct(medianStat(others).med), fmtPct(worst))
		}
	}
	w("\n")
	if e.srcEnd != "" && e.srcEnd != e.srcStart {
		w("**Warning: our sources changed during the run (fingerprint %s at the start, %s at the end).** Run again.\n\n", e.srcStart, e.srcEnd)
	}
	for _, name := range sioServerNames[1:] {
		if msg, ok := e.peerErrs[name]; ok {
			w("**%s's server was not measured: %s.**\n\n", sioDisplay(name), msg)
		}
	}
	w("### Commands\n\n$TMP is a temporary directory removed at the end of the run.\n\n```sh\ncd bench\n")
	for _, s := range e.steps {
		w("%s\n", s.cmd)
	}
	w("```\n\n")
	peers := e.peers()
	r.sioRateTable(w, "echo", peers)
	r.sioRateTable(w, "broadcast", peers)
	r.sioIdleTable(w, peers)
	for _, msg := range e.errs {
		w("- failed: %s\n", msg)
	}
	if len(e.errs) > 0 {
		w("\n")
	}
	w("### Method\n\n%s", sioMethodNotes)
	return b.String()
}

func sioPerSec(r sioload.Result) float64 { return r.PerSec }
func sioP50(r sioload.Result) float64    { return r.P50us }
func sioP99(r sioload.Result) float64    { return r.P99us }
func sioCPU(r sioload.Result) float64    { return r.ServerCPUPerMsgUs }
func sioGen(r sioload.Result) float64 {
	if r.Seconds == 0 {
		return math.NaN()
	}
	return r.ClientCPU / r.Seconds
}

func (r *runner) sioRateTable(w func(string, ...any), mode string, peers []string) {
	e := r.sio
	var cases []sioCase
	for _, cs := range e.cases {
		if cs.mode == mode {
			cases = append(cases, cs)
		}
	}
	if len(cases) == 0 {
		return
	}
	if mode == "echo" {
		w("### Echo with acknowledgement: round trips per second and latency\n\n")
		w("Each client emits `echo` with an acknowledgement id and waits for the acknowledgement, which carries the argument back, in a loop (one event in flight per client); msg/s counts acknowledged round trips in the %v window by all clients together; p50/p99 are the round-trip times. Medians of %d runs (± the largest deviation of a run from the median).\n\n", e.window, e.reps)
	} else {
		w("### Broadcast fan-out: deliveries per second and delivery latency\n\n")
		w("In rounds: one client emits `bcast` with K, the server emits `msg` K times to every socket of the main namespace (ours: `Server.Emit`; Node and zishang520: `io.emit`), and the next round starts when every client has all K. msg/s counts `msg` events received by all clients together in the %v window; p50/p99 are delivery latencies, from the `bcast` emit to the arrival of each `msg` at each client. Medians of %d runs.\n\n", e.window, e.reps)
	}
	head := "| case | metric | ours |"
	sep := "|---|---|---:|"
	for _, p := range peers {
		head += fmt.Sprintf(" %s | vs %s (>1: ours better) |", sioDisplay(p), sioDisplay(p))
		sep += "---:|---:|"
	}
	w("%s\n%s\n", head, sep)
	for _, cs := range cases {
		o := e.resultsFor(cs, "wsio")
		for _, metric := range []struct {
			name   string
			f      func(sioload.Result) float64
			fmt    func(float64) string
			higher bool // higher is better
		}{
			{"msg/s", sioPerSec, fmtRate, true},
			{"p50", sioP50, fmtUs, false},
			{"p99", sioP99, fmtUs, false},
			{"server CPU/msg", sioCPU, fmtUs, false},
			{"generator CPU", sioGen, fmtPct, false},
		} {
			ours := sioStat(o, metric.f)
			row := fmt.Sprintf("| %s | %s | %s%s |", cs.name(), metric.name, metric.fmt(ours.med), spreadNote(metric.name, ours))
			for _, p := range peers {
				ps := sioStat(e.resultsFor(cs, p), metric.f)
				ratio := "–"
				if metric.name != "generator CPU" {
					if metric.higher {
						ratio = fmtRatio(ours.med / ps.med)
					} else {
						ratio = fmtRatio(ps.med / ours.med)
					}
				}
				row += fmt.Sprintf(" %s%s | %s |", metric.fmt(ps.med), spreadNote(metric.name, ps), ratio)
			}
			w("%s\n", row)
		}
	}
	w("\n")
}

func spreadNote(metric string, s stat) string {
	if metric != "msg/s" || math.IsNaN(s.med) {
		return ""
	}
	return fmt.Sprintf(" ±%.0f%%", s.spread*100)
}

func (r *runner) sioIdleTable(w func(string, ...any), peers []string) {
	e := r.sio
	var cs *sioCase
	for i := range e.cases {
		if e.cases[i].mode == "idle" {
			cs = &e.cases[i]
		}
	}
	if cs == nil {
		return
	}
	all := append([]string{"wsio"}, peers...)
	found := false
	for _, name := range all {
		if len(e.resultsFor(*cs, name)) > 0 {
			found = true
		}
	}
	if !found {
		return
	}
	w("### Memory per idle connection\n\n")
	w("A fresh server process per measurement: its VmRSS (/proc/PID/status) is read before the clients connect and again after %d connections (WebSocket, main namespace joined) have been idle for %v, answering pings; the difference ÷ %d is the memory per connection. Nothing forces a GC in any server; this is the resident memory the process holds. Median of %d measurement(s) per server. Ratio: peer ÷ ours; above 1 means ours uses less.\n\n",
		cs.clients, r.cfg.sioIdleWait, cs.clients, r.cfg.sioIdleReps)
	w("| server | connections | RSS before | RSS after | per connection | peer ÷ ours | connect time |\n|---|---:|---:|---:|---:|---:|---:|\n")
	ours := sioStat(e.resultsFor(*cs, "wsio"), func(r sioload.Result) float64 { return r.BytesPerConn }).med
	for _, name := range all {
		rs := e.resultsFor(*cs, name)
		if len(rs) == 0 {
			continue
		}
		per := sioStat(rs, func(r sioload.Result) float64 { return r.BytesPerConn }).med
		before := sioStat(rs, func(r sioload.Result) float64 { return float64(r.RSSBeforeKiB) }).med
		after := sioStat(rs, func(r sioload.Result) float64 { return float64(r.RSSAfterKiB) }).med
		conn := sioStat(rs, func(r sioload.Result) float64 { return r.ConnectSecs }).med
		ratio := "–"
		if name != "wsio" {
			ratio = fmtRatio(per / ours)
		}
		w("| %s | %d | %.1f MiB | %.1f MiB | %.1f KiB | %s | %.1f s |\n", sioDisplay(name), cs.clients, before/1024, after/1024, per/1024, ratio, conn)
	}
	w("\n")
}

const sioMethodNotes = `- **Processes**: ours is ` + "`wsbench sio-server`" + ` (socketio.NewServer(nil): Node's defaults, mounted at /socket.io/ on a net/http server); Node's is ` + "`interop/node/bench-sio-server.mjs`" + ` (socket.io's ` + "`new Server(httpServer)`" + ` with its defaults); zishang520's is ` + "`internal/zsioserver`" + ` (socket.NewServer(nil, nil), its ServeHandler on net/http). All listen on 127.0.0.1, answer ` + "`echo`" + ` with an acknowledgement carrying its arguments and ` + "`bcast`" + ` K, data by emitting ` + "`msg`" + ` with data K times to everyone. For echo and broadcast each server is one process for the whole part; for idle memory every measurement starts a fresh one. The load generator is a new process per measurement (` + "`wsbench sio-load`" + `), the same Go program for every server. Nothing is pinned: the 2 cores are shared by the server, the generator and the machine's other load; the generator's own CPU share (of one core, over the window) is in the tables, since it competes with the server for the cores. Ratios: msg/s ours ÷ peer; latencies and server CPU per message peer ÷ ours.
- **Clients**: the generator speaks Socket.IO v5 over Engine.IO v4 WebSocket itself (the websocket package, eioparser for the open packet, sioparser for CONNECT and ACK packets): ` + "`transport=websocket`" + ` directly (no polling first), "40" to join the main namespace, wait for "40{sid}", pings "2" answered with "3". The event argument is the JSON object ` + "`" + sioload.Payload + "`" + ` for every server; acknowledgements are decoded and checked; broadcast deliveries are counted by the prefix ` + "`42[\"msg\",`" + `.
- **Measurement**: echo and broadcast connect their clients, run the load for the warm-up, then count over the window; every case is measured the given number of times per server, rotating which server goes first, and the median is reported. Unlike the Engine.IO part, measurements disturbed by other processes are not made again; the other-CPU share is recorded in raw/sio.jsonl.
`
