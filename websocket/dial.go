package websocket

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// DialOptions configures Dial. The zero value is ready to use.
type DialOptions struct {
	// HTTPHeader holds extra request headers (Origin, Authorization,
	// cookies, ...).
	HTTPHeader http.Header

	// Subprotocols lists the subprotocols to offer, most preferred first.
	Subprotocols []string

	// Compression selects the permessage-deflate offer. Default: none.
	Compression CompressionMode
	// CompressionLevel is the flate level, 1 to 9. Default: 1.
	CompressionLevel int
	// CompressionThreshold is the smallest message that is compressed.
	// Default: 512 bytes.
	CompressionThreshold int

	// ReadLimit is the largest message the connection accepts; see
	// Conn.SetReadLimit. Default: DefaultReadLimit.
	ReadLimit int64

	// TLSConfig is used for wss:// URLs (and https proxies). Default:
	// a zero tls.Config with ServerName set from the URL.
	TLSConfig *tls.Config

	// Proxy returns the HTTP proxy for a request; the connection is then
	// tunnelled through it with CONNECT. Default: http.ProxyFromEnvironment
	// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY). Return nil, nil for no proxy.
	Proxy func(*http.Request) (*url.URL, error)

	// NetDialContext dials the TCP connection. Default: a net.Dialer.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// maxHandshakeResponse bounds the bytes of a failed handshake's response
// body that Dial keeps for the caller.
const maxHandshakeResponse = 1 << 10

// Dial opens a WebSocket connection to a ws:// or wss:// URL. ctx bounds the
// whole handshake: TCP, proxy, TLS and HTTP. The returned response is the
// server's handshake response; it is non-nil also when the server answered
// but refused, with up to 1 KiB of its body readable.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, *http.Response, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	u, err := parseWSURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	req, key, err := handshakeRequest(ctx, u, &o)
	if err != nil {
		return nil, nil, err
	}
	nc, err := dialConn(ctx, u, req, &o)
	if err != nil {
		return nil, nil, err
	}
	g := deadlineGuard{nc: nc, kind: bothDeadlines}
	g.arm(ctx)
	c, resp, err := clientHandshake(nc, req, key, &o)
	g.disarm()
	if err != nil {
		_ = nc.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("websocket: dial: %w", ctx.Err())
		}
		return nil, resp, err
	}
	return c, resp, nil
}

func parseWSURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial: %w", err)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("websocket: dial: unsupported scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("websocket: dial: URL %q has no host", raw)
	}
	u.Fragment = ""
	return u, nil
}

func handshakeRequest(ctx context.Context, u *url.URL, o *DialOptions) (*http.Request, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("websocket: dial: %w", err)
	}
	for k, vs := range o.HTTPHeader {
		req.Header[k] = slices.Clone(vs)
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if len(o.Subprotocols) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(o.Subprotocols, ", "))
	}
	if o.Compression != CompressionDisabled {
		req.Header.Set("Sec-WebSocket-Extensions", clientOffer(o.Compression).String())
	}
	return req, key, nil
}

// dialConn opens the transport: TCP, an optional CONNECT tunnel, and TLS.
func dialConn(ctx context.Context, u *url.URL, req *http.Request, o *DialOptions) (net.Conn, error) {
	dial := o.NetDialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	proxyFn := o.Proxy
	if proxyFn == nil {
		proxyFn = http.ProxyFromEnvironment
	}
	proxyURL, err := proxyFn(req)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial: proxy: %w", err)
	}
	addr := hostPort(u)
	var nc net.Conn
	if proxyURL != nil {
		nc, err = dialProxy(ctx, dial, proxyURL, addr, o)
	} else {
		nc, err = dial(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("websocket: dial: %w", err)
	}
	if u.Scheme == "https" {
		tc := tls.Client(nc, tlsConfigFor(o.TLSConfig, u.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("websocket: dial: TLS: %w", err)
		}
		nc = tc
	}
	return nc, nil
}

func tlsConfigFor(base *tls.Config, host string) *tls.Config {
	var cfg *tls.Config
	if base != nil {
		cfg = base.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	// WebSocket runs over HTTP/1.1 only.
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// dialProxy opens a tunnel to addr through an HTTP(S) proxy with CONNECT.
func dialProxy(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), p *url.URL, addr string, o *DialOptions) (net.Conn, error) {
	if p.Scheme != "http" && p.Scheme != "https" {
		return nil, fmt.Errorf("proxy scheme %q not supported", p.Scheme)
	}
	pu := *p
	nc, err := dial(ctx, "tcp", hostPort(&pu))
	if err != nil {
		return nil, err
	}
	if p.Scheme == "https" {
		tc := tls.Client(nc, tlsConfigFor(o.TLSConfig, p.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, err
		}
		nc = tc
	}
	g := deadlineGuard{nc: nc, kind: bothDeadlines}
	g.arm(ctx)
	defer g.disarm()
	var b strings.Builder
	b.WriteString("CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n")
	if p.User != nil {
		pass, _ := p.User.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(p.User.Username() + ":" + pass))
		b.WriteString("Proxy-Authorization: Basic " + cred + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(nc, b.String()); err != nil {
		_ = nc.Close()
		return nil, err
	}
	// Read the proxy's answer byte by byte up to the blank line, so that no
	// byte of the tunnel is consumed.
	head, err := readHead(nc, 8<<10)
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("proxy: %w", err)
	}
	status, _, _ := strings.Cut(head, "\r\n")
	parts := strings.Fields(status)
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "HTTP/1.") || parts[1] != "200" {
		_ = nc.Close()
		return nil, fmt.Errorf("proxy refused CONNECT: %q", status)
	}
	return nc, nil
}

// readHead reads an HTTP response head through the terminating blank line.
func readHead(r io.Reader, limit int) (string, error) {
	var buf []byte
	var one [1]byte
	for len(buf) < limit {
		if _, err := io.ReadFull(r, one[:]); err != nil {
			return "", err
		}
		buf = append(buf, one[0])
		if len(buf) >= 4 && string(buf[len(buf)-4:]) == "\r\n\r\n" {
			return string(buf), nil
		}
	}
	return "", fmt.Errorf("response head longer than %d bytes", limit)
}

// clientHandshake sends the request and verifies the 101 response
// (RFC 6455 section 4.2.2).
func clientHandshake(nc net.Conn, req *http.Request, key string, o *DialOptions) (*Conn, *http.Response, error) {
	if err := req.Write(nc); err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: writing the request: %w", err)
	}
	br := bufio.NewReaderSize(&limitedConn{r: nc}, 4096)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: reading the response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxHandshakeResponse))
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		return nil, resp, fmt.Errorf("%w: status %s", ErrBadHandshake, resp.Status)
	}
	resp.Body = http.NoBody
	if err := verifyResponse(resp, key, o); err != nil {
		return nil, resp, err
	}
	defl, err := responseDeflate(resp, o)
	if err != nil {
		return nil, resp, err
	}
	n := br.Buffered()
	leftover, _ := br.Peek(n)
	return newConn(connConfig{
		nc:          nc,
		server:      false,
		buffered:    leftover,
		subprotocol: resp.Header.Get("Sec-WebSocket-Protocol"),
		extensions:  resp.Header.Get("Sec-WebSocket-Extensions"),
		deflate:     defl,
		readLimit:   o.ReadLimit,
	}), resp, nil
}

// limitedConn caps the bytes a response head may take, so that a server
// cannot make Dial buffer without bound.
type limitedConn struct {
	r io.Reader
	n int
}

func (l *limitedConn) Read(p []byte) (int, error) {
	if l.n > 64<<10 {
		return 0, fmt.Errorf("%w: response head too large", ErrBadHandshake)
	}
	n, err := l.r.Read(p)
	l.n += n
	return n, err
}

func verifyResponse(resp *http.Response, key string, o *DialOptions) error {
	switch {
	case !hasToken(resp.Header, "Upgrade", "websocket"):
		return fmt.Errorf("%w: missing Upgrade: websocket", ErrBadHandshake)
	case !hasToken(resp.Header, "Connection", "upgrade"):
		return fmt.Errorf("%w: missing Connection: upgrade", ErrBadHandshake)
	case resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key):
		return fmt.Errorf("%w: wrong Sec-WebSocket-Accept", ErrBadHandshake)
	}
	if subs := resp.Header.Values("Sec-WebSocket-Protocol"); len(subs) > 0 {
		if len(subs) > 1 || !slices.Contains(o.Subprotocols, subs[0]) {
			return fmt.Errorf("%w: server chose subprotocol %q, which was not offered", ErrBadHandshake, strings.Join(subs, ","))
		}
	}
	return nil
}

// responseDeflate checks the extensions the server accepted.
func responseDeflate(resp *http.Response, o *DialOptions) (*deflateConfig, error) {
	exts, ok := parseExtensions(resp.Header)
	if !ok {
		return nil, fmt.Errorf("%w: malformed Sec-WebSocket-Extensions", ErrBadHandshake)
	}
	if len(exts) == 0 {
		return nil, nil
	}
	if len(exts) > 1 || exts[0].name != "permessage-deflate" || o.Compression == CompressionDisabled {
		return nil, fmt.Errorf("%w: server accepted an extension that was not offered", ErrBadHandshake)
	}
	params, ok := parseDeflateParams(exts[0].params, false)
	if !ok || params.clientMaxWindowBits != 0 {
		// We never offer client_max_window_bits: our compressor cannot
		// shrink its window.
		return nil, fmt.Errorf("%w: unacceptable permessage-deflate parameters", ErrBadHandshake)
	}
	return params.configFor(false, normalizeLevel(o.CompressionLevel), threshold(o.CompressionThreshold)), nil
}
