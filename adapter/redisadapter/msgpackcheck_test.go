package redisadapter

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestCheckMsgpack(t *testing.T) {
	good := []any{nil, true, 1, -1, 300, -70000, 1 << 40, 1.5, "", "héllo", []byte{1, 2, 3}, make([]byte, 70000),
		[]any{1, []any{"a", map[string]any{"k": []any{}}}}, map[string]any{"a": 1, "b": []byte{9}}}
	for _, v := range good {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkMsgpack(b); err != nil {
			t.Errorf("%v (% x): %v", v, b[:min(len(b), 8)], err)
		}
		if len(b) > 1 {
			if checkMsgpack(b[:len(b)-1]) == nil {
				t.Errorf("%v cut short passed", v)
			}
		}
		if checkMsgpack(append(b, 0)) == nil {
			t.Errorf("%v with a trailing byte passed", v)
		}
	}
	for _, b := range [][]byte{
		{0xdd, 0xbd, 0xbd, 0xbd, 0xbd}, // array32 of 3 billion
		{0xdf, 0xff, 0xff, 0xff, 0xff}, // map32
		{0xc6, 0x7f, 0xff, 0xff, 0xff}, // bin32 of 2 GB
		{0xc1},                         // never used
		{},
	} {
		if checkMsgpack(b) == nil {
			t.Errorf("% x passed", b)
		}
	}
	deep := make([]byte, 0, 200)
	for range 100 {
		deep = append(deep, 0x91)
	}
	deep = append(deep, 0xc0)
	if checkMsgpack(deep) == nil {
		t.Error("100 levels of nesting passed")
	}
}
