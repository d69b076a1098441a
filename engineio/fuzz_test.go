package engineio

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzPollingPost feeds arbitrary POST bodies to a polling session: the
// server must answer (200, 400 or 413) and never panic or hang.
func FuzzPollingPost(f *testing.F) {
	for _, s := range []string{"4hello", "4a\x1e4b", "bAQIDBA==", "b!!", "1", "3", "2", "6", "5", "",
		"\x1e\x1e", "4" + strings.Repeat("x", 100), "0{}", "9", "4é\x1eb", "b"} {
		f.Add([]byte(s))
	}
	srv := NewServer(&Options{MaxHTTPBufferSize: 1000, PingInterval: time.Hour})
	srv.OnConnection(func(s *Session) {
		s.OnMessage(func(data []byte, binary bool) { _ = s.Send(append([]byte(nil), data...), binary) })
	})
	f.Cleanup(func() { _ = srv.Shutdown(f.Context()) })
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := &recorder{h: http.Header{}}
		req, _ := http.NewRequest("GET", "/engine.io/?EIO=4&transport=polling", nil)
		srv.ServeHTTP(rec, req)
		sid := parseOpen(t, rec.body.String()).SID
		rec = &recorder{h: http.Header{}}
		req, _ = http.NewRequest("POST", "/engine.io/?EIO=4&transport=polling&sid="+sid, strings.NewReader(string(body)))
		srv.ServeHTTP(rec, req)
		switch rec.status {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d for %q", rec.status, body)
		}
		if s := srv.Session(sid); s != nil {
			_ = s.Close()
			s.terminate(ReasonForcedClose, nil)
		}
	})
}
