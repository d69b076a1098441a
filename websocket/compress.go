package websocket

import (
	"compress/flate"
	"io"
	"strconv"
	"strings"
	"sync"
)

// CompressionMode selects permessage-deflate (RFC 7692) behaviour.
//
// Memory: a deflate compressor costs about 1.2 MB at the default level and a
// decompressor about 40 KB. With CompressionNoContextTakeover both are
// borrowed from a pool for the duration of one message, so an idle
// connection holds neither. With CompressionContextTakeover a connection
// keeps its own compressor for its lifetime and, when the peer keeps its
// context too, the last 32 KiB of received plaintext: better ratios for
// chatty connections, at that cost per connection.
type CompressionMode int

const (
	// CompressionDisabled neither offers nor accepts permessage-deflate.
	CompressionDisabled CompressionMode = iota
	// CompressionNoContextTakeover negotiates permessage-deflate with both
	// sides resetting their compression context after every message.
	CompressionNoContextTakeover
	// CompressionContextTakeover negotiates permessage-deflate letting both
	// sides keep their context across messages, unless the peer asks
	// otherwise.
	CompressionContextTakeover
)

const (
	defaultCompressionThreshold = 512
	defaultCompressionLevel     = flate.BestSpeed
	deflateWindow               = 32 << 10
)

// deflateTail is what a sync flush ends with; RFC 7692 removes it from the
// wire and the receiver appends it again.
var deflateTail = [4]byte{0x00, 0x00, 0xff, 0xff}

// deflateParams holds permessage-deflate extension parameters.
type deflateParams struct {
	serverNoContextTakeover bool
	clientNoContextTakeover bool
	serverMaxWindowBits     int // 0: absent
	clientMaxWindowBits     int // 0: absent; -1: present without a value
}

func (p deflateParams) String() string {
	var b strings.Builder
	b.WriteString("permessage-deflate")
	if p.serverNoContextTakeover {
		b.WriteString("; server_no_context_takeover")
	}
	if p.clientNoContextTakeover {
		b.WriteString("; client_no_context_takeover")
	}
	if p.serverMaxWindowBits > 0 {
		b.WriteString("; server_max_window_bits=" + strconv.Itoa(p.serverMaxWindowBits))
	}
	switch {
	case p.clientMaxWindowBits > 0:
		b.WriteString("; client_max_window_bits=" + strconv.Itoa(p.clientMaxWindowBits))
	case p.clientMaxWindowBits < 0:
		b.WriteString("; client_max_window_bits")
	}
	return b.String()
}

// parseDeflateParams validates the parameters of one permessage-deflate
// element. Unknown, repeated or out-of-range parameters make it invalid
// (RFC 7692 section 7.1). client_max_window_bits may lack a value only in an
// offer.
func parseDeflateParams(ps []extParam, offer bool) (deflateParams, bool) {
	var p deflateParams
	seen := map[string]bool{}
	for _, e := range ps {
		if seen[e.name] {
			return p, false
		}
		seen[e.name] = true
		switch e.name {
		case "server_no_context_takeover":
			if e.set {
				return p, false
			}
			p.serverNoContextTakeover = true
		case "client_no_context_takeover":
			if e.set {
				return p, false
			}
			p.clientNoContextTakeover = true
		case "server_max_window_bits":
			bits, ok := windowBits(e.value)
			if !e.set || !ok {
				return p, false
			}
			p.serverMaxWindowBits = bits
		case "client_max_window_bits":
			if !e.set {
				if !offer {
					return p, false
				}
				p.clientMaxWindowBits = -1
				continue
			}
			bits, ok := windowBits(e.value)
			if !ok {
				return p, false
			}
			p.clientMaxWindowBits = bits
		default:
			return p, false
		}
	}
	return p, true
}

func windowBits(s string) (int, bool) {
	if len(s) == 0 || len(s) > 2 || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 8 || n > 15 {
		return 0, false
	}
	return n, true
}

// negotiateDeflate picks the first permessage-deflate offer the server can
// honour and returns the response parameters. Our compressor always uses a
// 32 KiB window, so an offer limiting the server's window below 15 bits is
// declined; our decompressor accepts any window, so we never limit the
// client's.
func negotiateDeflate(exts []extension, mode CompressionMode) (deflateParams, bool) {
	if mode == CompressionDisabled {
		return deflateParams{}, false
	}
	for _, e := range exts {
		if e.name != "permessage-deflate" {
			continue
		}
		offer, ok := parseDeflateParams(e.params, true)
		if !ok || (offer.serverMaxWindowBits > 0 && offer.serverMaxWindowBits < 15) {
			continue
		}
		var resp deflateParams
		resp.serverNoContextTakeover = offer.serverNoContextTakeover || mode == CompressionNoContextTakeover
		resp.clientNoContextTakeover = offer.clientNoContextTakeover || mode == CompressionNoContextTakeover
		if offer.serverMaxWindowBits == 15 {
			resp.serverMaxWindowBits = 15
		}
		return resp, true
	}
	return deflateParams{}, false
}

// clientOffer is what Dial sends for mode.
func clientOffer(mode CompressionMode) deflateParams {
	if mode == CompressionNoContextTakeover {
		return deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true}
	}
	return deflateParams{}
}

// deflateConfig is the negotiated compression state of one connection.
type deflateConfig struct {
	writeNoTakeover bool // this side resets its context per message
	readNoTakeover  bool // the peer resets its context per message
	level           int
	threshold       int
}

// configFor returns the per-side configuration from negotiated parameters.
func (p deflateParams) configFor(server bool, level, threshold int) *deflateConfig {
	c := &deflateConfig{level: level, threshold: threshold}
	if server {
		c.writeNoTakeover, c.readNoTakeover = p.serverNoContextTakeover, p.clientNoContextTakeover
	} else {
		c.writeNoTakeover, c.readNoTakeover = p.clientNoContextTakeover, p.serverNoContextTakeover
	}
	return c
}

// Pools of compressors (one per level) and decompressors.
var (
	flateWriters [flate.BestCompression + 1]sync.Pool
	flateReaders sync.Pool
)

func getFlateWriter(level int, w io.Writer) *flate.Writer {
	if v := flateWriters[level].Get(); v != nil {
		fw := v.(*flate.Writer)
		fw.Reset(w)
		return fw
	}
	fw, _ := flate.NewWriter(w, level) // level is validated by the options
	return fw
}

func putFlateWriter(level int, fw *flate.Writer) {
	fw.Reset(io.Discard)
	flateWriters[level].Put(fw)
}

func getFlateReader(r io.Reader, dict []byte) io.ReadCloser {
	if v := flateReaders.Get(); v != nil {
		fr := v.(io.ReadCloser)
		_ = fr.(flate.Resetter).Reset(r, dict)
		return fr
	}
	return flate.NewReaderDict(r, dict)
}

func putFlateReader(fr io.ReadCloser) { flateReaders.Put(fr) }

// sliceSink is an io.Writer appending to a byte slice; compressed output
// goes there.
type sliceSink struct{ b []byte }

func (s *sliceSink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// normalizeLevel maps the options' level to a flate level.
func normalizeLevel(level int) int {
	if level < flate.BestSpeed || level > flate.BestCompression {
		return defaultCompressionLevel
	}
	return level
}
