package engineio

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

var defaultCORSMethods = "GET,HEAD,PUT,PATCH,POST,DELETE"

// allows reports whether origin may make requests.
func (c *CORSOptions) allows(origin string) bool {
	if len(c.Origins) == 0 && c.AllowOrigin == nil {
		return true
	}
	if slices.Contains(c.Origins, "*") || slices.Contains(c.Origins, origin) {
		return true
	}
	return c.AllowOrigin != nil && c.AllowOrigin(origin)
}

// apply sets the CORS headers of a response and answers a preflight, in
// which case it reports true.
func (c *CORSOptions) apply(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	origin := r.Header.Get("Origin")
	anyOrigin := len(c.Origins) == 0 && c.AllowOrigin == nil
	switch {
	case anyOrigin && !c.Credentials:
		h.Set("Access-Control-Allow-Origin", "*")
	case origin != "" && c.allows(origin):
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	default:
		h.Add("Vary", "Origin")
	}
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method != http.MethodOptions {
		if len(c.ExposedHeaders) > 0 {
			h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
		}
		return false
	}
	methods := defaultCORSMethods
	if len(c.Methods) > 0 {
		methods = strings.Join(c.Methods, ",")
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if len(c.AllowedHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ","))
	} else if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" {
		h.Set("Access-Control-Allow-Headers", asked)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}
