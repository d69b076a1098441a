package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsio/wsio/sioclient"
	"github.com/wsio/wsio/sioparser"
)

// stdin is what connect reads its script from (a variable for the tests).
var stdin io.Reader = os.Stdin

const connectUsage = `usage: wsio connect [flags] URL

Connects to the Socket.IO server at URL (its path is the namespace, "/" when
empty) and prints one JSON object per line on stdout:
  {"type":"connect","id":ID}            connected (again after a reconnection)
  {"type":"event","event":E,"args":[...]} an event from the server
  {"type":"ack","event":E,"args":[...]}   the answer to an emit with ack
  {"type":"connect_error","message":M,"data":D}
  {"type":"disconnect","reason":R}
Binary arguments print as base64 strings.

Then it emits what stdin says, one line each, and exits at the end of stdin
once the acknowledgements it waits for have arrived (or with -stay, on
SIGINT):
  ["event", arg, ...]        emit the event with JSON arguments
  ack ["event", arg, ...]    emit it asking for an acknowledgement
With -emit, it emits that one event (with -ack, asking for an
acknowledgement) instead of reading stdin.

Flags:
`

// connectConfig is what the connect command's flags set.
type connectConfig struct {
	url        string
	path       string
	auth       string
	transports string
	headers    []string
	emit       string
	ack        bool
	stay       bool
	timeout    time.Duration
	noRetry    bool
}

func parseConnect(args []string, stderr io.Writer) (connectConfig, error) {
	var cfg connectConfig
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, connectUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.path, "path", "/socket.io/", "Socket.IO path on the server")
	fs.StringVar(&cfg.auth, "auth", "", `auth payload of CONNECT, a JSON object (e.g. {"token":"x"})`)
	fs.StringVar(&cfg.transports, "transports", "polling,websocket", `transports in order: "polling,websocket" (upgrade), "websocket", "polling"`)
	fs.Func("header", "extra HTTP header `Name: value` (repeatable)", func(v string) error {
		if !strings.Contains(v, ":") {
			return errors.New(`want "Name: value"`)
		}
		cfg.headers = append(cfg.headers, v)
		return nil
	})
	fs.StringVar(&cfg.emit, "emit", "", `emit this event, a JSON array ["event", arg, ...], instead of reading stdin`)
	fs.BoolVar(&cfg.ack, "ack", false, "with -emit: ask for an acknowledgement and print it")
	fs.BoolVar(&cfg.stay, "stay", false, "after the script, keep printing events until interrupted")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "bound on connecting and on each acknowledgement")
	fs.BoolVar(&cfg.noRetry, "no-reconnect", false, "do not reconnect after the connection is lost")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return cfg, errors.New("connect needs one URL")
	}
	cfg.url = fs.Arg(0)
	return cfg, nil
}

// printer writes JSON lines, one at a time.
type printer struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (p *printer) print(v map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.enc.Encode(v)
}

// values decodes event arguments for printing.
func values(args sioparser.Args) []any {
	vs, err := args.Values()
	if err != nil {
		out := make([]any, args.Len())
		for i := range out {
			out[i] = args.Raw(i)
		}
		return out
	}
	return vs
}

func runConnect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConnect(args, stderr)
	if err != nil {
		return err
	}
	u, err := url.Parse(cfg.url)
	if err != nil {
		return err
	}
	opts := &sioclient.Options{Path: cfg.path, Transports: strings.Split(cfg.transports, ","), NoReconnection: cfg.noRetry, Timeout: cfg.timeout}
	if len(cfg.headers) > 0 {
		opts.Header = http.Header{}
		for _, h := range cfg.headers {
			k, v, _ := strings.Cut(h, ":")
			opts.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	sopts := &sioclient.SocketOptions{}
	if cfg.auth != "" {
		var auth map[string]any
		if err := json.Unmarshal([]byte(cfg.auth), &auth); err != nil {
			return fmt.Errorf("-auth: %w", err)
		}
		sopts.Auth = auth
	}
	m, err := sioclient.NewManager(cfg.url, opts)
	if err != nil {
		return err
	}
	defer m.Close()
	out := &printer{enc: json.NewEncoder(stdout)}
	s := m.Socket(u.Path, sopts)
	s.OnAny(func(event string, args sioparser.Args) {
		out.print(map[string]any{"type": "event", "event": event, "args": values(args)})
	})
	// The first connection is printed when Connect returns, before any
	// emit (OnConnect handlers run on the Manager's callback goroutine and
	// could come after the first acks); later ones by the handler.
	var connects atomic.Int64
	s.OnConnect(func() {
		if connects.Add(1) > 1 {
			out.print(map[string]any{"type": "connect", "id": s.ID()})
		}
	})
	s.OnConnectError(func(err error) {
		var ce *sioclient.ConnectError
		if errors.As(err, &ce) {
			out.print(map[string]any{"type": "connect_error", "message": ce.Message, "data": ce.Data})
			return
		}
		out.print(map[string]any{"type": "connect_error", "message": err.Error()})
	})
	s.OnDisconnect(func(reason string, _ bool) { out.print(map[string]any{"type": "disconnect", "reason": reason}) })

	cctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	err = s.Connect(cctx)
	cancel()
	if err != nil {
		return err
	}
	out.print(map[string]any{"type": "connect", "id": s.ID()})
	var pending sync.WaitGroup
	emit := func(line string) error {
		withAck := false
		if rest, ok := strings.CutPrefix(line, "ack "); ok {
			line, withAck = rest, true
		}
		var call []any
		if err := json.Unmarshal([]byte(line), &call); err != nil || len(call) == 0 {
			return fmt.Errorf(`%q is not ["event", args...]`, line)
		}
		event, ok := call[0].(string)
		if !ok {
			return fmt.Errorf("%q: the event name must be a string", line)
		}
		if !withAck {
			return s.Emit(event, call[1:]...)
		}
		pending.Go(func() {
			actx, cancel := context.WithTimeout(ctx, cfg.timeout)
			defer cancel()
			args, err := s.EmitWithAck(actx, event, call[1:]...)
			if err != nil {
				out.print(map[string]any{"type": "ack", "event": event, "error": err.Error()})
				return
			}
			out.print(map[string]any{"type": "ack", "event": event, "args": values(args)})
		})
		return nil
	}
	if cfg.emit != "" {
		line := cfg.emit
		if cfg.ack {
			line = "ack " + line
		}
		if err := emit(line); err != nil {
			return err
		}
	} else if err := readScript(ctx, emit, stderr); err != nil {
		return err
	}
	pending.Wait()
	if cfg.stay {
		<-ctx.Done()
	}
	s.Disconnect()
	return nil
}

// readScript emits each line of stdin until it ends or ctx does. A bad
// line is reported on stderr and skipped.
func readScript(ctx context.Context, emit func(string) error, stderr io.Writer) error {
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
		close(lines)
	}()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return <-errc
			}
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			if err := emit(line); err != nil {
				fmt.Fprintln(stderr, "wsio connect:", err)
			}
		case <-ctx.Done():
			return nil
		}
	}
}
