// Package sioload is the load generator of the Socket.IO throughput
// comparison. Its clients speak Socket.IO v5 over Engine.IO v4 WebSocket
// sessions themselves (the websocket package for the connection, eioparser
// for the Engine.IO open packet, sioparser for Socket.IO packets): they
// open the session with transport=websocket, send "40", wait for
// "40{sid}", answer every ping "2" with "3", and implement only what the
// load needs.
package sioload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsio/wsio/bench/internal/eioload"
	"github.com/wsio/wsio/eioparser"
	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/websocket"
)

// Config describes one measurement.
type Config struct {
	// URL is the server's Socket.IO endpoint,
	// http://127.0.0.1:PORT/socket.io/. Only loopback addresses are
	// accepted.
	URL string
	// Mode is "echo", "broadcast" or "idle".
	Mode string
	// Clients is the number of Socket.IO connections.
	Clients int
	// EmitURL, for broadcast, connects the client that emits "bcast" to
	// another server of the cluster (cross-server fan-out); by default it
	// is one of the clients on URL.
	EmitURL string
	// Burst is K of a broadcast round: "msg" events the server sends to
	// every socket.
	Burst int
	// Warmup runs the load before the measured window; Duration is the
	// window. Idle: Warmup is how long the connections stay idle before the
	// server's RSS is read.
	Warmup, Duration time.Duration
	// ServerPID, when > 0, is the server process whose CPU time (echo,
	// broadcast) or RSS (idle) is measured.
	ServerPID int
	// Timeout bounds the whole run, connecting and closing included.
	Timeout time.Duration
}

// Result is one measurement.
type Result struct {
	Server  string `json:"server,omitempty"` // set by the caller
	Rep     int    `json:"rep,omitempty"`    // set by the caller
	Mode    string `json:"mode"`
	Clients int    `json:"clients"`
	Burst   int    `json:"burst,omitempty"`
	// Messages: echo, acknowledged round trips; broadcast, "msg" events
	// delivered, over all clients.
	Messages int64   `json:"messages,omitempty"`
	Seconds  float64 `json:"seconds,omitempty"`
	PerSec   float64 `json:"per_sec,omitempty"`
	// Echo: time from sending the event to reading its acknowledgement.
	// Broadcast: time from sending the "bcast" event to the delivery of
	// each "msg" event, per delivery.
	P50us   float64 `json:"p50_us,omitempty"`
	P99us   float64 `json:"p99_us,omitempty"`
	MaxUs   float64 `json:"max_us,omitempty"`
	Samples int     `json:"samples,omitempty"`
	// CPU time in the window, seconds; OtherCPU is the machine's busy
	// time minus the server's and the generator's.
	ServerCPU         float64 `json:"server_cpu_s,omitempty"`
	ClientCPU         float64 `json:"client_cpu_s,omitempty"`
	OtherCPU          float64 `json:"other_cpu_s,omitempty"`
	ServerCPUPerMsgUs float64 `json:"server_cpu_per_msg_us,omitempty"`
	ConnectSecs       float64 `json:"connect_s"`
	// Idle: the server's VmRSS before connecting and after the
	// connections were idle for Warmup, in KiB, and the difference per
	// connection in bytes.
	RSSBeforeKiB int64   `json:"rss_before_kib,omitempty"`
	RSSAfterKiB  int64   `json:"rss_after_kib,omitempty"`
	BytesPerConn float64 `json:"bytes_per_conn,omitempty"`
}

// Payload is the argument of every echo and broadcast event.
const Payload = `{"user":"user-1","text":"hello, world"}`

func (c *Config) check() error {
	if err := eioload.CheckLoopback(c.URL); err != nil {
		return err
	}
	switch c.Mode {
	case "echo", "broadcast", "idle":
	default:
		return fmt.Errorf("sioload: mode %q: want echo, broadcast or idle", c.Mode)
	}
	if c.Clients < 1 || (c.Mode == "broadcast" && (c.Burst < 1 || c.Burst > 10000)) {
		return errors.New("sioload: need clients >= 1 and, for broadcast, 1 <= burst <= 10000")
	}
	if c.Mode != "idle" && c.Duration <= 0 {
		return errors.New("sioload: duration must be > 0")
	}
	if c.Timeout <= 0 {
		c.Timeout = c.Warmup + c.Duration + 2*time.Minute
	}
	return nil
}

// client is one Socket.IO connection on the main namespace.
type client struct {
	c   *websocket.Conn
	buf []byte
	mu  sync.Mutex // serialises writes (pongs from the reader)
}

func dial(ctx context.Context, base string) (*client, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "?EIO=4&transport=websocket"
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		ReadLimit: 16 << 20,
		Proxy:     func(*http.Request) (*url.URL, error) { return nil, nil },
	})
	if err != nil {
		return nil, err
	}
	cl := &client{c: c}
	if err := cl.open(ctx); err != nil {
		_ = c.CloseNow()
		return nil, err
	}
	return cl, nil
}

// open reads the Engine.IO open packet, connects to the main namespace and
// waits for the CONNECT answer.
func (cl *client) open(ctx context.Context) error {
	_, b, err := cl.c.ReadAppend(ctx, nil)
	if err != nil {
		return err
	}
	p, err := eioparser.DecodeText(b)
	if err != nil {
		return err
	}
	if p.Type != eioparser.PacketOpen {
		return fmt.Errorf("sioload: first packet %q is not open", b)
	}
	if err := cl.write(ctx, []byte("40")); err != nil {
		return err
	}
	for {
		b, err := cl.next(ctx)
		if err != nil {
			return err
		}
		sp, _, err := sioparser.DecodeText(b, sioparser.Limits{})
		if err != nil {
			return fmt.Errorf("sioload: %q: %w", b, err)
		}
		switch sp.Type {
		case sioparser.Connect:
			if !bytes.Contains(sp.Data, []byte(`"sid"`)) {
				return fmt.Errorf("sioload: CONNECT answer %q without sid", b)
			}
			return nil
		case sioparser.ConnectError:
			return fmt.Errorf("sioload: connect error %q", b)
		}
	}
}

func (cl *client) write(ctx context.Context, b []byte) error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.c.Write(ctx, websocket.MessageText, b)
}

// next returns the next Socket.IO packet's text (an Engine.IO message
// without its "4"), answering pings on the way. It is valid until the next
// call.
func (cl *client) next(ctx context.Context) ([]byte, error) {
	for {
		typ, b, err := cl.c.ReadAppend(ctx, cl.buf[:0])
		cl.buf = b
		if err != nil {
			return nil, err
		}
		if typ != websocket.MessageText || len(b) == 0 {
			return nil, fmt.Errorf("sioload: unexpected message %q", b[:min(len(b), 16)])
		}
		switch b[0] {
		case '4':
			return b[1:], nil
		case '2':
			if err := cl.write(ctx, []byte("3")); err != nil {
				return nil, err
			}
		case '6':
		case '1':
			return nil, errors.New("sioload: the server closed the session")
		default:
			return nil, fmt.Errorf("sioload: unexpected packet %q", b[:min(len(b), 16)])
		}
	}
}

func (cl *client) close(polite bool) {
	if !polite {
		_ = cl.c.CloseNow()
		return
	}
	done := make(chan struct{})
	go func() {
		_ = cl.c.Close(websocket.StatusNormalClosure, "")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = cl.c.CloseNow()
	}
}

// Run makes the measurement.
func Run(cfg Config) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	res := Result{Mode: cfg.Mode, Clients: cfg.Clients}
	if cfg.Mode == "broadcast" {
		res.Burst = cfg.Burst
	}
	if cfg.Mode == "idle" {
		res.RSSBeforeKiB = rssKiB(cfg.ServerPID)
	}
	start := time.Now()
	clients, err := connect(ctx, cfg.URL, cfg.Clients)
	if err == nil && cfg.EmitURL != "" {
		// The emitter comes first: runBroadcast sends from clients[0].
		var em *client
		if em, err = dial(ctx, cfg.EmitURL); err == nil {
			clients = append([]*client{em}, clients...)
		}
	}
	defer func() {
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Go(func() { c.close(cfg.Mode != "idle") })
		}
		wg.Wait()
	}()
	if err != nil {
		return res, err
	}
	res.ConnectSecs = time.Since(start).Seconds()
	switch cfg.Mode {
	case "idle":
		err = runIdle(ctx, cfg, clients, &res)
		return res, err
	case "echo":
		err = runEcho(ctx, cfg, clients, &res)
	case "broadcast":
		err = runBroadcast(ctx, cfg, clients, &res)
	}
	return res, err
}

// connect opens the connections, 16 at a time.
func connect(ctx context.Context, base string, n int) ([]*client, error) {
	clients := make([]*client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			clients[i], errs[i] = dial(ctx, base)
		})
	}
	wg.Wait()
	var open []*client
	for _, c := range clients {
		if c != nil {
			open = append(open, c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return open, fmt.Errorf("connecting %d clients (%d connected): %w", n, len(open), err)
	}
	return open, nil
}

// window measures CPU over the measured interval.
type window struct {
	t0, t1           time.Time
	srv0, cli0, sys0 float64
	srv1, cli1, sys1 float64
	sysOK            bool
	count            int64
	samples          []time.Duration
}

func (w *window) open(pid int) {
	w.srv0, w.cli0 = eioload.ProcessCPU(pid), eioload.SelfCPU()
	w.sys0, w.sysOK = eioload.MachineBusy()
	w.t0 = time.Now()
}

func (w *window) close(pid int) {
	w.t1 = time.Now()
	w.srv1, w.cli1 = eioload.ProcessCPU(pid), eioload.SelfCPU()
	var ok bool
	w.sys1, ok = eioload.MachineBusy()
	w.sysOK = w.sysOK && ok
}

func (w *window) fill(res *Result) {
	res.Messages = w.count
	res.Seconds = w.t1.Sub(w.t0).Seconds()
	res.PerSec = float64(w.count) / res.Seconds
	res.ServerCPU = w.srv1 - w.srv0
	res.ClientCPU = w.cli1 - w.cli0
	if w.sysOK {
		res.OtherCPU = max(0, w.sys1-w.sys0-res.ServerCPU-res.ClientCPU)
	}
	if w.count > 0 {
		res.ServerCPUPerMsgUs = res.ServerCPU / float64(w.count) * 1e6
	}
	slices.Sort(w.samples)
	res.Samples = len(w.samples)
	if n := len(w.samples); n > 0 {
		q := func(f float64) float64 { return float64(w.samples[min(n-1, int(f*float64(n)))].Nanoseconds()) / 1e3 }
		res.P50us, res.P99us = q(0.50), q(0.99)
		res.MaxUs = float64(w.samples[n-1].Nanoseconds()) / 1e3
	}
}

const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// maxSamples bounds the latency samples kept per client.
const maxSamples = 1 << 18

// runEcho runs every client in a closed loop: emit "echo" with an
// acknowledgement id, read the acknowledgement, again.
func runEcho(ctx context.Context, cfg Config, clients []*client, res *Result) error {
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
			var msg []byte
			for id := uint64(1); phase.Load() != phaseStop; id++ {
				msg = append(strconv.AppendUint(append(msg[:0], "42"...), id, 10), `["echo",`+Payload+`]`...)
				t0 := time.Now()
				if err := c.write(ctx, msg); err != nil {
					o.err = err
					break
				}
				if err := c.awaitAck(ctx, id); err != nil {
					o.err = err
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
				cancel()
			}
		})
	}
	var w window
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
	if err := ctx.Err(); err != nil {
		return err
	}
	w.fill(res)
	return nil
}

// awaitAck reads packets until the acknowledgement id, which must carry
// the payload back.
func (cl *client) awaitAck(ctx context.Context, id uint64) error {
	for {
		b, err := cl.next(ctx)
		if err != nil {
			return err
		}
		p, _, err := sioparser.DecodeText(b, sioparser.Limits{})
		if err != nil {
			return fmt.Errorf("sioload: %q: %w", b, err)
		}
		if p.Type != sioparser.Ack {
			continue
		}
		if !p.HasID || p.ID != id {
			return fmt.Errorf("sioload: ack %q, want id %d", b, id)
		}
		args, err := sioparser.ParseArgs(&p)
		if err != nil {
			return err
		}
		vals, err := args.Values()
		if err != nil || len(vals) != 1 {
			return fmt.Errorf("sioload: ack %q does not carry the payload back", b)
		}
		if m, ok := vals[0].(map[string]any); !ok || m["text"] != "hello, world" {
			return fmt.Errorf("sioload: ack %q does not carry the payload back", b)
		}
		return nil
	}
}

// msgPrefix starts every "msg" event of the main namespace.
var msgPrefix = []byte(`2["msg",`)

// runBroadcast runs rounds: client 0 emits "bcast" K, then every client
// waits until it has all K "msg" events. Each delivery's latency, from the
// round's start, is a sample; the window starts and ends on round
// boundaries.
func runBroadcast(ctx context.Context, cfg Config, clients []*client, res *Result) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	base := time.Now()
	var roundStart atomic.Int64 // since base, ns
	var measuring atomic.Bool
	var delivered, target atomic.Int64
	target.Store(-1)
	wake := make(chan struct{}, 1)
	samples := make([][]time.Duration, len(clients))
	readErr := make(chan error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			for {
				b, err := c.next(ctx)
				if err != nil {
					if ctx.Err() == nil {
						readErr <- err
					}
					return
				}
				if !bytes.HasPrefix(b, msgPrefix) {
					continue
				}
				if measuring.Load() && len(samples[i]) < maxSamples {
					samples[i] = append(samples[i], time.Since(base)-time.Duration(roundStart.Load()))
				}
				if n := delivered.Add(1); n >= target.Load() && target.Load() >= 0 {
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	defer func() {
		cancel()
		for _, c := range clients {
			_ = c.c.CloseNow()
		}
		wg.Wait()
	}()
	perRound := int64(cfg.Burst) * int64(len(clients))
	cmd := []byte(`42["bcast",` + strconv.Itoa(cfg.Burst) + `,` + Payload + `]`)
	round := func() error {
		want := delivered.Load() + perRound
		target.Store(want)
		roundStart.Store(int64(time.Since(base)))
		if err := clients[0].write(ctx, cmd); err != nil {
			return err
		}
		timer := time.NewTimer(20 * time.Second)
		defer timer.Stop()
		for delivered.Load() < want {
			select {
			case <-wake:
			case err := <-readErr:
				return err
			case <-timer.C:
				return fmt.Errorf("sioload: broadcast round: %d of %d messages after 20s", delivered.Load()-want+perRound, perRound)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if got := delivered.Load(); got != want {
			return fmt.Errorf("sioload: broadcast round delivered %d messages, want %d", got-want+perRound, perRound)
		}
		return nil
	}
	for t := time.Now(); time.Since(t) < cfg.Warmup; {
		if err := round(); err != nil {
			return err
		}
	}
	var w window
	w.open(cfg.ServerPID)
	measuring.Store(true)
	c0 := delivered.Load()
	for time.Since(w.t0) < cfg.Duration {
		if err := round(); err != nil {
			return err
		}
	}
	measuring.Store(false)
	w.close(cfg.ServerPID)
	w.count = delivered.Load() - c0
	// The readers append only while measuring; after the last round every
	// reader has counted its messages, but one may still be between the
	// check and the append: cancel and wait before reading the samples.
	cancel()
	for _, c := range clients {
		_ = c.c.CloseNow()
	}
	wg.Wait()
	for _, s := range samples {
		w.samples = append(w.samples, s...)
	}
	w.fill(res)
	return nil
}

// runIdle keeps the connections open, answering pings, for cfg.Warmup and
// reads the server's RSS.
func runIdle(ctx context.Context, cfg Config, clients []*client, res *Result) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readErr := make(chan error, len(clients))
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for {
				if _, err := c.next(ctx); err != nil {
					if ctx.Err() == nil {
						readErr <- err
					}
					return
				}
			}
		})
	}
	defer func() {
		cancel()
		for _, c := range clients {
			_ = c.c.CloseNow()
		}
		wg.Wait()
	}()
	select {
	case <-time.After(cfg.Warmup):
	case err := <-readErr:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
	res.RSSAfterKiB = rssKiB(cfg.ServerPID)
	if res.RSSBeforeKiB > 0 && res.RSSAfterKiB > 0 {
		res.BytesPerConn = float64(res.RSSAfterKiB-res.RSSBeforeKiB) * 1024 / float64(len(clients))
	}
	return nil
}

// rssKiB returns VmRSS of process pid in KiB, or 0.
func rssKiB(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
