package peers

import (
	"bytes"
	"context"
	"net/http"

	"github.com/coder/websocket"
)

var coderLib = Lib{
	Name:    "coder",
	Module:  "github.com/coder/websocket",
	Handler: coderHandler,
	Dial:    coderDial,
}

func coderMode(compress bool) websocket.CompressionMode {
	if compress {
		return websocket.CompressionNoContextTakeover
	}
	return websocket.CompressionDisabled
}

func coderHandler(o ServerOptions) http.Handler {
	opts := &websocket.AcceptOptions{
		InsecureSkipVerify: true,
		CompressionMode:    coderMode(o.Compress),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		c.SetReadLimit(ReadLimit)
		run(o, func() {
			defer c.CloseNow()
			ctx := context.Background()
			var buf bytes.Buffer
			for {
				typ, rd, err := c.Reader(ctx)
				if err != nil {
					return
				}
				buf.Reset()
				if _, err := buf.ReadFrom(rd); err != nil {
					return
				}
				if err := c.Write(ctx, typ, buf.Bytes()); err != nil {
					return
				}
			}
		})
	})
}

type coderClient struct {
	c   *websocket.Conn
	buf bytes.Buffer
}

func coderDial(ctx context.Context, url string, compress bool) (Client, error) {
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: coderMode(compress)})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(ReadLimit)
	return &coderClient{c: c}, nil
}

func (k *coderClient) Echo(p []byte) error {
	ctx := context.Background()
	if err := k.c.Write(ctx, websocket.MessageBinary, p); err != nil {
		return err
	}
	_, rd, err := k.c.Reader(ctx)
	if err != nil {
		return err
	}
	k.buf.Reset()
	if _, err := k.buf.ReadFrom(rd); err != nil {
		return err
	}
	return checkLen(k.buf.Len(), len(p))
}

func (k *coderClient) Close() error { return k.c.CloseNow() }
