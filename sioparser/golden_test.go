package sioparser

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
)

// golden is one vector recorded from the npm socket.io-parser (see
// interop/node/sio-vectors.mjs).
type golden struct {
	Input struct {
		Type Type            `json:"type"`
		Nsp  string          `json:"nsp"`
		ID   *uint64         `json:"id"`
		Data json.RawMessage `json:"data"`
	} `json:"input"`
	Text        string   `json:"text"`
	Attachments []string `json:"attachments"`
}

// fromInput turns the vector's data, where buffers are {"$bin": base64},
// into Go values with []byte.
func fromInput(t *testing.T, v any) any {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["$bin"].(string); ok && len(x) == 1 {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		for k, e := range x {
			x[k] = fromInput(t, e)
		}
	case []any:
		for i, e := range x {
			x[i] = fromInput(t, e)
		}
	}
	return v
}

func TestGoldenVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []golden
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) < 10 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	for _, v := range vectors {
		var data any
		if v.Input.Data != nil {
			dec := json.NewDecoder(bytes.NewReader(v.Input.Data))
			dec.UseNumber()
			if err := dec.Decode(&data); err != nil {
				t.Fatal(err)
			}
			data = fromInput(t, numbers(data))
		}
		var p *Packet
		switch v.Input.Type {
		case Event:
			args := data.([]any)
			p, err = NewEvent(v.Input.Nsp, args[0].(string), args[1:]...)
			if v.Input.ID != nil {
				p.ID, p.HasID = *v.Input.ID, true
			}
		case Ack:
			p, err = NewAck(v.Input.Nsp, *v.Input.ID, data.([]any)...)
		default:
			p = &Packet{Type: v.Input.Type, Namespace: v.Input.Nsp}
			if data != nil {
				p.Data, err = MarshalJSON(nil, data, new([][]byte))
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", v.Text, err)
		}
		if got := string(AppendText(nil, p)); got != v.Text {
			t.Errorf("encoded %s\n      want %s", got, v.Text)
		}
		if len(p.Attachments) != len(v.Attachments) {
			t.Errorf("%s: %d attachments, want %d", v.Text, len(p.Attachments), len(v.Attachments))
			continue
		}
		// And the reference encoding decodes to the same packet.
		var d Decoder
		got, err := d.Text([]byte(v.Text))
		for i, a := range v.Attachments {
			b, _ := base64.StdEncoding.DecodeString(a)
			if !bytes.Equal(b, p.Attachments[i]) {
				t.Errorf("%s: attachment %d differs", v.Text, i)
			}
			if err == nil {
				got, err = d.Binary(b)
			}
		}
		if err != nil || got == nil || got.Type != p.Type || got.Namespace != p.Namespace || got.ID != p.ID ||
			got.HasID != p.HasID || !bytes.Equal(got.Data, p.Data) {
			t.Errorf("decoding %s: %+v %v", v.Text, got, err)
		}
	}
}

// numbers turns json.Number into int64 when whole, float64 otherwise, so
// that the Go encoder sees what a Go program would pass.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}
