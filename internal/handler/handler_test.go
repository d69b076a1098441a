package handler

import (
	"encoding/json"
	"errors"
	"testing"
)

type ack func(args ...any) error

// args is a JSON array standing in for sioparser.Args.
type args []json.RawMessage

func (a args) Decode(i int, v any) error {
	if i >= len(a) {
		return errors.New("missing")
	}
	return json.Unmarshal(a[i], v)
}

func parse(s string) args {
	var a args
	_ = json.Unmarshal([]byte(s), &a)
	return a
}

func TestCall(t *testing.T) {
	var got []any
	a := ack(func(v ...any) error { got = append(got, v...); return nil })
	typed := New[ack, args](func(n int, s string, done ack) { _ = done(n+1, s) })
	if err := typed.Call(parse(`[1,"x"]`), a); err != nil || len(got) != 2 || got[0] != 2 || got[1] != "x" {
		t.Fatalf("typed: %v %v", err, got)
	}
	if err := typed.Call(parse(`["no","x"]`), a); !errors.Is(err, ErrType) {
		t.Fatalf("mismatch: %v", err)
	}
	calls := 0
	for _, fn := range []any{
		func() { calls++ },
		func(ack) { calls++ },
		func(args) { calls++ },
		func(args, ack) { calls++ },
		func(r args) { calls += len(r) - 1 }, // same shape, checks the raw value
	} {
		h := New[ack, args](fn)
		if h.direct == nil {
			t.Fatalf("%T not called directly", fn)
		}
		if err := h.Call(parse(`[1,2]`), a); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 5 {
		t.Fatalf("%d calls", calls)
	}
}

func TestNewPanics(t *testing.T) {
	for _, fn := range []any{42, func(...int) {}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%T) did not panic", fn)
				}
			}()
			New[ack, args](fn)
		}()
	}
}

func TestList(t *testing.T) {
	f1, f2 := func() {}, func(int) {}
	once := New[ack, args](f2)
	once.Once = true
	l := List[ack, args]{New[ack, args](f1), once, New[ack, args](f1)}
	if !l.HasOnce() || len(l.WithoutOnce()) != 2 || l.WithoutOnce().HasOnce() {
		t.Fatal("once")
	}
	if w := l.Without(f1); len(w) != 2 || w[0] != once {
		t.Fatal("Without removes the first match only")
	}
	if l.Without(nil) != nil || len(l) != 3 {
		t.Fatal("Without(nil) empties; l unchanged")
	}
}
