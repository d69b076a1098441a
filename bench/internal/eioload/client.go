package eioload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wsio/wsio/eioparser"
	"github.com/wsio/wsio/websocket"
)

// The clients speak Engine.IO v4 themselves, with eioparser for the
// packets and the websocket package for the WebSocket transport; they
// implement only what the load needs: the handshake, messages, answering
// pings, and a clean close.

// client is one Engine.IO session.
type client interface {
	// send sends one text message packet; pkt is its encoding ("4" and the
	// data).
	send(ctx context.Context, pkt []byte) error
	// recv returns the data of the next message (echo mode only). It is
	// valid until the next call.
	recv(ctx context.Context) ([]byte, error)
	// close ends the session, politely and within a bounded time.
	close()
}

var errClosedByServer = errors.New("eioload: the server closed the session")

// handshake is the open packet's data.
type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func parseOpen(p eioparser.Packet) (handshake, error) {
	var h handshake
	if p.Type != eioparser.PacketOpen {
		return h, fmt.Errorf("eioload: first packet is %v, not open", p.Type)
	}
	if err := json.Unmarshal(p.Data, &h); err != nil {
		return h, fmt.Errorf("eioload: open packet %q: %w", p.Data, err)
	}
	if h.SID == "" {
		return h, fmt.Errorf("eioload: open packet %q without sid", p.Data)
	}
	return h, nil
}

// endpoint returns base (http://host:port/engine.io/) with the query of a
// new session on transport.
func endpoint(base, transport string) string {
	return base + "?EIO=4&transport=" + transport
}

// ---- WebSocket ----

type wsClient struct {
	c   *websocket.Conn
	buf []byte
	// onMessage, when set, makes a reader goroutine count the messages
	// instead of recv returning them (broadcast mode).
	onMessage func()
	readDone  chan error
}

func dialWS(ctx context.Context, base string, onMessage func()) (*wsClient, error) {
	u := "ws" + strings.TrimPrefix(endpoint(base, "websocket"), "http")
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		ReadLimit: 16 << 20,
		Proxy:     func(*http.Request) (*url.URL, error) { return nil, nil },
	})
	if err != nil {
		return nil, err
	}
	w := &wsClient{c: c, onMessage: onMessage}
	typ, b, err := c.ReadAppend(ctx, nil)
	if err == nil && typ != websocket.MessageText {
		err = errors.New("eioload: binary first message")
	}
	var p eioparser.Packet
	if err == nil {
		p, err = eioparser.DecodeText(b)
	}
	if err == nil {
		_, err = parseOpen(p)
	}
	if err != nil {
		_ = c.CloseNow()
		return nil, err
	}
	if onMessage != nil {
		w.readDone = make(chan error, 1)
		go func() { w.readDone <- w.countLoop(ctx) }()
	}
	return w, nil
}

func (w *wsClient) send(ctx context.Context, pkt []byte) error {
	return w.c.Write(ctx, websocket.MessageText, pkt)
}

// next returns the next message, answering pings on the way.
func (w *wsClient) next(ctx context.Context) ([]byte, error) {
	for {
		typ, b, err := w.c.ReadAppend(ctx, w.buf[:0])
		w.buf = b
		if err != nil {
			return nil, err
		}
		if typ == websocket.MessageBinary {
			return b, nil
		}
		if len(b) == 0 {
			return nil, errors.New("eioload: empty text message")
		}
		switch b[0] {
		case '4':
			return b[1:], nil
		case '2':
			if err := w.c.Write(ctx, websocket.MessageText, []byte("3")); err != nil {
				return nil, err
			}
		case '6':
		case '1':
			return nil, errClosedByServer
		default:
			return nil, fmt.Errorf("eioload: unexpected packet %q", b[:min(len(b), 16)])
		}
	}
}

func (w *wsClient) recv(ctx context.Context) ([]byte, error) { return w.next(ctx) }

func (w *wsClient) countLoop(ctx context.Context) error {
	for {
		if _, err := w.next(ctx); err != nil {
			return err
		}
		w.onMessage()
	}
}

func (w *wsClient) close() {
	// A close handshake, bounded by the websocket package's own limit; the
	// server sees "transport close".
	_ = w.c.Close(websocket.StatusNormalClosure, "")
	if w.readDone != nil {
		select {
		case <-w.readDone:
		case <-time.After(5 * time.Second):
		}
	}
}

// ---- HTTP long-polling ----

type pollClient struct {
	hc     *http.Client
	url    string // with the sid
	postMu sync.Mutex

	// onMessage, when set, counts the messages (broadcast mode); otherwise
	// they go to msgs for recv.
	onMessage func()
	msgs      chan []byte

	cancel  context.CancelFunc
	getDone chan struct{}
	getErr  error // set before getDone is closed
}

var pollHeader = http.Header{"Content-Type": {"text/plain;charset=UTF-8"}}

func dialPolling(ctx context.Context, hc *http.Client, base string, onMessage func()) (*pollClient, error) {
	body, err := httpDo(ctx, hc, http.MethodGet, endpoint(base, "polling"), nil)
	if err != nil {
		return nil, err
	}
	packets, err := eioparser.DecodePayload(body, eioparser.Limits{MaxBytes: 1 << 20})
	if err != nil {
		return nil, err
	}
	h, err := parseOpen(packets[0])
	if err != nil {
		return nil, err
	}
	p := &pollClient{
		hc:        hc,
		url:       endpoint(base, "polling") + "&sid=" + url.QueryEscape(h.SID),
		onMessage: onMessage,
		msgs:      make(chan []byte, 64),
		getDone:   make(chan struct{}),
	}
	// The GET loop outlives the dial's context: it ends with close, or
	// with the run's context (the caller's ctx is that context).
	gctx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	go p.getLoop(gctx)
	return p, nil
}

// httpDo makes one request and returns the (decompressed) body of a 200
// response.
func httpDo(ctx context.Context, hc *http.Client, method, u string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header = pollHeader.Clone()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("eioload: %s: %s: %q", method, resp.Status, b[:min(len(b), 200)])
	}
	return b, nil
}

func (p *pollClient) post(ctx context.Context, pkt []byte) error {
	p.postMu.Lock()
	defer p.postMu.Unlock()
	b, err := httpDo(ctx, p.hc, http.MethodPost, p.url, pkt)
	if err != nil {
		return err
	}
	if string(b) != "ok" {
		return fmt.Errorf("eioload: POST answered %q", b[:min(len(b), 200)])
	}
	return nil
}

func (p *pollClient) send(ctx context.Context, pkt []byte) error { return p.post(ctx, pkt) }

func (p *pollClient) recv(ctx context.Context) ([]byte, error) {
	select {
	case b := <-p.msgs:
		return b, nil
	case <-p.getDone:
		return nil, p.getErr
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// getLoop long-polls until the session ends.
func (p *pollClient) getLoop(ctx context.Context) {
	defer close(p.getDone)
	for {
		body, err := httpDo(ctx, p.hc, http.MethodGet, p.url, nil)
		if err != nil {
			p.getErr = err
			return
		}
		packets, err := eioparser.DecodePayload(body, eioparser.Limits{MaxBytes: 1 << 28, MaxPackets: 1 << 24})
		if err != nil {
			p.getErr = err
			return
		}
		for _, pk := range packets {
			switch pk.Type {
			case eioparser.PacketMessage:
				if p.onMessage != nil {
					p.onMessage()
					continue
				}
				select {
				case p.msgs <- pk.Data: // body is a new slice per GET
				case <-ctx.Done():
					p.getErr = ctx.Err()
					return
				}
			case eioparser.PacketPing:
				if err := p.post(ctx, []byte("3")); err != nil {
					p.getErr = err
					return
				}
			case eioparser.PacketNoop:
			case eioparser.PacketClose:
				p.getErr = errClosedByServer
				return
			default:
				p.getErr = fmt.Errorf("eioload: unexpected packet %v", pk.Type)
				return
			}
		}
	}
}

func (p *pollClient) close() {
	// The close packet: the server answers the waiting GET, which ends the
	// loop. Bounded: the GET is cancelled after 5 s.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.post(ctx, []byte("1"))
	select {
	case <-p.getDone:
	case <-ctx.Done():
	}
	p.cancel()
	<-p.getDone
}
