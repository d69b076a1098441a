package websocket

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strings"
)

const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key value.
func acceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// headerTokens splits every value of a comma-separated header into trimmed,
// non-empty tokens.
func headerTokens(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// hasToken reports whether the comma-separated header contains token,
// compared case-insensitively.
func hasToken(h http.Header, name, token string) bool {
	for _, t := range headerTokens(h, name) {
		if strings.EqualFold(t, token) {
			return true
		}
	}
	return false
}

// extension is one element of a Sec-WebSocket-Extensions header.
type extension struct {
	name   string
	params []extParam
}

type extParam struct {
	name  string
	value string
	set   bool // the parameter had "=value"
}

// parseExtensions parses Sec-WebSocket-Extensions (RFC 6455 section 9.1).
// Malformed elements are returned with ok=false so a server can decline
// them and a client can fail the handshake.
func parseExtensions(h http.Header) (exts []extension, ok bool) {
	ok = true
	for _, v := range h.Values("Sec-WebSocket-Extensions") {
		for item := range strings.SplitSeq(v, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			parts := strings.Split(item, ";")
			ext := extension{name: strings.ToLower(strings.TrimSpace(parts[0]))}
			if !isToken(ext.name) {
				ok = false
				continue
			}
			good := true
			for _, p := range parts[1:] {
				p = strings.TrimSpace(p)
				name, value, set := strings.Cut(p, "=")
				name = strings.ToLower(strings.TrimSpace(name))
				value = strings.TrimSpace(value)
				if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
					value = value[1 : len(value)-1]
				}
				if !isToken(name) || (set && !isToken(value)) {
					good = false
					break
				}
				ext.params = append(ext.params, extParam{name: name, value: value, set: set})
			}
			if !good {
				ok = false
				continue
			}
			exts = append(exts, ext)
		}
	}
	return exts, ok
}

// isToken reports whether s is a non-empty RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7F || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
