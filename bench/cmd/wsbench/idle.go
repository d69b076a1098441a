package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsio/wsio/bench/internal/peers"
)

// memSnap is the memory of this process at one moment, after a forced GC.
type memSnap struct {
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	HeapAlloc  uint64 `json:"heap_alloc"`
	Objects    uint64 `json:"heap_objects"`
	RSS        uint64 `json:"rss"`      // VmRSS, bytes
	RSSAnon    uint64 `json:"rss_anon"` // RssAnon, bytes
	Goroutines int    `json:"goroutines"`
}

// idleResult is what idle-server prints.
type idleResult struct {
	Lib      string  `json:"lib"`
	Compress bool    `json:"compress"`
	Detach   bool    `json:"detach"`
	N        int     `json:"n"`
	Parked   int64   `json:"parked"`
	Before   memSnap `json:"before"`
	After    memSnap `json:"after"`
	DialSecs float64 `json:"dial_seconds"`
}

func (r idleResult) perConn(f func(memSnap) uint64) float64 {
	return (float64(f(r.After)) - float64(f(r.Before))) / float64(r.N)
}

func snapshot() (memSnap, error) {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := memSnap{
		HeapInuse:  ms.HeapInuse,
		StackInuse: ms.StackInuse,
		HeapAlloc:  ms.HeapAlloc,
		Objects:    ms.HeapObjects,
		Goroutines: runtime.NumGoroutine(),
	}
	var err error
	s.RSS, s.RSSAnon, err = readRSS()
	return s, err
}

// readRSS reads VmRSS and RssAnon from /proc/self/status.
func readRSS() (rss, anon uint64, err error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch name {
		case "VmRSS":
			dst = &rss
		case "RssAnon":
			dst = &anon
		default:
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parsing %s in /proc/self/status: %w", name, err)
		}
		*dst = kb << 10
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in /proc/self/status")
	}
	return rss, anon, sc.Err()
}

// idleServerMain measures the server process's memory per idle connection
// for one library and prints an idleResult as JSON on stdout.
func idleServerMain(args []string) error {
	fs := flag.NewFlagSet("idle-server", flag.ContinueOnError)
	libName := fs.String("lib", "wsio", "library: "+strings.Join(peers.Names(), ", "))
	n := fs.Int("n", 10000, "number of idle connections")
	compress := fs.Bool("compress", false, "negotiate permessage-deflate (no context takeover)")
	detach := fs.Bool("detach", false, "return from the HTTP handler and read in a new goroutine")
	timeout := fs.Duration("timeout", 3*time.Minute, "give up after this long")
	settle := fs.Duration("settle", time.Second, "wait this long after the last connection is parked")
	memprofile := fs.String("memprofile", "", "write a heap profile (every allocation sampled) of the idle state to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lib, err := peers.ByName(*libName)
	if err != nil {
		return err
	}
	if *memprofile != "" {
		runtime.MemProfileRate = 1
	}
	deadline := time.Now().Add(*timeout)

	var parked atomic.Int64
	h := lib.Handler(peers.ServerOptions{
		Compress: *compress,
		Detach:   *detach,
		Ready:    func() { parked.Add(1) },
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	before, err := snapshot()
	if err != nil {
		return err
	}

	child := exec.Command(os.Args[0], "idle-client",
		"-lib", lib.Name,
		"-addr", "ws://"+ln.Addr().String()+"/",
		"-n", strconv.Itoa(*n),
		"-compress="+strconv.FormatBool(*compress),
		"-timeout", time.Until(deadline).Round(time.Second).String())
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := child.Start(); err != nil {
		return err
	}
	// The child is stopped by its pid whatever happens from here on.
	defer func() {
		_ = stdin.Close()
		_ = child.Process.Kill()
		_ = child.Wait()
	}()

	ready := make(chan error, 1)
	go func() { ready <- awaitReady(stdout, *n) }()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("idle-client: %w", err)
		}
	case <-time.After(time.Until(deadline)):
		return fmt.Errorf("idle-client not ready after %v", *timeout)
	}
	dialSecs := time.Since(start).Seconds()
	for parked.Load() < int64(*n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d connections parked after %v", parked.Load(), *n, *timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(*settle)
	after, err := snapshot()
	if err != nil {
		return err
	}
	if *memprofile != "" {
		if err := writeHeapProfile(*memprofile); err != nil {
			return err
		}
	}
	res := idleResult{
		Lib: lib.Name, Compress: *compress, Detach: *detach, N: *n,
		Parked: parked.Load(), Before: before, After: after, DialSecs: dialSecs,
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// awaitReady reads the child's stdout until it reports "ready N".
func awaitReady(r io.Reader, n int) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if got, ok := strings.CutPrefix(line, "ready "); ok {
			if got != strconv.Itoa(n) {
				return fmt.Errorf("reported %s connections, want %d", got, n)
			}
			// Keep draining so that the child never blocks on a full pipe.
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("exited before reporting ready")
}

// idleClientMain opens N connections to addr, reports "ready N" on stdout,
// and holds them until its standard input closes or its time is up.
func idleClientMain(args []string) error {
	fs := flag.NewFlagSet("idle-client", flag.ContinueOnError)
	libName := fs.String("lib", "wsio", "library of the client")
	addr := fs.String("addr", "", "ws:// URL of the server (loopback only)")
	n := fs.Int("n", 10000, "number of connections")
	compress := fs.Bool("compress", false, "offer permessage-deflate (no context takeover)")
	workers := fs.Int("workers", 32, "concurrent dials")
	timeout := fs.Duration("timeout", 3*time.Minute, "exit after this long in any case")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*addr); err != nil {
		return err
	}
	lib, err := peers.ByName(*libName)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	// Exit when the parent closes our stdin or goes away.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()

	clients := make([]peers.Client, *n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, *workers)
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= *n || ctx.Err() != nil {
					return
				}
				c, err := dialRetry(ctx, lib, *addr, *compress)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				clients[i] = c
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Printf("ready %d\n", *n)
	<-ctx.Done()
	return nil
}

// dialRetry dials, retrying briefly when the listen backlog overflows.
func dialRetry(ctx context.Context, lib peers.Lib, addr string, compress bool) (peers.Client, error) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var c peers.Client
		c, err = lib.Dial(dctx, addr, compress)
		cancel()
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	return nil, err
}

// checkLoopback refuses any address that is not on 127.0.0.0/8 or ::1.
func checkLoopback(rawURL string) error {
	rest, ok := strings.CutPrefix(rawURL, "ws://")
	if !ok {
		return fmt.Errorf("address %q: want ws://127.0.0.1:PORT/", rawURL)
	}
	hostport, _, _ := strings.Cut(rest, "/")
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("address %q: %w", rawURL, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback IP address", rawURL)
	}
	return nil
}
