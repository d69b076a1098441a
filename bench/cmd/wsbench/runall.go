package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wsio/wsio/bench/internal/peers"
)

// config holds the flags of the full run.
type config struct {
	out            string
	raw            string
	n              int
	count          int
	benchtime      string
	microBenchtime string
	profBenchtime  string
	benchstat      string
	skip           map[string]bool
	idleTimeout    time.Duration

	only           string // "eio": only the Engine.IO part, updating its section of out
	eioReps        int
	eioWarmup      time.Duration
	eioDuration    time.Duration
	eioCases       string // regexp over eioCase.name
	eioRetries     int
	eioMaxOther    float64
	eioRetryBudget time.Duration
	node           string // node binary; "none" measures ours only
	interop        string // the interop directory: node/ scripts and node_modules

	sioIdle         int           // Socket.IO: idle connections for the memory case
	sioIdleReps     int           // Socket.IO: idle measurements per server
	sioIdleWait     time.Duration // Socket.IO: idle time before the RSS is read
	sioBurst        int           // Socket.IO: K of the broadcast case
	sioBcastClients int           // Socket.IO: clients of the broadcast case
	sioZsio         bool          // Socket.IO: build and measure internal/zsioserver
}

// step records one command of the run, for the report.
type step struct {
	cmd    string
	output string // where its output went
}

// runner carries the state of one full run.
type runner struct {
	cfg   config
	steps []step
	tmp   string
	start time.Time

	micro, echo           []benchLine
	microStat, echoStat   string
	profiles              []profileText
	idle                  []idleResult
	idleErrs              []string
	machine               machineInfo
	benchstatErr, profErr string
	testBin               string // the bench package's test binary, built once
	srcStart, srcEnd      string // fingerprints of the wsio sources
	eio                   *eioRun
	sio                   *sioRun
	cmdline               string // how wsbench was invoked
}

type profileText struct {
	title string
	cmd   string
	text  string
}

const moduleLine = "module github.com/wsio/wsio/bench"

func runAllMain(args []string) error {
	flags := flag.NewFlagSet("wsbench", flag.ContinueOnError)
	var c config
	var skip string
	flags.StringVar(&c.out, "out", "RESULTS.md", "report to write")
	flags.StringVar(&c.raw, "raw", "raw", "directory for the raw benchmark output, profiles as text and idle results")
	flags.IntVar(&c.n, "n", 10000, "idle connections per library")
	flags.IntVar(&c.count, "count", 6, "go test -count for the benchmarks")
	flags.StringVar(&c.benchtime, "benchtime", "1s", "go test -benchtime for the echo benchmarks")
	flags.StringVar(&c.microBenchtime, "micro-benchtime", "200ms", "go test -benchtime for the frame micro benchmarks")
	flags.StringVar(&c.profBenchtime, "prof-benchtime", "3s", "go test -benchtime for the CPU profiles")
	flags.StringVar(&c.benchstat, "benchstat", "", "benchstat binary (default: from PATH, else $(go env GOPATH)/bin/benchstat)")
	flags.StringVar(&skip, "skip", "", "comma-separated steps to skip: micro, echo, profile, idle, eio, sio")
	flags.DurationVar(&c.idleTimeout, "idle-timeout", 3*time.Minute, "time limit of one idle measurement")
	flags.StringVar(&c.only, "only", "", "eio or sio: run only the Engine.IO or the Socket.IO comparison and replace only its section of -out")
	flags.IntVar(&c.eioReps, "eio-reps", 3, "Engine.IO: measurements per case and server (the median is reported)")
	flags.DurationVar(&c.eioWarmup, "eio-warmup", 300*time.Millisecond, "Engine.IO: load before each measured window")
	flags.DurationVar(&c.eioDuration, "eio-duration", time.Second, "Engine.IO: measured window of each measurement")
	flags.IntVar(&c.eioRetries, "eio-retries", 1, "Engine.IO: measure again up to this many times when other processes took more than -eio-max-other of a core in the window")
	flags.Float64Var(&c.eioMaxOther, "eio-max-other", 0.25, "Engine.IO: share of one core other processes may use in a window before the measurement is made again")
	flags.DurationVar(&c.eioRetryBudget, "eio-retry-budget", time.Minute, "Engine.IO: total time that measurements made again may take, so that the run stays bounded")
	flags.StringVar(&c.eioCases, "eio-cases", "", "Engine.IO: regexp selecting cases by name, e.g. 'websocket/echo' (default all)")
	flags.StringVar(&c.node, "node", "", "Engine.IO: node binary (default: node from PATH; none: measure ours only)")
	flags.StringVar(&c.interop, "interop", "../interop", "Engine.IO: directory with node/bench-eio-server.mjs and node_modules")
	flags.IntVar(&c.sioIdle, "sio-idle", 10000, "Socket.IO: idle connections for the memory-per-connection case")
	flags.IntVar(&c.sioIdleReps, "sio-idle-reps", 3, "Socket.IO: idle measurements per server, each against a fresh server process")
	flags.DurationVar(&c.sioIdleWait, "sio-idle-wait", 3*time.Second, "Socket.IO: how long the idle connections stay open before the server's RSS is read")
	flags.IntVar(&c.sioBurst, "sio-burst", 10, "Socket.IO: msg events per broadcast round sent to every socket")
	flags.IntVar(&c.sioBcastClients, "sio-bcast-clients", 1000, "Socket.IO: clients of the broadcast case")
	flags.BoolVar(&c.sioZsio, "sio-zsio", true, "Socket.IO: build internal/zsioserver (github.com/zishang520/socket.io) and measure it too")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	if c.only != "" && c.only != "eio" && c.only != "sio" {
		return fmt.Errorf("-only %q: the parts that run alone are eio and sio", c.only)
	}
	if c.sioIdle < 1 || c.sioIdleReps < 0 || c.sioBurst < 1 || c.sioBurst > 10000 || c.sioBcastClients < 1 {
		return errors.New("-sio-idle and -sio-bcast-clients must be >= 1, -sio-idle-reps >= 0, 1 <= -sio-burst <= 10000")
	}
	if c.eioCases != "" {
		if _, err := regexp.Compile(c.eioCases); err != nil {
			return fmt.Errorf("-eio-cases: %w", err)
		}
	}
	if c.eioReps < 1 || c.eioDuration <= 0 || c.eioWarmup < 0 {
		return errors.New("-eio-reps must be >= 1, -eio-duration > 0 and -eio-warmup >= 0")
	}
	c.skip = map[string]bool{}
	for s := range strings.SplitSeq(skip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.skip[s] = true
		}
	}
	if gm, err := os.ReadFile("go.mod"); err != nil || !strings.Contains(string(gm), moduleLine+"\n") {
		return errors.New("run wsbench from the bench directory (cd bench && go run ./cmd/wsbench)")
	}
	if err := os.MkdirAll(c.raw, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "wsbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	r := &runner{cfg: c, tmp: tmp, start: time.Now(), cmdline: strings.TrimSpace("go run ./cmd/wsbench " + shellJoin(args))}
	r.machine = gatherMachine()
	if c.only == "eio" {
		return r.runOnlyEIO()
	}
	if c.only == "sio" {
		return r.runOnlySIO()
	}
	// One build of the benchmarks serves every step, so that all of them
	// measure the same snapshot of the websocket package; the fingerprint
	// taken again at the end tells whether the sources moved meanwhile.
	r.srcStart = sourceFingerprint("..")
	if err := r.buildTestBinary(); err != nil {
		return err
	}
	if !c.skip["micro"] {
		if err := r.runMicro(); err != nil {
			return err
		}
	}
	if !c.skip["echo"] {
		if err := r.runEcho(); err != nil {
			return err
		}
	}
	if !c.skip["profile"] {
		if err := r.runProfiles(); err != nil {
			r.profErr = err.Error()
			logf("profiles failed: %v", err)
		}
	}
	if !c.skip["idle"] {
		r.runIdle()
	}
	r.srcEnd = sourceFingerprint("..")
	if !c.skip["eio"] {
		r.runEIO()
	}
	if !c.skip["sio"] {
		r.runSIO()
	}
	report := r.report()
	if err := os.WriteFile(c.out, []byte(report), 0o644); err != nil {
		return err
	}
	logf("wrote %s in %v", c.out, time.Since(r.start).Round(time.Second))
	return nil
}

// runOnlyEIO runs the Engine.IO comparison alone and replaces its section
// of the report, keeping the rest of the file as it is.
func (r *runner) runOnlyEIO() error {
	if err := r.buildTestBinary(); err != nil {
		return err
	}
	r.steps = nil // the build is listed in the Engine.IO section
	r.runEIO()
	r.eio.steps = append([]step{{cmd: "go test -c -o $TMP/bench.test ."}}, r.eio.steps...)
	old, err := os.ReadFile(r.cfg.out)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out := replaceSection(string(old), eioSectionTitle, r.eioReport())
	if err := os.WriteFile(r.cfg.out, []byte(out), 0o644); err != nil {
		return err
	}
	logf("updated the Engine.IO section of %s in %v", r.cfg.out, time.Since(r.start).Round(time.Second))
	return nil
}

// runOnlySIO runs the Socket.IO comparison alone and replaces its section
// of the report, keeping the rest of the file as it is.
func (r *runner) runOnlySIO() error {
	r.runSIO()
	old, err := os.ReadFile(r.cfg.out)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out := replaceSection(string(old), sioSectionTitle, r.sioReport())
	if err := os.WriteFile(r.cfg.out, []byte(out), 0o644); err != nil {
		return err
	}
	logf("updated the Socket.IO section of %s in %v", r.cfg.out, time.Since(r.start).Round(time.Second))
	return nil
}

// replaceSection replaces the level-2 section titled title (from its
// heading to the next level-2 heading or the end) with section, or appends
// section when doc has none.
func replaceSection(doc, title, section string) string {
	heading := "## " + title + "\n"
	i := strings.Index(doc, heading)
	if i < 0 || (i > 0 && doc[i-1] != '\n') {
		if doc != "" && !strings.HasSuffix(doc, "\n\n") {
			doc = strings.TrimRight(doc, "\n") + "\n\n"
		}
		return doc + section
	}
	end := len(doc)
	if j := strings.Index(doc[i+len(heading):], "\n## "); j >= 0 {
		end = i + len(heading) + j + 1
	}
	return doc[:i] + section + doc[end:]
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s wsbench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// buildTestBinary compiles the bench package's tests once.
func (r *runner) buildTestBinary() error {
	r.testBin = filepath.Join(r.tmp, "bench.test")
	args := []string{"test", "-c", "-o", r.testBin, "."}
	cmdline := "go " + shellJoin(args)
	logf("%s", cmdline)
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", cmdline, err)
	}
	r.steps = append(r.steps, step{cmd: strings.Replace(cmdline, r.testBin, "$TMP/bench.test", 1)})
	return nil
}

// benchRun runs the test binary with args, saving its standard output in
// file.
func (r *runner) benchRun(file string, args ...string) ([]byte, error) {
	cmdline := "$TMP/bench.test " + shellJoin(args) + " > " + file
	logf("%s", cmdline)
	var out bytes.Buffer
	cmd := exec.Command(r.testBin, args...)
	cmd.Stdout = io.MultiWriter(&out, progress{})
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w", cmdline, err)
	}
	r.steps = append(r.steps, step{cmd: strings.ReplaceAll(cmdline, r.tmp, "$TMP"), output: file})
	return out.Bytes(), os.WriteFile(file, out.Bytes(), 0o644)
}

// progress echoes benchmark result lines to stderr as they arrive.
type progress struct{}

func (progress) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(string(p), "\n") {
		if strings.HasPrefix(line, "Benchmark") {
			fmt.Fprintln(os.Stderr, "  "+line)
		}
	}
	return len(p), nil
}

func (r *runner) runMicro() error {
	file := filepath.Join(r.cfg.raw, "micro.txt")
	out, err := r.benchRun(file, "-test.run", "^$", "-test.bench", "^BenchmarkFrame", "-test.benchmem",
		"-test.count", strconv.Itoa(r.cfg.count), "-test.benchtime", r.cfg.microBenchtime, "-test.timeout", "30m")
	if err != nil {
		return err
	}
	r.micro = parseBench(out)
	r.microStat = r.benchstatRun(filepath.Join(r.cfg.raw, "micro.benchstat.txt"), file)
	return nil
}

func (r *runner) runEcho() error {
	file := filepath.Join(r.cfg.raw, "echo.txt")
	out, err := r.benchRun(file, "-test.run", "^$", "-test.bench", "^BenchmarkEcho$", "-test.benchmem",
		"-test.count", strconv.Itoa(r.cfg.count), "-test.benchtime", r.cfg.benchtime, "-test.timeout", "60m")
	if err != nil {
		return err
	}
	r.echo = parseBench(out)
	r.echoStat = r.benchstatRun(filepath.Join(r.cfg.raw, "echo.benchstat.txt"), "-col", "/lib", file)
	return nil
}

// benchstatRun runs benchstat and returns its output; a missing benchstat
// is reported in the results rather than failing the run.
func (r *runner) benchstatRun(saveAs string, args ...string) string {
	bin := r.cfg.benchstat
	if bin == "" {
		if p, err := exec.LookPath("benchstat"); err == nil {
			bin = p
		} else if gp, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			bin = filepath.Join(strings.TrimSpace(string(gp)), "bin", "benchstat")
		}
	}
	cmdline := "benchstat " + shellJoin(args) + " > " + saveAs
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		r.benchstatErr = fmt.Sprintf("%s: %v (install with: go install golang.org/x/perf/cmd/benchstat@latest)", cmdline, err)
		logf("%s", r.benchstatErr)
		return ""
	}
	r.steps = append(r.steps, step{cmd: cmdline, output: saveAs})
	_ = os.WriteFile(saveAs, out, 0o644)
	return string(out)
}

// runProfiles takes CPU profiles of wsio's 16 B and 1 KiB echo and a heap
// profile of wsio's idle connections, and keeps the top of each.
func (r *runner) runProfiles() error {
	bin := r.testBin
	for _, size := range []string{"16B", "1KiB"} {
		prof := filepath.Join(r.tmp, "cpu-"+size+".pprof")
		file := filepath.Join(r.cfg.raw, "cpu-wsio-"+size+".txt")
		if _, err := r.benchRun(filepath.Join(r.cfg.raw, "cpu-wsio-"+size+".bench.txt"),
			"-test.run", "^$", "-test.bench", "^BenchmarkEcho$/^lib=wsio$/^size="+size+"$/^compress=false$",
			"-test.benchmem", "-test.count", "1", "-test.benchtime", r.cfg.profBenchtime,
			"-test.cpuprofile", prof); err != nil {
			return err
		}
		text, cmdline, err := r.pprofTop(file, "-top", "-nodecount", "35", bin, prof)
		if err != nil {
			return err
		}
		r.profiles = append(r.profiles, profileText{title: "CPU, wsio echo " + size + " (client and server in one process)", cmd: cmdline, text: text})
	}
	n := min(r.cfg.n, 10000)
	for _, detach := range []bool{false, true} {
		mode := modeName(detach)
		prof := filepath.Join(r.tmp, "heap-"+mode+".pprof")
		args := []string{"idle-server", "-lib", "wsio", "-n", strconv.Itoa(n),
			"-detach=" + strconv.FormatBool(detach), "-memprofile", prof, "-timeout", r.cfg.idleTimeout.String()}
		if _, err := r.idleRun(args); err != nil {
			return err
		}
		r.steps = append(r.steps, step{cmd: strings.ReplaceAll("go run ./cmd/wsbench "+shellJoin(args), r.tmp, "$TMP")})
		file := filepath.Join(r.cfg.raw, "heap-wsio-idle-"+mode+".txt")
		text, cmdline, err := r.pprofTop(file, "-sample_index=inuse_space", "-top", "-nodecount", "30", prof)
		if err != nil {
			return err
		}
		r.profiles = append(r.profiles, profileText{
			title: fmt.Sprintf("Heap in use, wsio server with %d idle connections (mode=%s, every allocation sampled)", n, mode),
			cmd:   cmdline, text: text,
		})
	}
	return nil
}

func (r *runner) pprofTop(saveAs string, args ...string) (text, cmdline string, err error) {
	full := append([]string{"tool", "pprof"}, args...)
	cmdline = strings.ReplaceAll("go "+shellJoin(full)+" > "+saveAs, r.tmp, "$TMP")
	logf("%s", cmdline)
	out, err := exec.Command("go", full...).Output()
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", cmdline, err)
	}
	r.steps = append(r.steps, step{cmd: cmdline, output: saveAs})
	return string(out), cmdline, os.WriteFile(saveAs, out, 0o644)
}

func modeName(detach bool) string {
	if detach {
		return "detached"
	}
	return "handler"
}

// runIdle measures every library, in both server modes, with and without
// compression; each measurement is a fresh server process.
func (r *runner) runIdle() {
	var all bytes.Buffer
	for _, detach := range []bool{false, true} {
		for _, compress := range []bool{false, true} {
			for _, lib := range peers.All {
				args := []string{"idle-server", "-lib", lib.Name, "-n", strconv.Itoa(r.cfg.n),
					"-compress=" + strconv.FormatBool(compress), "-detach=" + strconv.FormatBool(detach),
					"-timeout", r.cfg.idleTimeout.String()}
				res, err := r.idleRun(args)
				if err != nil {
					msg := fmt.Sprintf("%s: %v", shellJoin(args), err)
					logf("idle measurement failed: %s", msg)
					r.idleErrs = append(r.idleErrs, msg)
					continue
				}
				logf("  idle lib=%s mode=%s compress=%v: %.0f B/conn heap+stack, %.0f B/conn RSS",
					lib.Name, modeName(detach), compress,
					res.perConn(heapStack), res.perConn(func(s memSnap) uint64 { return s.RSS }))
				r.idle = append(r.idle, res)
				line, _ := json.Marshal(res)
				all.Write(append(line, '\n'))
			}
		}
	}
	file := filepath.Join(r.cfg.raw, "idle.jsonl")
	_ = os.WriteFile(file, all.Bytes(), 0o644)
	r.steps = append(r.steps, step{
		cmd:    fmt.Sprintf("go run ./cmd/wsbench idle-server -lib LIB -n %d -compress=BOOL -detach=BOOL -timeout %v  # for each LIB, BOOL", r.cfg.n, r.cfg.idleTimeout),
		output: file,
	})
}

// idleRun runs this binary's idle-server subcommand as a child process,
// killed by its pid if it overruns.
func (r *runner) idleRun(args []string) (idleResult, error) {
	logf("wsbench %s", shellJoin(args))
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.idleTimeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return idleResult{}, err
	}
	var res idleResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &res); err != nil {
		return idleResult{}, fmt.Errorf("idle-server printed %q: %w", out, err)
	}
	return res, nil
}

func heapStack(s memSnap) uint64 { return s.HeapInuse + s.StackInuse }

// shellJoin quotes args for display as a shell command line.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " $^|*?()[]{}'\"\\;&<>") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// sourceFingerprint hashes the non-test Go sources of the wsio module's
// websocket and internal packages under root.
func sourceFingerprint(root string) string {
	return sourceFingerprintDirs(root, []string{"websocket", "internal"})
}

// sourceFingerprintDirs hashes the non-test Go sources of dirs under root.
func sourceFingerprintDirs(root string, dirs []string) string {
	h := sha256.New()
	for _, dir := range dirs {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			fmt.Fprintf(h, "%s %d\n", path, len(b))
			h.Write(b)
			return nil
		})
	}
	return fmt.Sprintf("%x", h.Sum(nil))[:16]
}
