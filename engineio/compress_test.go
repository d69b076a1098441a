package engineio

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A polling response is gzipped only when one of its packets may be
// compressed, as in Node.
func TestPollingNoCompress(t *testing.T) {
	sessions := make(chan *Session, 1)
	st := newTestServer(t, nil, func(s *Session) { sessions <- s })
	big := []byte(strings.Repeat("compressible ", 200))
	_, q := st.open(t)
	s := <-sessions
	_ = s.SendWithOptions(big, false, SendOptions{NoCompress: true})
	if r := st.get(t, q, "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "" || r.body != "4"+string(big) {
		t.Errorf("NoCompress alone: Content-Encoding %q, %d bytes", r.header.Get("Content-Encoding"), len(r.body))
	}
	_ = s.SendWithOptions(big, false, SendOptions{NoCompress: true})
	_ = s.SendMessage(NewMessage(big, false))
	if r := st.get(t, q, "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("with a compressible packet: Content-Encoding %q", r.header.Get("Content-Encoding"))
	}
}

// Over a WebSocket with permessage-deflate, NoCompress packets go out with
// RSV1 clear and the others compressed, for Send and SendMessage alike.
func TestWebSocketNoCompress(t *testing.T) {
	sessions := make(chan *Session, 1)
	st := newTestServer(t, &Options{PerMessageDeflate: true}, func(s *Session) { sessions <- s })
	nc, err := net.Dial("tcp", st.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(testTimeout))
	_, _ = io.WriteString(nc, "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols || !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	readFrame := func() (rsv1 bool, n int) {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatal(err)
		}
		n = int(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			_, _ = io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			_, _ = io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint64(l[:]))
		}
		if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
			t.Fatal(err)
		}
		return h[0]&0x40 != 0, n
	}
	readFrame() // open
	s := <-sessions
	big := []byte(strings.Repeat("compressible ", 200))
	_ = s.SendWithOptions(big, false, SendOptions{NoCompress: true})
	_ = s.Send(big, false)
	_ = s.SendMessage(NewMessageWithOptions(big, false, SendOptions{NoCompress: true}))
	_ = s.SendMessage(NewMessage(big, false))
	_ = s.SendWithOptions(big, true, SendOptions{NoCompress: true})
	for i, want := range []bool{false, true, false, true, false} {
		rsv1, n := readFrame()
		if rsv1 != want {
			t.Errorf("packet %d: compressed %v, want %v (%d bytes)", i, rsv1, want, n)
		}
	}
}
