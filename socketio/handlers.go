package socketio

import (
	"errors"
	"fmt"

	"github.com/wsio/wsio/internal/handler"
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
var ErrHandlerType = handler.ErrType

// handlerList is the handlers of one event; newHandler checks a handler's
// shape (see internal/handler).
type (
	eventHandler = handler.Handler[Ack, sioparser.Args]
	handlerList  = handler.List[Ack, sioparser.Args]
)

func newHandler(fn any) *eventHandler { return handler.New[Ack, sioparser.Args](fn) }

// callValues calls h with Go values (server-side events, from this process
// or another server): they go through JSON, so that typed parameters
// decode as they do from a client.
func callValues(h *eventHandler, values []any, ack Ack) error {
	p, err := sioparser.NewAck("/", 0, values...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandlerType, err)
	}
	args, err := sioparser.ParseArgs(p)
	if err != nil {
		return err
	}
	return h.Call(args, ack)
}

// orNoAck is ack, or noAck for an event that asked for none.
func orNoAck(ack Ack) Ack {
	if ack == nil {
		return noAck
	}
	return ack
}
