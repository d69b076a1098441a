package peers

import (
	"context"
	"net/http"

	"github.com/wsio/wsio/websocket"
)

var wsioLib = Lib{
	Name:    "wsio",
	Module:  "github.com/wsio/wsio",
	Handler: wsioHandler,
	Dial:    wsioDial,
}

func wsioMode(compress bool) websocket.CompressionMode {
	if compress {
		return websocket.CompressionNoContextTakeover
	}
	return websocket.CompressionDisabled
}

func wsioHandler(o ServerOptions) http.Handler {
	opts := &websocket.AcceptOptions{
		InsecureSkipVerify: true,
		Compression:        wsioMode(o.Compress),
		ReadLimit:          ReadLimit,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		run(o, func() {
			defer c.CloseNow()
			ctx := context.Background()
			var buf []byte
			for {
				typ, p, err := c.ReadAppend(ctx, buf[:0])
				if err != nil {
					return
				}
				buf = p
				if err := c.Write(ctx, typ, p); err != nil {
					return
				}
			}
		})
	})
}

type wsioClient struct {
	c   *websocket.Conn
	buf []byte
}

func wsioDial(ctx context.Context, url string, compress bool) (Client, error) {
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Compression: wsioMode(compress),
		ReadLimit:   ReadLimit,
	})
	if err != nil {
		return nil, err
	}
	return &wsioClient{c: c}, nil
}

func (w *wsioClient) Echo(p []byte) error {
	ctx := context.Background()
	if err := w.c.Write(ctx, websocket.MessageBinary, p); err != nil {
		return err
	}
	_, b, err := w.c.ReadAppend(ctx, w.buf[:0])
	w.buf = b
	if err != nil {
		return err
	}
	return checkLen(len(b), len(p))
}

func (w *wsioClient) Close() error { return w.c.CloseNow() }
