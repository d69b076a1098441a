package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wsio/wsio/adapter/redisadapter/redistest"
	"github.com/wsio/wsio/bench/internal/sioload"
)

// The cross-server part (wsbench cluster): two of our servers joined
// through Redis (adapter/redisadapter) against two Node socket.io servers
// joined by @socket.io/redis-adapter, on one redis-server. One client
// emits "bcast" K on server A; the other clients, all on server B, each
// receive the K "msg" events through Redis.

// clusterSectionTitle is the report's section for an adapter kind.
func clusterSectionTitle(adapter string) string {
	if adapter == "sharded" {
		return "Cross-server broadcast over Redis, sharded pub/sub"
	}
	return "Cross-server broadcast over Redis"
}

type clusterConfig struct {
	clients, burst, reps int
	warmup, duration     time.Duration
	interop, out         string
	adapter              string // classic or sharded
}

func clusterMain(args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	var c clusterConfig
	fs.IntVar(&c.clients, "clients", 1000, "clients on server B")
	fs.IntVar(&c.burst, "burst", 10, "msg events per round")
	fs.IntVar(&c.reps, "reps", 3, "measurements per server kind (the median is reported)")
	fs.DurationVar(&c.warmup, "warmup", 300*time.Millisecond, "load before each measured window")
	fs.DurationVar(&c.duration, "duration", time.Second, "measured window")
	fs.StringVar(&c.interop, "interop", "../interop", "directory with node/bench-sio-server.mjs and node_modules")
	fs.StringVar(&c.out, "out", "RESULTS.md", "report whose section to replace")
	fs.StringVar(&c.adapter, "adapter", "classic", `"classic" (pub/sub) or "sharded" (sharded pub/sub, Node's createShardedAdapter)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.adapter != "classic" && c.adapter != "sharded" {
		return fmt.Errorf("-adapter %q: classic or sharded", c.adapter)
	}
	start := time.Now()
	machine := gatherMachine()
	redisURL, stopRedis, err := startRedisServer()
	if err != nil {
		return err
	}
	defer stopRedis()
	nodeBin, err := findSIONode("", c.interop)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	script := sioNodeScript(c.interop)
	starters := map[string]func(string) (*eioChild, error){
		"wsio": func(name string) (*eioChild, error) {
			return startSIOChild(name, os.Args[0], []string{"sio-server", "-redis", redisURL, "-redis-adapter", c.adapter, "-limit", "30m"})
		},
		"node": func(name string) (*eioChild, error) {
			return startSIOChild(name, nodeBin, []string{script, "redis=" + redisURL, "adapter=" + c.adapter, "limit=1800"})
		},
	}
	results := map[string][]sioload.Result{}
	for rep := range c.reps {
		order := []string{"wsio", "node"}
		if rep%2 == 1 {
			order = []string{"node", "wsio"}
		}
		for _, kind := range order {
			res, err := clusterMeasure(c, starters[kind], kind)
			if err != nil {
				return fmt.Errorf("%s: %w", kind, err)
			}
			logf("  cluster %s rep=%d: %s msg/s, p50 %s, p99 %s", kind, rep+1, fmtRate(res.PerSec), fmtUs(res.P50us), fmtUs(res.P99us))
			results[kind] = append(results[kind], res)
		}
	}
	section := clusterReport(c, machine, results, time.Since(start))
	old, err := os.ReadFile(c.out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.WriteFile(c.out, []byte(replaceSection(string(old), clusterSectionTitle(c.adapter), section)), 0o644); err != nil {
		return err
	}
	logf("updated the %q section of %s in %v", clusterSectionTitle(c.adapter), c.out, time.Since(start).Round(time.Second))
	return nil
}

// clusterMeasure starts two fresh servers of one kind and measures once.
func clusterMeasure(c clusterConfig, start func(string) (*eioChild, error), kind string) (sioload.Result, error) {
	a, err := start(kind + "-a")
	if err != nil {
		return sioload.Result{}, err
	}
	defer a.stop()
	b, err := start(kind + "-b")
	if err != nil {
		return sioload.Result{}, err
	}
	defer b.stop()
	time.Sleep(300 * time.Millisecond) // both subscribed
	args := []string{"sio-load", "-url", b.url, "-emit-url", a.url, "-mode", "broadcast", "-clients", strconv.Itoa(c.clients),
		"-burst", strconv.Itoa(c.burst), "-warmup", c.warmup.String(), "-duration", c.duration.String(),
		"-server-pid", strconv.Itoa(b.cmd.Process.Pid)}
	res, err := runSIOLoad(args, c.warmup+c.duration+3*time.Minute)
	res.Server = kind
	return res, err
}

// startRedisServer starts redis-server (redistest.Launch) and returns
// its URL and a function that kills it.
func startRedisServer() (string, func(), error) {
	r, err := redistest.Launch()
	if err != nil {
		return "", nil, err
	}
	logf("cluster: redis-server, pid %d, at %s", r.Pid(), r.Addr)
	return r.URL(), r.Kill, nil
}

func clusterReport(c clusterConfig, m machineInfo, results map[string][]sioload.Result, took time.Duration) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## %s\n\n", clusterSectionTitle(c.adapter))
	adapters := "`redisadapter.New` against two Node `socket.io@4.8.4` servers joined by `createAdapter`"
	if c.adapter == "sharded" {
		adapters = "`redisadapter.NewSharded` against two Node `socket.io@4.8.4` servers joined by `createShardedAdapter`"
	}
	w("Two of our servers joined through Redis with %s of `@socket.io/redis-adapter@8.3.0`, on one `redis-server`, measured in turn by `go run ./cmd/wsbench cluster -adapter %s` (in `bench/`, %v for this part). One client on server A emits `bcast` with K=%d; server A emits `msg` K times to every socket (`Server.Emit` / `io.emit`), which reaches the %d clients on server B through Redis; the next round starts when every client (the emitter included) has all K. Every measurement starts two fresh server processes. Only server B's CPU is measured. Above 1 means ours is better.\n\n", adapters, c.adapter, took.Round(time.Second), c.burst, c.clients)
	w("| | |\n|---|---|\n| date | %s |\n| commit | %s |\n| nproc | %s |\n| Go | %s |\n| redis-server | %s |\n\n", m.date, cmdOut("git", "-C", "..", "rev-parse", "--short", "HEAD"), m.nproc, m.goVersion, cmdOut("redis-server", "--version"))
	w("```sh\ncd bench\ngo run ./cmd/wsbench cluster -adapter %s -clients %d -burst %d -reps %d\n# for each kind, %d times, rotating: two servers with -redis redis://127.0.0.1:PORT, then\ngo run ./cmd/wsbench sio-load -url B -emit-url A -mode broadcast -clients %d -burst %d -warmup %v -duration %v -server-pid PID_B\n```\n\n", c.adapter, c.clients, c.burst, c.reps, c.reps, c.clients, c.burst, c.warmup, c.duration)
	w("| metric | ours | Node | ours vs Node |\n|---|---:|---:|---:|\n")
	stat := func(kind string, f func(sioload.Result) float64) stat {
		var vs []float64
		for _, r := range results[kind] {
			vs = append(vs, f(r))
		}
		if len(vs) == 0 {
			return stat{med: math.NaN()}
		}
		return medianStat(vs)
	}
	rate := func(r sioload.Result) float64 { return r.PerSec }
	p50 := func(r sioload.Result) float64 { return r.P50us }
	p99 := func(r sioload.Result) float64 { return r.P99us }
	cpu := func(r sioload.Result) float64 { return r.ServerCPUPerMsgUs }
	ro, rn := stat("wsio", rate), stat("node", rate)
	w("| deliveries/s (clients of B, and the emitter on A) | %s ±%.0f%% | %s ±%.0f%% | %.2fx |\n", fmtRate(ro.med), ro.spread*100, fmtRate(rn.med), rn.spread*100, ro.med/rn.med)
	for _, row := range []struct {
		name string
		f    func(sioload.Result) float64
	}{{"p50 delivery latency", p50}, {"p99 delivery latency", p99}, {"server B CPU per delivery", cpu}} {
		o, n := stat("wsio", row.f), stat("node", row.f)
		w("| %s | %s | %s | %.2fx |\n", row.name, fmtUs(o.med), fmtUs(n.med), n.med/o.med)
	}
	gen := func(kind string) float64 {
		return stat(kind, func(r sioload.Result) float64 { return r.ClientCPU / r.Seconds }).med
	}
	w("\nGenerator CPU (share of one core): ours %.0f%%, Node %.0f%%. Medians of %d runs per kind; raw results are not kept for this part.\n", gen("wsio")*100, gen("node")*100, c.reps)
	return b.String()
}
