package sioparser

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// NewEvent returns an EVENT packet for namespace nsp with the event name and
// arguments; any []byte among them, at any depth, becomes a binary
// attachment and the packet a BINARY_EVENT.
func NewEvent(nsp, event string, args ...any) (*Packet, error) {
	data := appendString(append(make([]byte, 0, 64), '['), event)
	return newArgsPacket(Event, nsp, data, args)
}

// NewAck returns the ACK packet answering id with args.
func NewAck(nsp string, id uint64, args ...any) (*Packet, error) {
	p, err := newArgsPacket(Ack, nsp, append(make([]byte, 0, 32), '['), args)
	if err != nil {
		return nil, err
	}
	p.ID, p.HasID = id, true
	return p, nil
}

func newArgsPacket(t Type, nsp string, data []byte, args []any) (*Packet, error) {
	var atts [][]byte
	var err error
	for i, a := range args {
		if i > 0 || len(data) > 1 {
			data = append(data, ',')
		}
		if data, err = appendValue(data, a, &atts); err != nil {
			return nil, err
		}
	}
	data = append(data, ']')
	p := &Packet{Type: t, Namespace: nsp, Data: data}
	if len(atts) > 0 {
		p.Type += BinaryEvent - Event // EVENT→BINARY_EVENT, ACK→BINARY_ACK
		p.Attachments = atts
	}
	return p, nil
}

// MarshalJSON appends v as JSON as JSON.stringify would write it (no HTML
// escaping), with every []byte at any depth replaced by a placeholder and
// appended to atts.
func MarshalJSON(dst []byte, v any, atts *[][]byte) ([]byte, error) {
	return appendValue(dst, v, atts)
}

func appendValue(dst []byte, v any, atts *[][]byte) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, x), nil
	case []byte:
		return appendPlaceholder(dst, x, atts), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case float64:
		return appendFloat(dst, x, 64), nil
	case float32:
		return appendFloat(dst, float64(x), 32), nil
	case json.RawMessage:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return append(dst, x...), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, e, atts); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendString(dst, k), ':')
			var err error
			if dst, err = appendValue(dst, x[k], atts); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	return appendReflect(dst, reflect.ValueOf(v), atts)
}

func appendPlaceholder(dst, b []byte, atts *[][]byte) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(len(*atts)), 10)
	*atts = append(*atts, b)
	return append(dst, '}')
}

// appendFloat writes f as JavaScript prints a number; NaN and infinities
// become null, as JSON.stringify makes them.
func appendFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// 1e-07 → 1e-7, as JavaScript writes exponents.
		if n := len(dst); n-start >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way JSON.stringify does:
// quotes, backslashes and control characters escaped, nothing else. Bytes
// that are not UTF-8 become U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

// holdsBytes caches, per type, whether a value of it may contain a []byte
// to turn into an attachment; types that cannot go to encoding/json whole.
var holdsBytes sync.Map // reflect.Type → bool

func mayHoldBytes(t reflect.Type) bool {
	if v, ok := holdsBytes.Load(t); ok {
		return v.(bool)
	}
	holdsBytes.Store(t, false) // breaks cycles in recursive types
	r := computeHoldsBytes(t)
	holdsBytes.Store(t, r)
	return r
}

func computeHoldsBytes(t reflect.Type) bool {
	if t.Implements(marshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.Uint8 || mayHoldBytes(t.Elem())
	case reflect.Array, reflect.Pointer, reflect.Map:
		return mayHoldBytes(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && mayHoldBytes(f.Type) {
				return true
			}
		}
	}
	return false
}

// appendReflect writes values of other types: with encoding/json when they
// cannot hold a []byte, field by field otherwise.
func appendReflect(dst []byte, v reflect.Value, atts *[][]byte) ([]byte, error) {
	if !v.IsValid() {
		return append(dst, "null"...), nil
	}
	t := v.Type()
	if !mayHoldBytes(t) {
		return appendStd(dst, v.Interface())
	}
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		return appendReflect(dst, v.Elem(), atts)
	case reflect.Slice:
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return appendPlaceholder(dst, v.Bytes(), atts), nil
		}
		fallthrough
	case reflect.Array:
		dst = append(dst, '[')
		for i := range v.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendReflect(dst, v.Index(i), atts); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case reflect.Map:
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		type kv struct {
			k string
			v reflect.Value
		}
		var entries []kv
		for it := v.MapRange(); it.Next(); {
			k, err := mapKey(it.Key())
			if err != nil {
				return dst, err
			}
			entries = append(entries, kv{k, it.Value()})
		}
		slices.SortFunc(entries, func(a, b kv) int { return strings.Compare(a.k, b.k) })
		dst = append(dst, '{')
		for i, e := range entries {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendString(dst, e.k), ':')
			var err error
			if dst, err = appendReflect(dst, e.v, atts); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case reflect.Struct:
		return appendStruct(dst, v, atts)
	}
	return appendStd(dst, v.Interface())
}

func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	b, err := json.Marshal(k.Interface())
	if err != nil {
		return "", err
	}
	return strings.Trim(string(b), `"`), nil
}

// field is one JSON field of a struct.
type field struct {
	name      string
	index     []int
	omitEmpty bool
}

var structFields sync.Map // reflect.Type → []field

// fieldsOf lists t's JSON fields by encoding/json's main rules: exported
// fields, the json tag's name, "-" and omitempty, embedded structs without
// a name flattened.
func fieldsOf(t reflect.Type) []field {
	if f, ok := structFields.Load(t); ok {
		return f.([]field)
	}
	var out []field
	seen := map[string]bool{}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(slices.Clone(index), i)
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, idx)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, field{name: name, index: idx, omitEmpty: strings.Contains(opts, "omitempty")})
		}
	}
	walk(t, nil)
	structFields.Store(t, out)
	return out
}

func appendStruct(dst []byte, v reflect.Value, atts *[][]byte) ([]byte, error) {
	dst = append(dst, '{')
	n := 0
	for _, f := range fieldsOf(v.Type()) {
		fv, err := v.FieldByIndexErr(f.index)
		if err != nil {
			continue // through a nil embedded pointer
		}
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(appendString(dst, f.name), ':')
		if dst, err = appendReflect(dst, fv, atts); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendStd writes v with encoding/json, without HTML escaping.
func appendStd(dst []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...), nil
}

// isEmpty is encoding/json's notion of an empty value for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return v.IsZero()
}
