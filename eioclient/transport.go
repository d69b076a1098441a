package eioclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wsio/wsio/eioparser"
	"github.com/wsio/wsio/websocket"
)

// protocolVersion is the EIO query parameter.
const protocolVersion = "4"

// maxTimerMillis is the largest ping interval or timeout accepted: the
// longest delay a JavaScript timer supports, 2^31-1 ms (about 24.8 days).
const maxTimerMillis = 1<<31 - 1

// statusError is a polling response other than 200 OK.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d: %q", e.code, e.body)
}

// errorBodyLimit bounds the bytes of a failed response kept for the error.
const errorBodyLimit = 512

// cacheBusters counts the t query parameters made by this process.
var cacheBusters atomic.Uint64

// requestURL returns the URL of a request on transport, scheme included
// (http(s) for polling, ws(s) for websocket).
func (c *Client) requestURL(transport, sid string) string {
	u := c.base
	q := u.Query()
	q.Set("EIO", protocolVersion)
	q.Set("transport", transport)
	if sid != "" {
		q.Set("sid", sid)
	}
	if transport == TransportPolling {
		// A cache buster, unique per request, as engine.io-client sends.
		n := cacheBusters.Add(1)
		q.Set("t", strconv.FormatInt(time.Now().UnixMilli(), 36)+"."+strconv.FormatUint(n, 36))
	} else if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (c *Client) newRequest(ctx context.Context, method, sid string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.requestURL(TransportPolling, sid), r)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.opts.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Accept", "*/*")
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	return req, nil
}

// get makes one polling GET (the handshake when sid is empty) and returns
// its body.
func (c *Client) get(ctx context.Context, sid string) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodGet, sid, nil)
	if err != nil {
		return nil, fmt.Errorf("eioclient: polling GET: %w", err)
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("eioclient: polling GET: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("eioclient: polling GET: %w", readStatusError(resp))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.readLimit+1))
	if err != nil {
		return nil, fmt.Errorf("eioclient: polling GET: %w", err)
	}
	if int64(len(body)) > c.readLimit {
		return nil, fmt.Errorf("eioclient: polling GET: response larger than the read limit of %d bytes", c.readLimit)
	}
	return body, nil
}

// post sends packets in one polling POST.
func (c *Client) post(packets []eioparser.Packet) error {
	req, err := c.newRequest(c.ctx, http.MethodPost, c.hs.SID, eioparser.AppendPayload(nil, packets))
	if err != nil {
		return fmt.Errorf("eioclient: polling POST: %w", err)
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		return fmt.Errorf("eioclient: polling POST: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("eioclient: polling POST: %w", readStatusError(resp))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, errorBodyLimit))
	return nil
}

func readStatusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
	return &statusError{code: resp.StatusCode, body: string(b)}
}

// dialWebSocket opens the WebSocket transport: a new session when sid is
// empty, otherwise a probe for the session.
func (c *Client) dialWebSocket(ctx context.Context, sid string) (*websocket.Conn, error) {
	o := &websocket.DialOptions{
		HTTPHeader: c.opts.Header.Clone(),
		TLSConfig:  c.opts.TLSConfig,
		ReadLimit:  c.readLimit,
	}
	if t, ok := c.httpc.Transport.(*http.Transport); ok && c.ownHTTP == nil {
		// Reach the server the way the polling requests do.
		if t.Proxy != nil {
			o.Proxy = t.Proxy
		} else {
			o.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
		}
		o.NetDialContext = t.DialContext
		if o.TLSConfig == nil {
			o.TLSConfig = t.TLSClientConfig
		}
	}
	if jar := c.httpc.Jar; jar != nil {
		u := c.base
		for _, ck := range jar.Cookies(&u) {
			if o.HTTPHeader == nil {
				o.HTTPHeader = http.Header{}
			}
			o.HTTPHeader.Add("Cookie", ck.String())
		}
	}
	conn, resp, err := websocket.Dial(ctx, c.requestURL(TransportWebSocket, sid), o)
	if err != nil {
		if resp != nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
			_ = resp.Body.Close()
			return nil, fmt.Errorf("%w: %w: HTTP %d: %q", ErrHandshake, err, resp.StatusCode, b)
		}
		return nil, err
	}
	return conn, nil
}

// openData is the JSON of the open packet.
type openData struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// parseOpen checks that p is an open packet and decodes its handshake.
func parseOpen(p eioparser.Packet) (Handshake, error) {
	if p.Type != eioparser.PacketOpen || p.Binary {
		return Handshake{}, fmt.Errorf("%w: the first packet is %v, not open", ErrHandshake, p.Type)
	}
	var d openData
	if err := json.Unmarshal(p.Data, &d); err != nil {
		return Handshake{}, fmt.Errorf("%w: open packet: %w", ErrHandshake, err)
	}
	switch {
	case d.SID == "":
		return Handshake{}, fmt.Errorf("%w: open packet without sid", ErrHandshake)
	case d.PingInterval <= 0 || d.PingInterval > maxTimerMillis:
		return Handshake{}, fmt.Errorf("%w: open packet: pingInterval %d out of range", ErrHandshake, d.PingInterval)
	case d.PingTimeout <= 0 || d.PingTimeout > maxTimerMillis:
		return Handshake{}, fmt.Errorf("%w: open packet: pingTimeout %d out of range", ErrHandshake, d.PingTimeout)
	case d.MaxPayload < 0 || d.MaxPayload > 1<<40:
		return Handshake{}, fmt.Errorf("%w: open packet: maxPayload %d out of range", ErrHandshake, d.MaxPayload)
	}
	return Handshake{
		SID:          d.SID,
		Upgrades:     d.Upgrades,
		PingInterval: time.Duration(d.PingInterval) * time.Millisecond,
		PingTimeout:  time.Duration(d.PingTimeout) * time.Millisecond,
		MaxPayload:   int(d.MaxPayload),
	}, nil
}
