package sioparser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

var placeholderKey = []byte(`"_placeholder"`)

// checkPlaceholders verifies that every placeholder of a binary packet
// names one of its attachments, as the reference parser does when it
// rebuilds the packet.
func checkPlaceholders(p *Packet) error {
	if !bytes.Contains(p.Data, placeholderKey) {
		return nil
	}
	var v any
	if err := json.Unmarshal(p.Data, &v); err != nil {
		return invalid("payload is not JSON")
	}
	bad := false
	walkPlaceholders(v, len(p.Attachments), func(int) any { return nil }, &bad)
	if bad {
		return invalid("illegal attachments")
	}
	return nil
}

// placeholderIndex reports whether m is a placeholder, and its index.
// ok is false for a non-placeholder; valid is false for a placeholder whose
// index is not a whole number in [0, n).
func placeholderIndex(m map[string]any, n int) (idx int, ok, valid bool) {
	flag, has := m["_placeholder"]
	if !has || flag == false || flag == nil || flag == "" || flag == 0.0 {
		return 0, false, false
	}
	num, isNum := m["num"].(float64)
	if !isNum || num < 0 || num >= float64(n) || num != float64(int(num)) {
		return 0, true, false
	}
	return int(num), true, true
}

// walkPlaceholders replaces, in a value decoded into any, every
// placeholder with repl(index). bad is set for an invalid placeholder.
func walkPlaceholders(v any, n int, repl func(int) any, bad *bool) any {
	switch x := v.(type) {
	case map[string]any:
		if idx, ok, valid := placeholderIndex(x, n); ok {
			if !valid {
				*bad = true
				return nil
			}
			return repl(idx)
		}
		for k, e := range x {
			x[k] = walkPlaceholders(e, n, repl, bad)
		}
	case []any:
		for i, e := range x {
			x[i] = walkPlaceholders(e, n, repl, bad)
		}
	}
	return v
}

// Args are the arguments of an EVENT or ACK packet, decoded on demand
// into the Go values a handler asks for. Binary attachments appear as
// []byte wherever their placeholders were.
type Args struct {
	elems       [][]byte
	attachments [][]byte
}

// ErrArgType is wrapped by Decode's error when an argument cannot be
// decoded into the requested type.
var ErrArgType = errors.New("sioparser: argument does not fit the type")

// ParseEvent splits an EVENT packet's payload into its name and arguments.
// A numeric name is returned as its decimal text.
func ParseEvent(p *Packet) (name string, args Args, err error) {
	all, err := ParseArgs(p)
	if err != nil {
		return "", Args{}, err
	}
	if all.Len() == 0 {
		return "", Args{}, invalid("EVENT without a name")
	}
	first := all.elems[0]
	if firstByte(first) == '"' {
		if err := json.Unmarshal(first, &name); err != nil {
			return "", Args{}, invalid("bad event name")
		}
	} else {
		name = string(first)
	}
	all.elems = all.elems[1:]
	return name, all, nil
}

// ParseArgs splits a packet's array payload into its elements.
func ParseArgs(p *Packet) (Args, error) {
	b := p.Data
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return Args{}, invalid("payload is not an array")
	}
	i = skipSpace(b, i+1)
	var elems [][]byte
	for i < len(b) && b[i] != ']' {
		end := skipValue(b, i)
		elems = append(elems, b[i:end])
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return Args{elems: elems, attachments: p.Attachments}, nil
}

// NewArgs returns Args over raw JSON values and attachments, for tests and
// adapters that carry arguments themselves.
func NewArgs(elems []json.RawMessage, attachments [][]byte) Args {
	a := Args{attachments: attachments}
	for _, e := range elems {
		a.elems = append(a.elems, e)
	}
	return a
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.elems) }

// Raw returns argument i as JSON, with placeholders left in place.
func (a Args) Raw(i int) json.RawMessage { return a.elems[i] }

// Attachments returns the packet's binary attachments.
func (a Args) Attachments() [][]byte { return a.attachments }

// Decode decodes argument i into the value v points to, as encoding/json
// does, with binary attachments decoded into []byte (or into any, as
// []byte). A missing argument leaves v unchanged.
func (a Args) Decode(i int, v any) error {
	if i >= len(a.elems) {
		return nil
	}
	raw := a.elems[i]
	if !bytes.Contains(raw, placeholderKey) {
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("%w: argument %d: %w", ErrArgType, i, err)
		}
		return nil
	}
	switch t := v.(type) {
	case *[]byte:
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			if idx, ok, valid := placeholderIndex(m, len(a.attachments)); ok && valid {
				*t = a.attachments[idx]
				return nil
			}
		}
	case *any:
		var x any
		if err := json.Unmarshal(raw, &x); err != nil {
			return fmt.Errorf("%w: argument %d: %w", ErrArgType, i, err)
		}
		bad := false
		*t = walkPlaceholders(x, len(a.attachments), func(idx int) any { return a.attachments[idx] }, &bad)
		if bad {
			return invalid("illegal attachments")
		}
		return nil
	}
	// Any other type: decode generically with attachments as []byte, then
	// build the target from that tree, so that []byte fields and values
	// under any both get the bytes.
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		return fmt.Errorf("%w: argument %d: %w", ErrArgType, i, err)
	}
	bad := false
	x = walkPlaceholders(x, len(a.attachments), func(idx int) any { return a.attachments[idx] }, &bad)
	if bad {
		return invalid("illegal attachments")
	}
	dst := reflect.ValueOf(v)
	if dst.Kind() != reflect.Pointer || dst.IsNil() {
		return fmt.Errorf("%w: argument %d: Decode needs a non-nil pointer, got %T", ErrArgType, i, v)
	}
	if err := assign(dst.Elem(), x); err != nil {
		return fmt.Errorf("%w: argument %d: %w", ErrArgType, i, err)
	}
	return nil
}

// holdsAttachment reports whether a decoded tree contains a []byte.
func holdsAttachment(x any) bool {
	switch v := x.(type) {
	case []byte:
		return true
	case []any:
		for _, e := range v {
			if holdsAttachment(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if holdsAttachment(e) {
				return true
			}
		}
	}
	return false
}

// assign stores the decoded tree x into dst. Subtrees without attachments
// go through encoding/json, so they decode exactly as json.Unmarshal
// would; the path to each attachment is built here.
func assign(dst reflect.Value, x any) error {
	if !holdsAttachment(x) {
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, dst.Addr().Interface())
	}
	t := dst.Type()
	switch {
	case t.Kind() == reflect.Interface && reflect.TypeOf(x).AssignableTo(t):
		dst.Set(reflect.ValueOf(x))
		return nil
	case t.Kind() == reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := assign(p.Elem(), x); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	}
	switch v := x.(type) {
	case []byte:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			dst.SetBytes(v)
			return nil
		}
		if t.Kind() == reflect.String {
			dst.SetString(string(v))
			return nil
		}
	case []any:
		switch t.Kind() {
		case reflect.Slice:
			out := reflect.MakeSlice(t, len(v), len(v))
			for i, e := range v {
				if err := assign(out.Index(i), e); err != nil {
					return err
				}
			}
			dst.Set(out)
			return nil
		case reflect.Array:
			for i := 0; i < len(v) && i < t.Len(); i++ {
				if err := assign(dst.Index(i), v[i]); err != nil {
					return err
				}
			}
			return nil
		}
	case map[string]any:
		switch t.Kind() {
		case reflect.Map:
			if t.Key().Kind() != reflect.String {
				break
			}
			out := reflect.MakeMapWithSize(t, len(v))
			for k, e := range v {
				ev := reflect.New(t.Elem()).Elem()
				if err := assign(ev, e); err != nil {
					return err
				}
				out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
			}
			dst.Set(out)
			return nil
		case reflect.Struct:
			for _, f := range fieldsOf(t) {
				e, ok := v[f.name]
				if !ok {
					for k, ev := range v {
						if strings.EqualFold(k, f.name) {
							e, ok = ev, true
							break
						}
					}
				}
				if !ok {
					continue
				}
				fv, err := dst.FieldByIndexErr(f.index)
				if err != nil {
					continue
				}
				if err := assign(fv, e); err != nil {
					return fmt.Errorf("field %s: %w", f.name, err)
				}
			}
			return nil
		}
	}
	return fmt.Errorf("cannot decode %T holding binary data into %v", x, t)
}

// Values decodes every argument into any: JSON objects as map[string]any,
// arrays as []any, numbers as float64, attachments as []byte.
func (a Args) Values() ([]any, error) {
	out := make([]any, len(a.elems))
	for i := range a.elems {
		if err := a.Decode(i, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
