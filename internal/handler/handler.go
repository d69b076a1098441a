// Package handler calls event handlers with typed parameters, for the
// Socket.IO server (socketio) and client (sioclient): a handler is a func
// whose parameters are decoded from an event's arguments (sioparser.Args:
// JSON, with []byte for binary attachments), with an optional last
// parameter of the package's Ack type. It depends on no other package of
// the module: the argument type is a type parameter.
package handler

import (
	"errors"
	"fmt"
	"reflect"
)

// ErrType is wrapped by the error Call returns when a handler's parameters
// do not fit an event's arguments.
var ErrType = errors.New("arguments do not fit the handler")

// Ack is the shape of an acknowledgement function.
type Ack interface{ ~func(args ...any) error }

// Args is the shape of an event's arguments (sioparser.Args).
type Args interface {
	// Decode decodes argument i into v, a pointer.
	Decode(i int, v any) error
}

// Handler is one event handler. A last parameter of type A answers the
// event; a single other parameter of type R receives the raw arguments.
type Handler[A Ack, R Args] struct {
	direct func(R, A) // the shapes called without reflection
	fn     reflect.Value
	in     []reflect.Type
	ack    bool // the last parameter is an A
	raw    bool // the (non-ack) parameter is an R
	Once   bool
	id     uintptr
}

// New checks fn's shape. It panics, as a programming error, when fn is not
// a function or has a variadic parameter: handlers are set up by the
// program, never from peer input.
func New[A Ack, R Args](fn any) *Handler[A, R] {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func {
		panic(fmt.Sprintf("handler must be a func, not %v", t))
	}
	if t.IsVariadic() {
		panic("variadic handlers are not supported; take sioparser.Args instead")
	}
	h := &Handler[A, R]{fn: v, id: v.Pointer()}
	switch f := fn.(type) {
	case func():
		h.direct = func(R, A) { f() }
	case func(A):
		h.direct = func(_ R, a A) { f(a) }
	case func(R):
		h.direct = func(args R, _ A) { f(args) }
	case func(R, A):
		h.direct = f
	}
	for i := range t.NumIn() {
		h.in = append(h.in, t.In(i))
	}
	if n := len(h.in); n > 0 && h.in[n-1] == reflect.TypeFor[A]() {
		h.ack = true
		h.in = h.in[:n-1]
	}
	if len(h.in) == 1 && h.in[0] == reflect.TypeFor[R]() {
		h.raw = true
	}
	return h
}

// Call decodes args into the handler's parameters and calls it with ack
// (which must not be nil) for a handler that takes one.
func (h *Handler[A, R]) Call(args R, ack A) error {
	if h.direct != nil {
		h.direct(args, ack)
		return nil
	}
	in := make([]reflect.Value, 0, len(h.in)+1)
	if h.raw {
		in = append(in, reflect.ValueOf(args))
	} else {
		for i, t := range h.in {
			p := reflect.New(t)
			if err := args.Decode(i, p.Interface()); err != nil {
				return fmt.Errorf("%w: %w", ErrType, err)
			}
			in = append(in, p.Elem())
		}
	}
	if h.ack {
		in = append(in, reflect.ValueOf(ack))
	}
	h.fn.Call(in)
	return nil
}

// List is the handlers of one event, in registration order. Its methods
// return new lists and never modify the receiver.
type List[A Ack, R Args] []*Handler[A, R]

// Without returns l without the first handler registered as fn, or an
// empty list when fn is nil.
func (l List[A, R]) Without(fn any) List[A, R] {
	if fn == nil {
		return nil
	}
	id := reflect.ValueOf(fn).Pointer()
	out := make(List[A, R], 0, len(l))
	removed := false
	for _, h := range l {
		if !removed && h.id == id {
			removed = true
			continue
		}
		out = append(out, h)
	}
	return out
}

// HasOnce reports whether a handler of l is to be called once only.
func (l List[A, R]) HasOnce() bool {
	for _, h := range l {
		if h.Once {
			return true
		}
	}
	return false
}

// WithoutOnce returns l without its once-only handlers.
func (l List[A, R]) WithoutOnce() List[A, R] {
	out := make(List[A, R], 0, len(l))
	for _, h := range l {
		if !h.Once {
			out = append(out, h)
		}
	}
	return out
}
