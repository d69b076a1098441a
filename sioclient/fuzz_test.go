package sioclient

import (
	"bytes"
	"testing"

	"github.com/wsio/wsio/sioparser"
)

// FuzzClientRead feeds the client's read path (decoding, routing to the
// namespace, acks, typed handlers, CONNECT and DISCONNECT handling) with
// what a server might send: the input is split at 0x1e into messages, and a
// message starting with 0x00 is binary (the rest of it). Nothing may panic.
func FuzzClientRead(f *testing.F) {
	for _, seed := range []string{
		`0{"sid":"abc","pid":"p"}` + "\x1e" + `2["ev",1,"x","offset"]`,
		`21["ev",2,"y"]` + "\x1e" + `3/admin,5[1]`,
		`451-["ev",3,"z",{"_placeholder":true,"num":0}]` + "\x1e\x00\x01\x02",
		`3/admin,7[{"ok":true}]` + "\x1e" + `4/admin,{"message":"no","data":{"a":1}}`,
		`1` + "\x1e" + `2["ev"]`,
		`2["connect"]`,
		`61-7[{"_placeholder":true,"num":0}]` + "\x1e\x00bin",
		`2[`, `5`, `0/admin,`, "\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := NewManager("http://127.0.0.1:1", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, nsp := range []string{"/", "/admin"} {
			s := m.Socket(nsp, nil)
			s.active, s.connected, s.pid = true, true, "p"
			s.On("ev", func(n int, text string, blob []byte, ack Ack) { _ = ack(n, text, blob) })
			s.OnAny(func(string, sioparser.Args) {})
			s.acks = map[uint64]func(sioparser.Args, error){5: func(sioparser.Args, error) {}, 7: func(sioparser.Args, error) {}}
			m.sockets[nsp] = s
		}
		for msg := range bytes.SplitSeq(data, []byte{0x1e}) {
			if len(msg) > 0 && msg[0] == 0 {
				m.onMessage(nil, msg[1:], true)
			} else {
				m.onMessage(nil, msg, false)
			}
		}
		_ = m.Close()
	})
}
