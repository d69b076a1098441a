package engineio_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/wsio/wsio/engineio"
)

// An echo server: every message is sent back to its client.
func Example() {
	srv := engineio.NewServer(nil)
	srv.OnConnection(func(s *engineio.Session) {
		s.OnMessage(func(data []byte, binary bool) {
			_ = s.Send(append([]byte(nil), data...), binary)
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	ts := httptest.NewServer(mux)
	defer ts.Close()

	// A polling client by hand: handshake, send "hello", poll it back.
	res, _ := http.Get(ts.URL + "/engine.io/?EIO=4&transport=polling")
	open, _ := io.ReadAll(res.Body)
	res.Body.Close()
	sid := strings.Split(strings.Split(string(open), `"sid":"`)[1], `"`)[0]
	url := ts.URL + "/engine.io/?EIO=4&transport=polling&sid=" + sid
	res, _ = http.Post(url, "text/plain;charset=UTF-8", strings.NewReader("4hello"))
	res.Body.Close()
	res, _ = http.Get(url)
	echo, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Printf("%s\n", echo)
	// Output: 4hello
}
