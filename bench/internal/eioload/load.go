// Package eioload is the load generator of the Engine.IO throughput
// comparison: N Engine.IO v4 clients, over WebSocket or HTTP
// long-polling, that either echo messages (each client sends one message
// and waits for it to come back, in a loop) or receive broadcasts (one
// client asks the server to send K messages to every session and all wait
// for them, in rounds). It measures messages per second over a fixed
// window after a warm-up, the round-trip latency, and, given the server's
// pid, the server's CPU time in the window.
package eioload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wsio/wsio/bench/internal/eioserver"
	"github.com/wsio/wsio/bench/internal/peers"
)

// Config describes one measurement.
type Config struct {
	// URL is the server's Engine.IO endpoint, http://127.0.0.1:PORT/engine.io/.
	// Only loopback addresses are accepted.
	URL string
	// Transport is "websocket" or "polling".
	Transport string
	// Mode is "echo" or "broadcast".
	Mode string
	// Clients is the number of sessions.
	Clients int
	// Size is the data size of every message, in bytes (the packet type
	// digit not counted). Messages are text: peers.Payload(Size).
	Size int
	// Burst is K of a broadcast round: messages sent to every session.
	Burst int
	// Warmup runs the load before the measured window; Duration is the
	// window.
	Warmup, Duration time.Duration
	// ServerPID, when > 0, is the server process whose CPU time is
	// measured over the window (from /proc/PID/stat, all its threads).
	ServerPID int
	// Timeout bounds the whole run, connecting and closing included.
	Timeout time.Duration
}

// Result is one measurement.
type Result struct {
	Server    string  `json:"server,omitempty"` // set by the caller
	Rep       int     `json:"rep,omitempty"`    // set by the caller
	Transport string  `json:"transport"`
	Mode      string  `json:"mode"`
	Clients   int     `json:"clients"`
	Size      int     `json:"size"`
	Burst     int     `json:"burst,omitempty"`
	Messages  int64   `json:"messages"` // echo: round trips; broadcast: messages delivered, over all clients
	Seconds   float64 `json:"seconds"`  // length of the window
	PerSec    float64 `json:"per_sec"`  // Messages / Seconds
	// Echo: round-trip time of one message (send until its echo is read).
	// Broadcast: time of one round (the command sent until every client has
	// all K messages).
	P50us   float64 `json:"p50_us"`
	P90us   float64 `json:"p90_us"`
	P99us   float64 `json:"p99_us"`
	MaxUs   float64 `json:"max_us"`
	Samples int     `json:"samples"`
	// CPU time in the window, seconds (user + system).
	ServerCPU float64 `json:"server_cpu_s"`
	ClientCPU float64 `json:"client_cpu_s"`
	// ServerCPUPerMsgUs is ServerCPU / Messages, in µs.
	ServerCPUPerMsgUs float64 `json:"server_cpu_per_msg_us"`
	ConnectSecs       float64 `json:"connect_s"`
	// OtherCPU is the CPU time in the window of everything else on the
	// machine: all CPUs' busy time (/proc/stat) minus the server's and the
	// generator's, seconds. StealCPU is the time the hypervisor gave to
	// other guests. Both tell how much the shared machine disturbed the run.
	OtherCPU float64 `json:"other_cpu_s"`
	StealCPU float64 `json:"steal_cpu_s"`
	// LoadAvg is the machine's 1-minute load average at the end of the
	// window (/proc/loadavg); it counts the server and the generator too.
	LoadAvg float64 `json:"loadavg_1m"`
}

// CheckLoopback refuses URLs that do not point at a loopback IP address.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return fmt.Errorf("eioload: %s: only http:// URLs", raw)
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("eioload: %s: only loopback IP addresses", raw)
	}
	return nil
}

func (c *Config) check() error {
	if err := CheckLoopback(c.URL); err != nil {
		return err
	}
	if c.Transport != "websocket" && c.Transport != "polling" {
		return fmt.Errorf("eioload: transport %q", c.Transport)
	}
	if c.Mode != "echo" && c.Mode != "broadcast" {
		return fmt.Errorf("eioload: mode %q", c.Mode)
	}
	if c.Clients < 1 || c.Clients > 5000 {
		return fmt.Errorf("eioload: %d clients (1 to 5000)", c.Clients)
	}
	if c.Size < 1 || c.Size > 512<<10 {
		return fmt.Errorf("eioload: size %d (1 to 512 KiB)", c.Size)
	}
	if c.Mode == "broadcast" {
		if c.Burst < 1 || c.Burst > 10000 {
			return fmt.Errorf("eioload: burst %d (1 to 10000)", c.Burst)
		}
		if c.Size < len(broadcastHeader(c.Burst)) {
			return fmt.Errorf("eioload: size %d too small for the broadcast command", c.Size)
		}
	}
	if c.Duration <= 0 || c.Warmup < 0 {
		return errors.New("eioload: duration must be > 0 and warmup >= 0")
	}
	if c.Timeout <= c.Warmup+c.Duration {
		return errors.New("eioload: timeout must exceed warmup + duration")
	}
	return nil
}

func broadcastHeader(k int) string { return eioserver.BroadcastPrefix + strconv.Itoa(k) + ":" }

// Message returns the data of the messages of cfg: peers.Payload(Size),
// or for a broadcast the command followed by payload filler, Size bytes in
// all.
func (c *Config) Message() []byte {
	if c.Mode == "broadcast" {
		h := broadcastHeader(c.Burst)
		return append([]byte(h), peers.Payload(c.Size-len(h))...)
	}
	return peers.Payload(c.Size)
}

// Run makes the measurement.
func Run(cfg Config) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	res := Result{Transport: cfg.Transport, Mode: cfg.Mode, Clients: cfg.Clients, Size: cfg.Size}

	var hc *http.Client
	if cfg.Transport == "polling" {
		tr := &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 2*cfg.Clients + 8, // a GET and a POST per client
			IdleConnTimeout:     30 * time.Second,
			// Accept-Encoding: gzip is sent and the answer decompressed, as
			// browsers do: both servers compress polling responses of 1024
			// bytes and more (httpCompression's default threshold).
			DisableCompression: false,
		}
		defer tr.CloseIdleConnections()
		hc = &http.Client{Transport: tr}
	}

	var delivered atomic.Int64 // broadcast: messages received by all clients
	wake := make(chan struct{}, 1)
	var target atomic.Int64
	var onMessage func()
	if cfg.Mode == "broadcast" {
		res.Burst = cfg.Burst
		target.Store(-1)
		onMessage = func() {
			if n := delivered.Add(1); n >= target.Load() && target.Load() >= 0 {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}
	}

	start := time.Now()
	clients, err := connect(ctx, cfg, hc, onMessage)
	defer func() {
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Go(c.close)
		}
		wg.Wait()
	}()
	if err != nil {
		return res, err
	}
	res.ConnectSecs = time.Since(start).Seconds()

	msg := append([]byte("4"), cfg.Message()...)
	var w window
	if cfg.Mode == "echo" {
		err = runEcho(ctx, cfg, clients, msg, &w)
	} else {
		err = runBroadcast(ctx, cfg, clients, msg, &w, &delivered, &target, wake)
	}
	if err != nil {
		return res, err
	}
	res.Messages = w.count
	res.LoadAvg = loadAvg()
	res.Seconds = w.t1.Sub(w.t0).Seconds()
	res.PerSec = float64(w.count) / res.Seconds
	res.ServerCPU = w.srv1 - w.srv0
	res.ClientCPU = w.cli1 - w.cli0
	if w.sys0.ok && w.sys1.ok {
		res.OtherCPU = max(0, (w.sys1.busy-w.sys0.busy)-res.ServerCPU-res.ClientCPU)
		res.StealCPU = w.sys1.steal - w.sys0.steal
	}
	if w.count > 0 {
		res.ServerCPUPerMsgUs = res.ServerCPU / float64(w.count) * 1e6
	}
	slices.Sort(w.samples)
	res.Samples = len(w.samples)
	if n := len(w.samples); n > 0 {
		q := func(f float64) float64 { return float64(w.samples[min(n-1, int(f*float64(n)))].Nanoseconds()) / 1e3 }
		res.P50us, res.P90us, res.P99us = q(0.50), q(0.90), q(0.99)
		res.MaxUs = float64(w.samples[n-1].Nanoseconds()) / 1e3
	}
	return res, nil
}

// connect opens the sessions, a few at a time.
func connect(ctx context.Context, cfg Config, hc *http.Client, onMessage func()) ([]client, error) {
	clients := make([]client, cfg.Clients)
	errs := make([]error, cfg.Clients)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var c client
			var err error
			if cfg.Transport == "websocket" {
				var w *wsClient
				if w, err = dialWS(ctx, cfg.URL, onMessage); err == nil {
					c = w
				}
			} else {
				var p *pollClient
				if p, err = dialPolling(ctx, hc, cfg.URL, onMessage); err == nil {
					c = p
				}
			}
			clients[i], errs[i] = c, err
		})
	}
	wg.Wait()
	var open []client
	for _, c := range clients {
		if c != nil {
			open = append(open, c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return open, fmt.Errorf("connecting %d clients: %w", cfg.Clients, err)
	}
	return open, nil
}

// window is the measured interval and what was counted in it.
type window struct {
	t0, t1     time.Time
	srv0, srv1 float64
	cli0, cli1 float64
	sys0, sys1 sysCPU
	count      int64
	samples    []time.Duration
}

func (w *window) open(pid int) {
	w.srv0, w.cli0, w.sys0 = processCPU(pid), selfCPU(), machineCPU()
	w.t0 = time.Now()
}

func (w *window) close(pid int) {
	w.t1 = time.Now()
	w.srv1, w.cli1, w.sys1 = processCPU(pid), selfCPU(), machineCPU()
}

const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// maxSamples bounds the latency samples kept per client.
const maxSamples = 1 << 20

// runEcho runs every client in a closed loop: send one message, read its
// echo, again. Round trips that end inside the window are counted.
func runEcho(ctx context.Context, cfg Config, clients []client, msg []byte, w *window) error {
	var phase atomic.Int32
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type out struct {
		n       int64
		samples []time.Duration
		err     error
	}
	outs := make([]out, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			o := &outs[i]
			for phase.Load() != phaseStop {
				t0 := time.Now()
				if err := c.send(ctx, msg); err != nil {
					o.err = err
					break
				}
				b, err := c.recv(ctx)
				if err != nil {
					o.err = err
					break
				}
				if len(b) != len(msg)-1 {
					o.err = fmt.Errorf("eioload: echo of %d bytes came back with %d", len(msg)-1, len(b))
					break
				}
				if phase.Load() == phaseMeasure {
					o.n++
					if len(o.samples) < maxSamples {
						o.samples = append(o.samples, time.Since(t0))
					}
				}
			}
			if o.err != nil && phase.Load() != phaseStop {
				cancel() // one failure ends the run
			}
		})
	}
	sleep(ctx, cfg.Warmup)
	w.open(cfg.ServerPID)
	phase.Store(phaseMeasure)
	sleep(ctx, cfg.Duration)
	phase.Store(phaseStop)
	w.close(cfg.ServerPID)
	wg.Wait()
	var errs []error
	for _, o := range outs {
		w.count += o.n
		w.samples = append(w.samples, o.samples...)
		if o.err != nil && !errors.Is(o.err, context.Canceled) {
			errs = append(errs, o.err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// runBroadcast runs rounds: client 0 sends the broadcast command, then
// every client waits until it has all Burst messages. The window starts
// and ends on round boundaries.
func runBroadcast(ctx context.Context, cfg Config, clients []client, msg []byte, w *window,
	delivered, target *atomic.Int64, wake chan struct{}) error {
	perRound := int64(cfg.Burst) * int64(len(clients))
	round := func() error {
		want := delivered.Load() + perRound
		target.Store(want)
		if err := clients[0].send(ctx, msg); err != nil {
			return err
		}
		timer := time.NewTimer(10 * time.Second)
		defer timer.Stop()
		for delivered.Load() < want {
			select {
			case <-wake:
			case <-timer.C:
				return fmt.Errorf("eioload: broadcast round: %d of %d messages after 10s", delivered.Load()-want+perRound, perRound)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if got := delivered.Load(); got != want {
			return fmt.Errorf("eioload: broadcast round delivered %d messages, want %d", got-want+perRound, perRound)
		}
		return nil
	}
	for t := time.Now(); time.Since(t) < cfg.Warmup; {
		if err := round(); err != nil {
			return err
		}
	}
	w.open(cfg.ServerPID)
	c0 := delivered.Load()
	for time.Since(w.t0) < cfg.Duration {
		t := time.Now()
		if err := round(); err != nil {
			return err
		}
		w.samples = append(w.samples, time.Since(t))
	}
	w.close(cfg.ServerPID)
	w.count = delivered.Load() - c0
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// processCPU returns the user+system CPU seconds of process pid, all its
// threads, or 0 when pid is 0 or unreadable.
func processCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count from after
	// it. utime and stime are fields 14 and 15 of the line.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return float64(ut+st) / clockTicks
}

// sysCPU is the machine's CPU time so far, all CPUs, seconds.
type sysCPU struct {
	busy, steal float64
	ok          bool
}

// machineCPU reads the first line of /proc/stat: user nice system idle
// iowait irq softirq steal ..., in USER_HZ ticks.
func machineCPU() sysCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return sysCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return sysCPU{}
	}
	var v [8]float64
	for i := range v {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return sysCPU{}
		}
		v[i] = float64(n) / clockTicks
	}
	return sysCPU{busy: v[0] + v[1] + v[2] + v[5] + v[6], steal: v[7], ok: true}
}

// loadAvg returns the 1-minute load average, or 0.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// selfCPU returns this process's user+system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
