package engineio

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/wsio/wsio/eioparser"
	"github.com/wsio/wsio/internal/bufpool"
)

// servePoll answers a polling GET: with the queued packets, or once some
// are queued. A GET that arrives while another is open closes the session.
func (s *Session) servePoll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.polling {
		s.mu.Unlock()
		s.terminate(ReasonTransportError, ErrPollOverlap)
		s.srv.refuse(w, r, CodeBadRequest, "", ErrPollOverlap)
		return
	}
	s.polling = true
	batch, closing := s.awaitPacketsLocked(r)
	if batch == nil && !closing {
		// The client went away while waiting.
		s.polling = false
		s.mu.Unlock()
		s.terminate(ReasonTransportError, ErrPollAborted)
		return
	}
	s.mu.Unlock()

	err := s.srv.writePayload(w, r, batch, nil)

	s.mu.Lock()
	s.polling = false
	s.releaseLocked(batch)
	closed := s.state == stateClosing && closing
	s.mu.Unlock()
	switch {
	case err != nil:
		s.terminate(ReasonTransportError, err)
	case closed:
		s.terminate(s.reasonOr(ReasonForcedClose), nil)
	}
}

// awaitPacketsLocked waits, with s.mu held on entry and exit, until there
// is something to send, and returns it. closing reports that the batch ends
// with the session's close packet. A nil batch without closing means the
// request's context ended.
func (s *Session) awaitPacketsLocked(r *http.Request) (batch []outPacket, closing bool) {
	for {
		switch {
		case s.state == stateClosed:
			// Closed while waiting: a close packet, or a noop when the client
			// itself asked to close.
			t := eioparser.PacketClose
			if s.clientClosed {
				t = eioparser.PacketNoop
			}
			return []outPacket{{pkt: eioparser.Packet{Type: t}}}, false
		case s.state == stateClosing && len(s.queue) > 0:
			// What is queued first, alone; the close packet in the next
			// response, as Node does: clients act on a close at once but on
			// messages a tick later, so sharing a payload reorders them.
			return s.takeLocked(), false
		case s.state == stateClosing:
			return []outPacket{{pkt: eioparser.Packet{Type: eioparser.PacketClose}}}, true
		case s.transport != TransportPolling:
			// Upgraded while waiting: release the request.
			return []outPacket{{pkt: eioparser.Packet{Type: eioparser.PacketNoop}}}, false
		case len(s.queue) > 0:
			return s.takeLocked(), false
		case s.probed:
			// An upgrade is under way: end the poll so the client can pause.
			return []outPacket{{pkt: eioparser.Packet{Type: eioparser.PacketNoop}}}, false
		}
		wake := make(chan struct{})
		s.pollWake = wake
		s.mu.Unlock()
		select {
		case <-wake:
			s.mu.Lock()
		case <-r.Context().Done():
			s.mu.Lock()
			if s.pollWake == wake {
				s.pollWake = nil
				return nil, false
			}
		}
	}
}

func (s *Session) reasonOr(def string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reason != "" {
		return s.reason
	}
	return def
}

// servePost reads the client's packets from a polling POST.
func (s *Session) servePost(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.posting {
		s.mu.Unlock()
		s.terminate(ReasonTransportError, ErrPollOverlap)
		s.srv.refuse(w, r, CodeBadRequest, "", ErrPollOverlap)
		return
	}
	s.posting = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.posting = false
		s.mu.Unlock()
	}()

	if r.Header.Get("Content-Type") == "application/octet-stream" {
		s.terminate(ReasonTransportError, ErrInvalidContent)
		s.srv.refuse(w, r, CodeBadRequest, "", ErrInvalidContent)
		return
	}
	limit := s.srv.cfg.MaxHTTPBufferSize
	body, err := readBody(r, limit)
	if body != nil {
		defer bufpool.Put(body.buf)
	}
	if err != nil {
		if errors.Is(err, ErrPayloadTooLarge) {
			s.terminate(ReasonTransportError, err)
			s.srv.writeHeaders(w, r, false)
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		s.terminate(ReasonTransportError, ErrPollAborted)
		return
	}
	packets, err := eioparser.DecodePayload(body.bytes(), eioparser.Limits{MaxBytes: limit})
	if err != nil {
		s.terminate(ReasonParseError, err)
		s.srv.refuse(w, r, CodeBadRequest, "", err)
		return
	}
	for _, p := range packets {
		if !s.handlePacket(p, false) {
			break
		}
	}
	s.srv.writeHeaders(w, r, false)
	h := w.Header()
	h["Content-Type"] = hdrTextHTML
	h["Content-Length"] = hdrTwo
	_, _ = io.WriteString(w, "ok")
}

// body is a request body read into a pooled buffer.
type body struct {
	buf *[]byte
	n   int
}

func (b *body) bytes() []byte { return (*b.buf)[:b.n] }

// readBody reads at most limit bytes. The buffer grows through the pool's
// size classes as data arrives: its size is never taken from the client's
// Content-Length before the limit is checked.
func readBody(r *http.Request, limit int) (*body, error) {
	if r.ContentLength > int64(limit) {
		return nil, ErrPayloadTooLarge
	}
	size := 512
	if r.ContentLength > 0 {
		size = int(r.ContentLength) + 1 // +1 to see EOF without growing
	}
	b := &body{buf: bufpool.Get(size)}
	for {
		if b.n == len(*b.buf) {
			if b.n > limit {
				return b, ErrPayloadTooLarge
			}
			nb := bufpool.Get(2 * b.n)
			copy(*nb, (*b.buf)[:b.n])
			bufpool.Put(b.buf)
			b.buf = nb
		}
		m, err := r.Body.Read((*b.buf)[b.n:])
		b.n += m
		if b.n > limit {
			return b, ErrPayloadTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// writePayload writes packets as a polling response, compressed when it is
// large enough and the client accepts gzip or deflate.
func (srv *Server) writePayload(w http.ResponseWriter, r *http.Request, batch []outPacket, extra func(http.Header)) error {
	size := 0
	compress := false // as Node: when any packet may be compressed
	for i := range batch {
		size += 2 + base64Len(len(batch[i].pkt.Data))
		compress = compress || !batch[i].noCompress
	}
	bp := bufpool.Get(size)
	defer bufpool.Put(bp)
	out := (*bp)[:0]
	for i := range batch {
		if i > 0 {
			out = append(out, 0x1e)
		}
		out = eioparser.AppendText(out, batch[i].pkt)
	}
	srv.writeHeaders(w, r, extra != nil)
	h := w.Header()
	if extra != nil {
		extra(h)
	}
	h["Content-Type"] = hdrTextPlain
	if enc := srv.compression(r, len(out)); enc != "" && compress {
		h.Set("Content-Encoding", enc)
		h.Add("Vary", "Accept-Encoding")
		return compressTo(w, enc, out)
	}
	h.Set("Content-Length", strconv.Itoa(len(out)))
	_, err := w.Write(out)
	return err
}

// base64Len bounds the encoded size of n bytes of data.
func base64Len(n int) int { return (n+2)/3*4 + 1 }

// writeHeaders sets the headers of every response: no caching, the user's
// hooks, and on the handshake the initial-headers hook.
func (srv *Server) writeHeaders(w http.ResponseWriter, r *http.Request, initial bool) {
	h := w.Header()
	h["Cache-Control"] = hdrNoStore
	if ua := r.Header.Get("User-Agent"); strings.Contains(ua, ";MSIE") || strings.Contains(ua, "Trident/") {
		h.Set("X-XSS-Protection", "0")
	}
	if initial && srv.cfg.InitialHeaders != nil {
		srv.cfg.InitialHeaders(h, r)
	}
	if srv.cfg.Headers != nil {
		srv.cfg.Headers(h, r)
	}
}

// compression returns the encoding for a response of n bytes: "gzip",
// "deflate" or "".
func (srv *Server) compression(r *http.Request, n int) string {
	if srv.cfg.DisableHTTPCompression || n < srv.cfg.httpThresh {
		return ""
	}
	return pickEncoding(r.Header.Values("Accept-Encoding"))
}

// pickEncoding chooses gzip or deflate from Accept-Encoding values by their
// q-values, gzip first on a tie.
func pickEncoding(values []string) string {
	best, bestQ := "", 0.0
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(item), ";")
			q := 1.0
			if k, val, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil {
					continue
				}
				q = f
			}
			name = strings.ToLower(strings.TrimSpace(name))
			for _, enc := range []string{"gzip", "deflate"} {
				if (name == enc || name == "*") && q > 0 && (q > bestQ || (q == bestQ && enc == "gzip" && best != "gzip")) {
					if name == "*" && best != "" && bestQ >= q {
						continue
					}
					best, bestQ = enc, q
				}
			}
		}
	}
	return best
}

var (
	gzipPool = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
		return w
	}}
	zlibPool = sync.Pool{New: func() any {
		w, _ := zlib.NewWriterLevel(nil, flate.BestSpeed)
		return w
	}}
)

func compressTo(w io.Writer, enc string, data []byte) error {
	type resetter interface {
		io.WriteCloser
		Reset(io.Writer)
	}
	pool := &gzipPool
	if enc == "deflate" {
		pool = &zlibPool
	}
	zw := pool.Get().(resetter)
	zw.Reset(w)
	_, err := zw.Write(data)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	zw.Reset(nil)
	pool.Put(zw)
	return err
}
