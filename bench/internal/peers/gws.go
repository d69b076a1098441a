package peers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/lxzan/gws"
)

var gwsLib = Lib{
	Name:    "gws",
	Module:  "github.com/lxzan/gws",
	Handler: gwsHandler,
	Dial:    gwsDial,
}

// gwsDeflate is permessage-deflate without context takeover on both sides.
func gwsDeflate(compress bool) gws.PermessageDeflate {
	return gws.PermessageDeflate{
		Enabled:               compress,
		ServerContextTakeover: false,
		ClientContextTakeover: false,
	}
}

// gwsEcho answers every message from inside gws's read loop, the library's
// event model.
type gwsEcho struct{ gws.BuiltinEventHandler }

func (gwsEcho) OnMessage(socket *gws.Conn, msg *gws.Message) {
	_ = socket.WriteMessage(msg.Opcode, msg.Bytes())
	_ = msg.Close()
}

func gwsHandler(o ServerOptions) http.Handler {
	up := gws.NewUpgrader(gwsEcho{}, &gws.ServerOption{
		PermessageDeflate:  gwsDeflate(o.Compress),
		ReadMaxPayloadSize: ReadLimit,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		socket, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		run(o, socket.ReadLoop)
	})
}

// gwsReceiver hands each received message's length to the waiting Echo.
type gwsReceiver struct {
	gws.BuiltinEventHandler
	got    chan int
	closed chan struct{}
}

func (g *gwsReceiver) OnMessage(_ *gws.Conn, msg *gws.Message) {
	n := msg.Data.Len()
	_ = msg.Close()
	g.got <- n
}

func (g *gwsReceiver) OnClose(*gws.Conn, error) { close(g.closed) }

type gwsClient struct {
	c *gws.Conn
	r *gwsReceiver
}

func gwsDial(ctx context.Context, url string, compress bool) (Client, error) {
	r := &gwsReceiver{got: make(chan int), closed: make(chan struct{})}
	opt := &gws.ClientOption{
		Addr:               url,
		PermessageDeflate:  gwsDeflate(compress),
		ReadMaxPayloadSize: ReadLimit,
	}
	if dl, ok := ctx.Deadline(); ok {
		opt.NewDialer = func() (gws.Dialer, error) { return &gwsDialer{ctx: ctx}, nil }
		opt.HandshakeTimeout = max(time.Millisecond, time.Until(dl))
	}
	c, _, err := gws.NewClient(r, opt)
	if err != nil {
		return nil, err
	}
	go c.ReadLoop()
	return &gwsClient{c: c, r: r}, nil
}

var errGWSClosed = errors.New("gws: connection closed while waiting for the echo")

func (g *gwsClient) Echo(p []byte) error {
	if err := g.c.WriteMessage(gws.OpcodeBinary, p); err != nil {
		return err
	}
	select {
	case n := <-g.r.got:
		return checkLen(n, len(p))
	case <-g.r.closed:
		return errGWSClosed
	}
}

func (g *gwsClient) Close() error { return g.c.NetConn().Close() }

// gwsDialer lets the caller's context bound the TCP dial.
type gwsDialer struct{ ctx context.Context }

func (d *gwsDialer) Dial(network, addr string) (net.Conn, error) {
	var nd net.Dialer
	return nd.DialContext(d.ctx, network, addr)
}
