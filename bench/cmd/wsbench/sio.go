package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter/redisadapter"
	"github.com/wsio/wsio/bench/internal/sioload"
	"github.com/wsio/wsio/bench/internal/sioserver"
)

// The Socket.IO part of wsbench: our socketio server, Node's socket.io and
// github.com/zishang520/socket.io (a Go peer), each in a child process of
// its own, driven in turn by a load generator that is another process
// (this binary's sio-load subcommand). It is modelled on the Engine.IO
// part (eio.go) and reuses its child-process helpers.

const sioSectionTitle = "Socket.IO throughput"

// sioCase is one load of the comparison.
type sioCase struct {
	mode    string // echo, broadcast or idle
	clients int
	burst   int // broadcast only
}

func (c sioCase) name() string {
	s := fmt.Sprintf("%s/clients=%d", c.mode, c.clients)
	if c.mode == "broadcast" {
		s += fmt.Sprintf("/burst=%d", c.burst)
	}
	return s
}

// sioCases are the loads measured, in order.
func (c config) sioCases() []sioCase {
	return []sioCase{
		{mode: "echo", clients: 1},
		{mode: "echo", clients: 100},
		{mode: "broadcast", clients: c.sioBcastClients, burst: c.sioBurst},
		{mode: "idle", clients: c.sioIdle},
	}
}

// sioServerNames are the servers compared; the first is ours.
var sioServerNames = []string{"wsio", "node", "zsio"}

func sioDisplay(name string) string {
	switch name {
	case "wsio":
		return "ours"
	case "node":
		return "Node"
	}
	return "zishang520"
}

// zsioVersion is the github.com/zishang520/socket.io server module
// measured (internal/zsioserver/go.mod).
const zsioVersion = "github.com/zishang520/socket.io/servers/socket/v3 v3.0.6"

// sioRun holds what the Socket.IO part produced, for the report.
type sioRun struct {
	start, end  time.Time
	machine     machineInfo
	srcStart    string
	srcEnd      string
	nodeVersion string
	npmVersions []string
	peerErrs    map[string]string // servers not measured, and why
	results     []sioload.Result
	errs        []string
	steps       []step
	reps        int
	warmup      time.Duration
	window      time.Duration
	cmdline     string
	cases       []sioCase
}

// sioSources are the directories whose Go sources our socketio server
// depends on.
var sioSources = []string{"socketio", "sioparser", "engineio", "eioparser", "websocket", "internal"}

// sioStarter starts a fresh child of one server.
type sioStarter func() (*eioChild, error)

// runSIO measures every case against every server that can run.
func (r *runner) runSIO() {
	c := r.cfg
	e := &sioRun{start: time.Now(), machine: r.machine, reps: c.eioReps, warmup: c.eioWarmup, window: c.eioDuration,
		cmdline: r.cmdline, peerErrs: map[string]string{}, cases: c.sioCases()}
	r.sio = e
	e.srcStart = sourceFingerprintDirs("..", sioSources)

	starters := map[string]sioStarter{}
	starters["wsio"] = func() (*eioChild, error) {
		return startSIOChild("wsio", os.Args[0], []string{"sio-server", "-limit", "30m"})
	}
	e.steps = append(e.steps, step{cmd: "go run ./cmd/wsbench sio-server -limit 30m   # ours: prints its port"})
	if nodeBin, err := findSIONode(c.node, c.interop); err == nil {
		e.nodeVersion = cmdOut(nodeBin, "--version")
		for _, pkg := range []string{"socket.io", "engine.io", "ws"} {
			e.npmVersions = append(e.npmVersions, pkg+"@"+npmVersion(c.interop, pkg))
		}
		script := sioNodeScript(c.interop)
		starters["node"] = func() (*eioChild, error) {
			return startSIOChild("node", nodeBin, []string{script, "limit=1800"})
		}
		e.steps = append(e.steps, step{cmd: "node " + script + " limit=1800   # Node: prints its port"})
	} else {
		e.peerErrs["node"] = err.Error()
		logf("sio: Node's server is not measured: %v", err)
	}
	if c.sioZsio {
		bin := filepath.Join(r.tmp, "zsio-server")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		out, err := exec.CommandContext(ctx, "go", "-C", filepath.Join("internal", "zsioserver"), "build", "-o", bin, ".").CombinedOutput()
		cancel()
		if err == nil {
			starters["zsio"] = func() (*eioChild, error) {
				return startSIOChild("zsio", bin, []string{"-limit", "30m"})
			}
			e.steps = append(e.steps, step{cmd: "go -C internal/zsioserver build -o $TMP/zsio-server . && $TMP/zsio-server -limit 30m   # " + zsioVersion + ": prints its port"})
		} else {
			msg := fmt.Sprintf("building internal/zsioserver: %v: %s", err, bytes.TrimSpace(out))
			e.peerErrs["zsio"] = msg
			logf("sio: %s", msg)
		}
	} else {
		e.peerErrs["zsio"] = "-sio-zsio=false"
	}

	// One long-lived child per server for echo and broadcast; a fresh one
	// for every idle measurement, so that its RSS starts from a clean
	// process.
	servers := map[string]*eioChild{}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for _, name := range sioServerNames {
		if st := starters[name]; st != nil {
			s, err := st()
			if err != nil {
				e.peerErrs[name] = "starting: " + err.Error()
				delete(starters, name)
				continue
			}
			servers[name] = s
		}
	}

	var all bytes.Buffer
	for _, cs := range e.cases {
		reps := c.eioReps
		if cs.mode == "idle" {
			reps = c.sioIdleReps
		}
		for rep := range reps {
			// Rotate which server goes first.
			order := slices.Concat(sioServerNames[rep%3:], sioServerNames[:rep%3])
			for _, name := range order {
				st := starters[name]
				if st == nil {
					continue
				}
				s := servers[name]
				if cs.mode == "idle" {
					var err error
					if s, err = st(); err != nil {
						e.errs = append(e.errs, fmt.Sprintf("%s server=%s rep=%d: starting: %v", cs.name(), name, rep+1, err))
						continue
					}
					// Let the fresh process settle before its RSS is read.
					time.Sleep(time.Second)
				}
				if s.exited() {
					msg := fmt.Sprintf("%s: the %s server exited (%v)", cs.name(), name, s.waitErr)
					if !containsStr(e.errs, msg) {
						e.errs = append(e.errs, msg)
					}
					continue
				}
				args := sioLoadArgs(c, cs, s)
				res, err := runSIOLoad(args, c.eioWarmup+c.eioDuration+c.sioIdleWait+3*time.Minute)
				if cs.mode == "idle" {
					s.stop()
				}
				if err != nil {
					msg := fmt.Sprintf("%s server=%s rep=%d: %v", cs.name(), name, rep+1, err)
					logf("sio: %s", msg)
					e.errs = append(e.errs, msg)
					continue
				}
				res.Server, res.Rep = name, rep+1
				if cs.mode == "idle" {
					logf("  sio %s server=%s rep=%d: RSS %d -> %d KiB, %.0f B/conn, connect %.1fs",
						cs.name(), name, rep+1, res.RSSBeforeKiB, res.RSSAfterKiB, res.BytesPerConn, res.ConnectSecs)
				} else {
					logf("  sio %s server=%s rep=%d: %.0f msg/s, p50 %.0f µs, p99 %.0f µs, server CPU %.1f µs/msg",
						cs.name(), name, rep+1, res.PerSec, res.P50us, res.P99us, res.ServerCPUPerMsgUs)
				}
				e.results = append(e.results, res)
				line, _ := json.Marshal(res)
				all.Write(append(line, '\n'))
			}
		}
	}
	file := filepath.Join(c.raw, "sio.jsonl")
	_ = os.WriteFile(file, all.Bytes(), 0o644)
	e.steps = append(e.steps, step{
		cmd: fmt.Sprintf("go run ./cmd/wsbench sio-load -url http://127.0.0.1:PORT/socket.io/ -mode M -clients N [-burst K] -warmup %v -duration %v -server-pid PID  # echo and broadcast: %d times per server, rotating which server goes first; idle (-warmup %v): %d time(s) per server, each against a fresh server process; >> %s",
			c.eioWarmup, c.eioDuration, c.eioReps, c.sioIdleWait, c.sioIdleReps, file),
		output: file,
	})
	e.srcEnd = sourceFingerprintDirs("..", sioSources)
	e.end = time.Now()
}

func sioLoadArgs(c config, cs sioCase, s *eioChild) []string {
	warmup := c.eioWarmup
	if cs.mode == "idle" {
		warmup = c.sioIdleWait
	}
	args := []string{"sio-load", "-url", s.url, "-mode", cs.mode, "-clients", strconv.Itoa(cs.clients),
		"-warmup", warmup.String(), "-duration", c.eioDuration.String(), "-server-pid", strconv.Itoa(s.cmd.Process.Pid)}
	if cs.mode == "broadcast" {
		args = append(args, "-burst", strconv.Itoa(cs.burst))
	}
	return args
}

// startSIOChild starts a server child (see startEIOChild) and points its
// URL at /socket.io/.
func startSIOChild(name, bin string, args []string) (*eioChild, error) {
	s, err := startEIOChild(name, bin, args)
	if err != nil {
		return nil, err
	}
	s.url = strings.TrimSuffix(s.url, "/engine.io/") + "/socket.io/"
	return s, nil
}

func sioNodeScript(interop string) string {
	return filepath.Join(interop, "node", "bench-sio-server.mjs")
}

// findSIONode returns the node binary, checking that the script and the
// npm packages are there.
func findSIONode(flagValue, interop string) (string, error) {
	bin := flagValue
	if bin == "none" {
		return "", errNoNode
	}
	if bin == "" {
		p, err := exec.LookPath("node")
		if err != nil {
			return "", errors.New("node is not on PATH")
		}
		bin = p
	}
	if _, err := os.Stat(sioNodeScript(interop)); err != nil {
		return "", err
	}
	if npmVersion(interop, "socket.io") == "" {
		return "", fmt.Errorf("%s is missing: run npm ci in %s", filepath.Join(interop, "node_modules", "socket.io"), interop)
	}
	return bin, nil
}

// runSIOLoad runs this binary's sio-load subcommand and decodes its result.
func runSIOLoad(args []string, limit time.Duration) (sioload.Result, error) {
	return runChildJSON[sioload.Result]("sio-load", args, limit)
}

// sioServerMain serves our socketio server (internal/sioserver) on
// 127.0.0.1 at /socket.io/, prints the port, and exits when stdin closes
// or the time limit passes.
func sioServerMain(args []string) error {
	// -redis URL (first) joins the server to a cluster through Redis;
	// -redis-adapter sharded after it uses the sharded adapter.
	if len(args) >= 2 && args[0] == "-redis" {
		opts, err := redis.ParseURL(args[1])
		if err != nil {
			return err
		}
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		factory, rest := redisadapter.New(rdb, nil, nil), args[2:]
		if len(rest) >= 2 && rest[0] == "-redis-adapter" {
			switch rest[1] {
			case "classic":
			case "sharded":
				factory = redisadapter.NewSharded(rdb, nil, nil)
			default:
				return fmt.Errorf("-redis-adapter %q: classic or sharded", rest[1])
			}
			rest = rest[2:]
		}
		return serveChild("sio-server", "/socket.io/", sioserver.NewWithAdapter(factory), rest)
	}
	return serveChild("sio-server", "/socket.io/", sioserver.New(), args)
}

// sioLoadMain runs one measurement (internal/sioload) and prints its
// result as one JSON line.
func sioLoadMain(args []string) error {
	fs := flag.NewFlagSet("sio-load", flag.ContinueOnError)
	var c sioload.Config
	fs.StringVar(&c.URL, "url", "", "Socket.IO endpoint, http://127.0.0.1:PORT/socket.io/ (loopback only)")
	fs.StringVar(&c.EmitURL, "emit-url", "", "broadcast: the endpoint of another server of the cluster, where the emitting client connects")
	fs.StringVar(&c.Mode, "mode", "echo", "echo, broadcast or idle")
	fs.IntVar(&c.Clients, "clients", 1, "connections")
	fs.IntVar(&c.Burst, "burst", 10, "broadcast: msg events per round sent to every socket")
	fs.DurationVar(&c.Warmup, "warmup", 300*time.Millisecond, "load before the measured window; idle: how long the connections stay idle before the RSS is read")
	fs.DurationVar(&c.Duration, "duration", time.Second, "measured window")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "pid of the server, whose CPU time or RSS is measured")
	fs.DurationVar(&c.Timeout, "timeout", 0, "bound on the whole run (default: warmup + duration + 2m)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	res, err := sioload.Run(c)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}
