package engineio

import (
	"net/url"
	"strings"
)

// queryGet returns the first value of key in a raw query string, as
// url.Values.Get would, without building the whole map: every polling
// request reads three parameters, and parsing them all cost five
// allocations a request.
func queryGet(raw, key string) string {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(k, "%+") {
			var err error
			if k, err = url.QueryUnescape(k); err != nil {
				continue
			}
		}
		if k != key {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			u, err := url.QueryUnescape(v)
			if err != nil {
				continue
			}
			return u
		}
		return v
	}
	return ""
}

// Shared header values: net/http only reads them.
var (
	hdrNoStore   = []string{"no-store"}
	hdrTextPlain = []string{"text/plain; charset=UTF-8"}
	hdrTextHTML  = []string{"text/html"}
	hdrTwo       = []string{"2"}
)
