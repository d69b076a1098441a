package socketio

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/wsio/wsio/sioparser"
)

// Ack answers an event that asked for an acknowledgement. Only the first
// call sends; later ones return ErrAlreadyAcked.
type Ack func(args ...any) error

// ErrAlreadyAcked is returned by an Ack called a second time.
var ErrAlreadyAcked = errors.New("socketio: event already acknowledged")

// ErrNoAck is returned by the Ack given to a handler whose event asked for
// no acknowledgement; nothing is sent.
var ErrNoAck = errors.New("socketio: the event asked for no acknowledgement")

func noAck(...any) error { return ErrNoAck }

// ErrHandlerType is wrapped by the error reported when a handler's
// parameters do not fit an event's arguments.
var ErrHandlerType = errors.New("socketio: arguments do not fit the handler")

var (
	ackType  = reflect.TypeFor[Ack]()
	argsType = reflect.TypeFor[sioparser.Args]()
)

// handler is an event handler: a func whose parameters are decoded from
// the event's arguments. A last parameter of type Ack answers the event;
// a single parameter of type sioparser.Args receives the raw arguments.
type handler struct {
	direct func(sioparser.Args, Ack) // set for the shapes called without reflection
	fn     reflect.Value
	in     []reflect.Type
	ack    bool // the last parameter is an Ack
	raw    bool // the (non-ack) parameter is sioparser.Args
	once   bool
	id     uintptr
}

// newHandler checks fn's shape. It panics, as a programming error, when fn
// is not a function or has a variadic parameter: handlers are set up at
// start, never from client input.
func newHandler(fn any) *handler {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func {
		panic(fmt.Sprintf("socketio: handler must be a func, not %v", t))
	}
	if t.IsVariadic() {
		panic("socketio: variadic handlers are not supported; take sioparser.Args instead")
	}
	h := &handler{fn: v, id: v.Pointer()}
	switch f := fn.(type) {
	case func():
		h.direct = func(sioparser.Args, Ack) { f() }
	case func(Ack):
		h.direct = func(_ sioparser.Args, a Ack) { f(a) }
	case func(sioparser.Args):
		h.direct = func(args sioparser.Args, _ Ack) { f(args) }
	case func(sioparser.Args, Ack):
		h.direct = f
	}
	for i := range t.NumIn() {
		h.in = append(h.in, t.In(i))
	}
	if n := len(h.in); n > 0 && h.in[n-1] == ackType {
		h.ack = true
		h.in = h.in[:n-1]
	}
	if len(h.in) == 1 && h.in[0] == argsType {
		h.raw = true
	}
	return h
}

// call decodes args into the handler's parameters and calls it. ack is
// passed for a handler that takes one (a no-op when the event asked for no
// acknowledgement).
func (h *handler) call(args sioparser.Args, ack Ack) error {
	if h.direct != nil {
		if ack == nil {
			ack = noAck
		}
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
				return fmt.Errorf("%w: %w", ErrHandlerType, err)
			}
			in = append(in, p.Elem())
		}
	}
	if h.ack {
		if ack == nil {
			ack = noAck
		}
		in = append(in, reflect.ValueOf(ack))
	}
	h.fn.Call(in)
	return nil
}

// callValues calls the handler with Go values (server-side events, from
// this process or another server): they go through JSON, so that typed
// parameters decode as they do from a client.
func (h *handler) callValues(values []any, ack Ack) error {
	p, err := sioparser.NewAck("/", 0, values...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandlerType, err)
	}
	args, err := sioparser.ParseArgs(p)
	if err != nil {
		return err
	}
	return h.call(args, ack)
}

// handlerList is a set of handlers for one event, in registration order.
type handlerList []*handler

func (l handlerList) without(fn any) handlerList {
	if fn == nil {
		return nil
	}
	id := reflect.ValueOf(fn).Pointer()
	out := make(handlerList, 0, len(l))
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

func (l handlerList) hasOnce() bool {
	for _, h := range l {
		if h.once {
			return true
		}
	}
	return false
}

func (l handlerList) withoutOnce() handlerList {
	out := make(handlerList, 0, len(l))
	for _, h := range l {
		if !h.once {
			out = append(out, h)
		}
	}
	return out
}
