package sioparser

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The examples of the protocol's README, encoded.
func TestEncodeSpecExamples(t *testing.T) {
	mustEvent := func(nsp, ev string, args ...any) *Packet {
		p, err := NewEvent(nsp, ev, args...)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	withID := func(p *Packet, id uint64) *Packet { p.ID, p.HasID = id, true; return p }
	ack := func(nsp string, id uint64, args ...any) *Packet {
		p, err := NewAck(nsp, id, args...)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		p    *Packet
		text string
		atts int
	}{
		{&Packet{Type: Connect, Namespace: "/"}, "0", 0},
		{&Packet{Type: Connect, Namespace: "/", Data: []byte(`{"sid":"wZX3oN0bSVIhsaknAAAI"}`)}, `0{"sid":"wZX3oN0bSVIhsaknAAAI"}`, 0},
		{&Packet{Type: Connect, Namespace: "/admin"}, "0/admin,", 0},
		{&Packet{Type: ConnectError, Namespace: "/", Data: []byte(`{"message":"Not authorized"}`)}, `4{"message":"Not authorized"}`, 0},
		{mustEvent("/", "foo"), `2["foo"]`, 0},
		{mustEvent("/admin", "bar"), `2/admin,["bar"]`, 0},
		{mustEvent("/", "baz", []byte{1, 2, 3, 4}), `51-["baz",{"_placeholder":true,"num":0}]`, 1},
		{mustEvent("/admin", "baz", []byte{1, 2}, []byte{3, 4}), `52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, 2},
		{withID(mustEvent("/", "foo"), 12), `212["foo"]`, 0},
		{ack("/", 12), `312[]`, 0},
		{withID(mustEvent("/admin", "foo"), 13), `2/admin,13["foo"]`, 0},
		{ack("/admin", 13, "bar"), `3/admin,13["bar"]`, 0},
		{withID(mustEvent("/", "foo", []byte{1, 2, 3, 4}), 14), `51-14["foo",{"_placeholder":true,"num":0}]`, 1},
		{ack("/", 15, "bar", []byte{1, 2, 3, 4}), `61-15["bar",{"_placeholder":true,"num":0}]`, 1},
		{&Packet{Type: Disconnect, Namespace: "/"}, "1", 0},
		{&Packet{Type: Disconnect, Namespace: "/admin"}, "1/admin,", 0},
	}
	for _, c := range cases {
		if got := string(AppendText(nil, c.p)); got != c.text || len(c.p.Attachments) != c.atts {
			t.Errorf("got %s with %d attachments, want %s with %d", got, len(c.p.Attachments), c.text, c.atts)
		}
		// And back.
		var d Decoder
		p, err := d.Text([]byte(c.text))
		for _, a := range c.p.Attachments {
			if err != nil {
				break
			}
			p, err = d.Binary(a)
		}
		if err != nil || p == nil {
			t.Errorf("decoding %s: %v", c.text, err)
			continue
		}
		if p.Type != c.p.Type || p.Namespace != c.p.Namespace || p.ID != c.p.ID || p.HasID != c.p.HasID ||
			!bytes.Equal(p.Data, c.p.Data) || len(p.Attachments) != len(c.p.Attachments) {
			t.Errorf("decoding %s: %+v", c.text, p)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	for _, in := range []string{
		"", "7", "a", "/", "2", "3", "4",
		`1["x"]`, `0[]`, `0"x"`, `4[]`, `4 1`, `3{}`, `2{}`, `2[]`, `2[{}]`, `2[true]`, `2[null]`,
		`2["connect"]`, `2["disconnect"]`, `2["connect_error"]`, `2["disconnecting"]`, `2["newListener"]`, `2["removeListener"]`,
		`2["a"`, `2["a"]x`, `5["a"]`, `5-["a"]`, `5x-["a"]`, `511-["a"]`, `599999-["a"]`,
		`29007199254740992["a"]`, `212345678901234567["a"]`,
	} {
		if _, _, err := DecodeText([]byte(in), Limits{}); err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: err %v", in, err)
		}
	}
	for _, in := range []string{`2[1]`, `2["a",{"b":[1]}]`, `2/chat,7["msg"]`, `0{"token":"x"}`, `4"refused"`, `3[]`, `29007199254740991["a"]`, `510-["a"]`, `0/a`, `1/x,`} {
		if _, _, err := DecodeText([]byte(in), Limits{}); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
	if _, _, err := DecodeText([]byte(`511-["a"]`), Limits{MaxAttachments: 11}); err != nil {
		t.Errorf("raised attachment limit: %v", err)
	}
	if _, _, err := DecodeText([]byte(`511-["a"]`), Limits{}); !errors.Is(err, ErrTooManyAttachments) {
		t.Errorf("over the attachment limit: %v", err)
	}
}

func TestDecoderBinary(t *testing.T) {
	var d Decoder
	if p, err := d.Text([]byte(`52-/x,9["up",{"_placeholder":true,"num":1},{"k":{"_placeholder":true,"num":0}}]`)); p != nil || err != nil || !d.Pending() {
		t.Fatalf("%v %v", p, err)
	}
	if _, err := d.Text([]byte(`2["x"]`)); err == nil {
		t.Error("text accepted while attachments are due")
	}
	d2 := Decoder{}
	if _, err := d2.Binary([]byte{1}); !errors.Is(err, ErrUnexpectedBinary) {
		t.Errorf("binary without a packet: %v", err)
	}
	p, err := d.Binary([]byte{0xa})
	if p != nil || err != nil {
		t.Fatal(p, err)
	}
	if p, err = d.Binary([]byte{0xb, 0xc}); err != nil || p == nil || d.Pending() {
		t.Fatal(p, err)
	}
	name, args, err := ParseEvent(p)
	if err != nil || name != "up" || args.Len() != 2 {
		t.Fatalf("%q %d %v", name, args.Len(), err)
	}
	var first []byte
	var second struct{ K []byte }
	if err := args.Decode(0, &first); err != nil || !bytes.Equal(first, []byte{0xb, 0xc}) {
		t.Errorf("first %v %v", first, err)
	}
	if err := args.Decode(1, &second); err != nil || !bytes.Equal(second.K, []byte{0xa}) {
		t.Errorf("second %+v %v", second, err)
	}
	vals, err := args.Values()
	if err != nil || !bytes.Equal(vals[0].([]byte), []byte{0xb, 0xc}) || !bytes.Equal(vals[1].(map[string]any)["k"].([]byte), []byte{0xa}) {
		t.Errorf("values %v %v", vals, err)
	}
}

func TestDecoderBadPlaceholders(t *testing.T) {
	for _, text := range []string{
		`51-["a",{"_placeholder":true,"num":1}]`,
		`51-["a",{"_placeholder":true,"num":-1}]`,
		`51-["a",{"_placeholder":true,"num":0.5}]`,
		`51-["a",{"_placeholder":true,"num":"0"}]`,
		`51-["a",{"_placeholder":true}]`,
	} {
		var d Decoder
		if _, err := d.Text([]byte(text)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Binary([]byte{1}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", text, err)
		}
	}
}

func TestDecoderAttachmentBytesLimit(t *testing.T) {
	d := Decoder{Limits: Limits{MaxAttachmentBytes: 10}}
	if _, err := d.Text([]byte(`52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Binary(make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Binary(make([]byte, 5)); !errors.Is(err, ErrAttachmentsTooBig) || d.Pending() {
		t.Errorf("over the byte limit: %v", err)
	}
}

// Zero attachments: a binary packet that is complete at once.
func TestDecoderZeroAttachments(t *testing.T) {
	var d Decoder
	p, err := d.Text([]byte(`50-["a"]`))
	if err != nil || p == nil || p.Type != BinaryEvent || d.Pending() {
		t.Fatalf("%v %v", p, err)
	}
}

type inner struct {
	Blob []byte `json:"blob"`
	Note string `json:"note,omitempty"`
}

type outer struct {
	Name  string            `json:"name"`
	Parts []inner           `json:"parts"`
	Meta  map[string]any    `json:"meta"`
	Skip  string            `json:"-"`
	Empty []string          `json:"empty,omitempty"`
	Ptr   *inner            `json:"ptr"`
	Extra map[string][]byte `json:"extra"`
}

func TestEncodeNestedBinary(t *testing.T) {
	v := outer{
		Name:  "n<>&",
		Parts: []inner{{Blob: []byte{1}}, {Blob: []byte{2}, Note: "x"}},
		Meta:  map[string]any{"b": []byte{3}, "a": []any{1.5, []byte{4}}},
		Skip:  "no",
		Extra: map[string][]byte{"z": {5}},
	}
	p, err := NewEvent("/", "ev", v, 7, "s\n\"\x01é", nil, true, 1e21, 1e-7)
	if err != nil {
		t.Fatal(err)
	}
	want := `["ev",{"name":"n<>&","parts":[{"blob":{"_placeholder":true,"num":0}},{"blob":{"_placeholder":true,"num":1},"note":"x"}],` +
		`"meta":{"a":[1.5,{"_placeholder":true,"num":2}],"b":{"_placeholder":true,"num":3}},"ptr":null,"extra":{"z":{"_placeholder":true,"num":4}}},` +
		`7,"s\n\"\u0001é",null,true,1e+21,1e-7]`
	if string(p.Data) != want {
		t.Errorf("got  %s\nwant %s", p.Data, want)
	}
	if p.Type != BinaryEvent || len(p.Attachments) != 5 {
		t.Fatalf("type %v, %d attachments", p.Type, len(p.Attachments))
	}
	for i, a := range p.Attachments {
		if len(a) != 1 || a[0] != []byte{1, 2, 4, 3, 5}[i] {
			t.Errorf("attachment %d = %v", i, a)
		}
	}
	// Round trip into the same type.
	_, args, err := ParseEvent(p)
	if err != nil {
		t.Fatal(err)
	}
	var back outer
	if err := args.Decode(0, &back); err != nil {
		t.Fatal(err)
	}
	if back.Name != v.Name || !bytes.Equal(back.Parts[1].Blob, []byte{2}) || !bytes.Equal(back.Extra["z"], []byte{5}) {
		t.Errorf("round trip %+v", back)
	}
	var n int
	var s string
	if err := args.Decode(1, &n); err != nil || n != 7 {
		t.Errorf("int %d %v", n, err)
	}
	if err := args.Decode(2, &s); err != nil || s != "s\n\"\x01é" {
		t.Errorf("string %q %v", s, err)
	}
	if err := args.Decode(1, &s); !errors.Is(err, ErrArgType) {
		t.Errorf("type mismatch: %v", err)
	}
	if err := args.Decode(99, &s); err != nil {
		t.Errorf("missing argument: %v", err)
	}
}

// Attachments under any inside typed targets arrive as []byte too.
func TestDecodeBinaryUnderAny(t *testing.T) {
	p, err := NewEvent("/", "x", map[string]any{"list": []any{1, map[string]any{"small": []byte{1, 2}}}, "b": []byte{3}})
	if err != nil {
		t.Fatal(err)
	}
	_, args, _ := ParseEvent(p)
	var m map[string]any
	if err := args.Decode(0, &m); err != nil {
		t.Fatal(err)
	}
	if b, _ := m["b"].([]byte); !bytes.Equal(b, []byte{3}) {
		t.Errorf("map: b = %#v", m["b"])
	}
	var s struct {
		List []any
		B    []byte
		Opt  *[]byte `json:"b2"`
	}
	if err := args.Decode(0, &s); err != nil {
		t.Fatal(err)
	}
	small, _ := s.List[1].(map[string]any)["small"].([]byte)
	if !bytes.Equal(small, []byte{1, 2}) || !bytes.Equal(s.B, []byte{3}) || s.List[0] != 1.0 {
		t.Errorf("struct: %#v", s)
	}
	var wrong struct{ B int }
	if err := args.Decode(0, &wrong); !errors.Is(err, ErrArgType) {
		t.Errorf("binary into int: %v", err)
	}
}

func TestParseArgsScalars(t *testing.T) {
	p := &Packet{Type: Ack, Data: []byte(`[1, -2.5e3 ,true,null,"s]",{"a":[1]},[2],3]`)}
	args, err := ParseArgs(p)
	if err != nil || args.Len() != 8 {
		t.Fatalf("%d %v", args.Len(), err)
	}
	want := []string{`1`, `-2.5e3`, `true`, `null`, `"s]"`, `{"a":[1]}`, `[2]`, `3`}
	for i, w := range want {
		if string(args.Raw(i)) != w {
			t.Errorf("arg %d = %s, want %s", i, args.Raw(i), w)
		}
	}
}

func TestEncodeStrings(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                `"plain"`,
		"\u2028":               "\"\u2028\"",
		"\xff":                 `"\ufffd"`,
		"tab\there":            `"tab\there"`,
		"\x1f\b\f\r":           `"\u001f\b\f\r"`,
		strings.Repeat("é", 3): `"ééé"`,
	} {
		if got := string(appendString(nil, in)); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}
