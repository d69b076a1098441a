// Package peers wraps each benchmarked WebSocket library behind the same
// two operations: an HTTP handler that upgrades and echoes every message
// back, and a client that sends one message and waits for its echo.
//
// Each library serves its own server and dials with its own client, in the
// way its documentation shows, with its default settings except for the
// ones set here for every library alike: permessage-deflate in
// no-context-takeover mode when compression is on, and a read limit large
// enough for the biggest benchmarked message.
package peers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// ReadLimit is the message size limit every server and client is given, so
// that no library's default limit stops the 1 MiB messages.
const ReadLimit = 4 << 20

// ServerOptions selects how a library's echo server runs.
type ServerOptions struct {
	// Compress negotiates permessage-deflate without context takeover.
	Compress bool
	// Detach returns from the HTTP handler after the upgrade and runs the
	// connection's read loop in a new goroutine. Otherwise the loop runs in
	// the handler's own goroutine.
	Detach bool
	// Ready, if set, is called once per connection, just before the
	// connection enters its read loop.
	Ready func()
}

// Client is one client connection.
type Client interface {
	// Echo sends p as one binary message and waits for the echoed message.
	// It returns an error if the echo does not have len(p) bytes.
	Echo(p []byte) error
	// Close closes the connection without waiting for the peer.
	Close() error
}

// Lib is one benchmarked library.
type Lib struct {
	// Name is the short name used in benchmark names (lib=Name).
	Name string
	// Module is the Go module path of the library.
	Module string
	// Handler returns an HTTP handler serving the echo server.
	Handler func(o ServerOptions) http.Handler
	// Dial connects a client to a ws:// URL.
	Dial func(ctx context.Context, url string, compress bool) (Client, error)
}

// All lists the libraries in the order results are reported; the first one
// is the baseline.
var All = []Lib{wsioLib, gorillaLib, coderLib, gwsLib}

// Names returns the names of All.
func Names() []string {
	out := make([]string, len(All))
	for i, l := range All {
		out[i] = l.Name
	}
	return out
}

// ByName returns the library with that name.
func ByName(name string) (Lib, error) {
	for _, l := range All {
		if l.Name == name {
			return l, nil
		}
	}
	return Lib{}, fmt.Errorf("unknown library %q (have %s)", name, strings.Join(Names(), ", "))
}

// run starts the read loop per ServerOptions.Detach.
func run(o ServerOptions, loop func()) {
	if o.Ready != nil {
		o.Ready()
	}
	if o.Detach {
		go loop()
		return
	}
	loop()
}

func checkLen(got, want int) error {
	if got != want {
		return fmt.Errorf("echo of %d bytes came back with %d", want, got)
	}
	return nil
}
