package sioparser

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds a text part and up to two attachments to a Decoder:
// no panic, and a decoded packet re-encodes to an equivalent one.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`2["a",1]`, `0/admin,{"t":1}`, `1/x,`, `3/n,12[]`, `4"no"`,
		`51-["b",{"_placeholder":true,"num":0}]`, `62-/x,3[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`,
		`2[{"_placeholder":true,"num":0}]`, `29007199254740991["x"]`, `5-[]`, "2[\"\\ud800\"]"} {
		f.Add([]byte(s), []byte{1, 2}, []byte{3})
	}
	f.Fuzz(func(t *testing.T, text, a1, a2 []byte) {
		d := Decoder{Limits: Limits{MaxAttachments: 3, MaxAttachmentBytes: 64}}
		p, err := d.Text(text)
		for _, a := range [][]byte{a1, a2} {
			if err != nil || p != nil {
				break
			}
			p, err = d.Binary(a)
		}
		if err != nil || p == nil {
			return
		}
		again, n, err := DecodeText(AppendText(nil, p), Limits{MaxAttachments: 3})
		if err != nil || n != len(p.Attachments) && p.Type.Binary() {
			t.Fatalf("%q re-encoded does not decode: %v", text, err)
		}
		if again.Type != p.Type || again.Namespace != p.Namespace || again.ID != p.ID || !bytes.Equal(again.Data, p.Data) {
			t.Fatalf("%q: round trip changed the packet", text)
		}
		if p.Type == Event || p.Type == BinaryEvent || p.Type == Ack || p.Type == BinaryAck {
			var args Args
			if p.Type == Event || p.Type == BinaryEvent {
				_, args, err = ParseEvent(p)
			} else {
				args, err = ParseArgs(p)
			}
			if err != nil {
				t.Fatalf("%q: valid packet, bad args: %v", text, err)
			}
			_, _ = args.Values()
			var s struct{ A []byte }
			for i := range args.Len() {
				_ = args.Decode(i, &s)
			}
		}
	})
}

// FuzzMarshal checks that what MarshalJSON writes for a decoded value is
// valid JSON that decodes back to the same value.
func FuzzMarshal(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true]}`, `"é\u0001"`, `1e21`, `[[[]]]`, `{"_placeholder":true,"num":0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p := &Packet{Type: Ack, Data: append(append([]byte{'['}, in...), ']')}
		if validate(p) != nil {
			return
		}
		args, _ := ParseArgs(p)
		vals, err := args.Values()
		if err != nil {
			return
		}
		out, err := MarshalJSON(nil, vals, new([][]byte))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		p2 := &Packet{Type: Ack, Data: out}
		if err := validate(p2); err != nil {
			t.Fatalf("%s re-marshalled to invalid %s: %v", in, out, err)
		}
	})
}
