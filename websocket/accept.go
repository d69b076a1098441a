package websocket

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

// AcceptOptions configures Accept. The zero value is ready to use.
type AcceptOptions struct {
	// Subprotocols lists the subprotocols the server speaks, most preferred
	// first. The first one the client also offers is selected.
	Subprotocols []string

	// OriginPatterns lists host patterns (path.Match syntax, for example
	// "*.example.com" or "localhost:*") of origins allowed besides the
	// request's own host. A request whose Origin matches neither is refused
	// with 403.
	OriginPatterns []string

	// InsecureSkipVerify accepts requests from any origin. Only for servers
	// that authenticate in another way: browsers send cookies cross-origin.
	InsecureSkipVerify bool

	// Compression selects permessage-deflate negotiation. Default: disabled.
	Compression CompressionMode
	// CompressionLevel is the flate level, 1 to 9. Default: 1 (best speed).
	CompressionLevel int
	// CompressionThreshold is the smallest message, in bytes, that is
	// compressed; smaller ones go out uncompressed. Default: 512.
	CompressionThreshold int

	// ReadLimit is the largest message the connection accepts; see
	// Conn.SetReadLimit. Default: DefaultReadLimit.
	ReadLimit int64

	// ResponseHeader holds extra headers for the 101 response.
	ResponseHeader http.Header
}

// HandshakeError is returned by Accept when the request is not a valid
// WebSocket handshake; Accept has already written Status to the client.
type HandshakeError struct {
	Status int
	Reason string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("websocket: bad handshake: %d %s", e.Status, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBadHandshake) true.
func (e *HandshakeError) Unwrap() error { return ErrBadHandshake }

// Accept upgrades an HTTP request to a WebSocket connection. On failure it
// writes the HTTP error response itself (400, 403, 405, 426 with
// Sec-WebSocket-Version: 13, or 500 when the connection cannot be
// hijacked) and returns an error.
//
// Accept works under any http.Handler stack whose ResponseWriter can be
// hijacked, directly or through an Unwrap method (see
// http.ResponseController). Bytes the client sent after its request and
// that net/http already buffered are delivered to the first read.
func Accept(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	var o AcceptOptions
	if opts != nil {
		o = *opts
	}
	key, herr := checkRequest(r)
	if herr == nil && !o.InsecureSkipVerify {
		herr = checkOrigin(r, o.OriginPatterns)
	}
	if herr != nil {
		if herr.Status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		if herr.Status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodGet)
		}
		http.Error(w, herr.Reason, herr.Status)
		return nil, herr
	}

	hdr := w.Header()
	for k, vs := range o.ResponseHeader {
		hdr[k] = slices.Clone(vs)
	}
	subp := selectSubprotocol(r, o.Subprotocols)
	var defl *deflateConfig
	var extHeader string
	if exts, _ := parseExtensions(r.Header); o.Compression != CompressionDisabled {
		if params, ok := negotiateDeflate(exts, o.Compression); ok {
			defl = params.configFor(true, normalizeLevel(o.CompressionLevel), threshold(o.CompressionThreshold))
			extHeader = params.String()
		}
	}

	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket: connection cannot be hijacked", http.StatusInternalServerError)
		return nil, fmt.Errorf("websocket: hijack: %w", err)
	}
	// The HTTP server's deadlines must not apply to the WebSocket.
	_ = nc.SetDeadline(time.Time{})

	resp := responseHead(hdr, acceptKey(key), subp, extHeader)
	buffered, err := takeBuffered(brw)
	if err == nil {
		_, err = nc.Write(resp)
	}
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("websocket: writing the handshake response: %w", err)
	}
	return newConn(connConfig{
		nc:          nc,
		server:      true,
		buffered:    buffered,
		subprotocol: subp,
		extensions:  extHeader,
		deflate:     defl,
		readLimit:   o.ReadLimit,
	}), nil
}

func threshold(n int) int {
	if n <= 0 {
		return defaultCompressionThreshold
	}
	return n
}

// checkRequest validates the handshake request (RFC 6455 section 4.2.1)
// and returns its key.
func checkRequest(r *http.Request) (string, *HandshakeError) {
	switch {
	case r.Method != http.MethodGet:
		return "", &HandshakeError{http.StatusMethodNotAllowed, "WebSocket handshake must use GET"}
	case !r.ProtoAtLeast(1, 1) || r.ProtoMajor != 1:
		return "", &HandshakeError{http.StatusBadRequest, "WebSocket handshake needs HTTP/1.1"}
	case !hasToken(r.Header, "Connection", "upgrade"):
		return "", &HandshakeError{http.StatusUpgradeRequired, `missing "Connection: upgrade"`}
	case !hasToken(r.Header, "Upgrade", "websocket"):
		return "", &HandshakeError{http.StatusUpgradeRequired, `missing "Upgrade: websocket"`}
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "", &HandshakeError{http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version"}
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return "", &HandshakeError{http.StatusBadRequest, "missing or repeated Sec-WebSocket-Key"}
	}
	key := strings.TrimSpace(keys[0])
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		return "", &HandshakeError{http.StatusBadRequest, "Sec-WebSocket-Key is not 16 bytes in base64"}
	}
	return key, nil
}

// checkOrigin allows requests without an Origin header (non-browser
// clients), same-origin requests, and origins whose host matches a pattern.
func checkOrigin(r *http.Request, patterns []string) *HandshakeError {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return &HandshakeError{http.StatusForbidden, "malformed Origin header"}
	}
	if strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	host := strings.ToLower(u.Host)
	for _, p := range patterns {
		if ok, err := path.Match(strings.ToLower(p), host); err == nil && ok {
			return nil
		}
	}
	return &HandshakeError{http.StatusForbidden, fmt.Sprintf("origin %q not allowed", u.Host)}
}

func selectSubprotocol(r *http.Request, supported []string) string {
	offered := headerTokens(r.Header, "Sec-WebSocket-Protocol")
	for _, s := range supported {
		if slices.Contains(offered, s) {
			return s
		}
	}
	return ""
}

func responseHead(h http.Header, accept, subp, ext string) []byte {
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	b.WriteString(accept)
	b.WriteString("\r\n")
	if subp != "" {
		b.WriteString("Sec-WebSocket-Protocol: " + subp + "\r\n")
	}
	if ext != "" {
		b.WriteString("Sec-WebSocket-Extensions: " + ext + "\r\n")
	}
	for k, vs := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Upgrade", "Connection", "Sec-Websocket-Accept", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Content-Length", "Transfer-Encoding":
			continue
		}
		for _, v := range vs {
			if strings.ContainsAny(k+v, "\r\n") {
				continue
			}
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// takeBuffered copies the bytes net/http read past the request.
func takeBuffered(brw *bufio.ReadWriter) ([]byte, error) {
	if brw == nil || brw.Reader == nil {
		return nil, nil
	}
	n := brw.Reader.Buffered()
	if n == 0 {
		return nil, nil
	}
	p, err := brw.Reader.Peek(n)
	if err != nil {
		return nil, err
	}
	return slices.Clone(p), nil
}
