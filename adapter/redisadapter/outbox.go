package redisadapter

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// outQueue bounds the messages waiting for the publisher.
const outQueue = 4096

type outMsg struct {
	channel string
	msg     []byte
}

// outbox publishes an adapter's messages for the other servers, in order,
// on a goroutine of its own, so that no caller (a broadcast, a reply) ever
// waits for Redis: while Redis is away, messages fail one by one there,
// the first failure of an outage is logged, and local delivery goes on.
type outbox struct {
	// send publishes one message (PUBLISH or SPUBLISH).
	send    func(ctx context.Context, channel string, msg []byte) error
	timeout time.Duration
	stats   *Stats
	logger  *slog.Logger
	nsp     string
	stop    <-chan struct{} // closed by the adapter's Close

	out    chan outMsg
	done   chan struct{}
	outage atomic.Bool
}

// start runs the publisher until ctx ends.
func (o *outbox) start(ctx context.Context) {
	o.out, o.done = make(chan outMsg, outQueue), make(chan struct{})
	go o.run(ctx)
}

// wait waits for the publisher to end, after its ctx was cancelled.
func (o *outbox) wait() {
	if o.done != nil {
		<-o.done
	}
}

// publish queues msg for the publisher. A full queue drops the message.
func (o *outbox) publish(channel string, msg []byte) error {
	select {
	case <-o.stop:
		return ErrClosed
	default:
	}
	select {
	case o.out <- outMsg{channel, msg}:
		return nil
	default:
		o.stats.PublishErrors.Add(1)
		return ErrQueueFull
	}
}

// publishNow publishes at once (for requests whose caller waits for the
// answers anyway).
func (o *outbox) publishNow(channel string, msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if err := o.send(ctx, channel, msg); err != nil {
		o.failed(err)
		return fmt.Errorf("redisadapter: publish: %w", err)
	}
	o.recovered()
	return nil
}

func (o *outbox) run(ctx context.Context) {
	defer close(o.done)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-o.out:
			pctx, cancel := context.WithTimeout(ctx, o.timeout)
			err := o.send(pctx, m.channel, m.msg)
			cancel()
			if err != nil {
				o.failed(err)
			} else {
				o.recovered()
			}
		}
	}
}

// failed counts a message Redis did not take; the first of an outage is
// logged.
func (o *outbox) failed(err error) {
	o.stats.PublishErrors.Add(1)
	if o.outage.CompareAndSwap(false, true) {
		o.logger.Error("redisadapter: Redis unreachable: broadcasts reach this server's sockets only", "nsp", o.nsp, "err", err)
	}
}

func (o *outbox) recovered() {
	if o.outage.CompareAndSwap(true, false) {
		o.logger.Info("redisadapter: Redis reachable again", "nsp", o.nsp)
	}
}
