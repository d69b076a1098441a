package peers

import (
	"bytes"
	"context"
	"net/http"

	"github.com/gorilla/websocket"
)

var gorillaLib = Lib{
	Name:    "gorilla",
	Module:  "github.com/gorilla/websocket",
	Handler: gorillaHandler,
	Dial:    gorillaDial,
}

// gorilla's permessage-deflate support is no-context-takeover only.
func gorillaHandler(o ServerOptions) http.Handler {
	up := &websocket.Upgrader{
		EnableCompression: o.Compress,
		CheckOrigin:       func(*http.Request) bool { return true },
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.SetReadLimit(ReadLimit)
		run(o, func() {
			defer c.Close()
			var buf bytes.Buffer
			for {
				typ, rd, err := c.NextReader()
				if err != nil {
					return
				}
				buf.Reset()
				if _, err := buf.ReadFrom(rd); err != nil {
					return
				}
				if err := c.WriteMessage(typ, buf.Bytes()); err != nil {
					return
				}
			}
		})
	})
}

type gorillaClient struct {
	c   *websocket.Conn
	buf bytes.Buffer
}

func gorillaDial(ctx context.Context, url string, compress bool) (Client, error) {
	d := &websocket.Dialer{EnableCompression: compress}
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(ReadLimit)
	return &gorillaClient{c: c}, nil
}

func (g *gorillaClient) Echo(p []byte) error {
	if err := g.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return err
	}
	_, rd, err := g.c.NextReader()
	if err != nil {
		return err
	}
	g.buf.Reset()
	if _, err := g.buf.ReadFrom(rd); err != nil {
		return err
	}
	return checkLen(g.buf.Len(), len(p))
}

func (g *gorillaClient) Close() error { return g.c.Close() }
