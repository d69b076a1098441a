package websocket_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wsio/wsio/websocket"
)

// An echo server and a client talking to it.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return // Accept has already answered with an HTTP error
		}
		defer c.CloseNow()
		ctx := context.Background() // not r.Context(): the request is over once hijacked
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	_, msg, err := c.Read(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(msg))
	_ = c.Close(websocket.StatusNormalClosure, "done")
	// Output: hello
}

// Accept with compression and an origin allow-list.
func ExampleAccept() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
			OriginPatterns: []string{"*.example.com"},
			Compression:    websocket.CompressionNoContextTakeover,
			ReadLimit:      64 << 10,
		})
		if err != nil {
			return
		}
		defer c.CloseNow()
		_ = c.Write(context.Background(), websocket.MessageText, []byte("welcome"))
		_ = c.Close(websocket.StatusNormalClosure, "")
	}
	_ = http.HandlerFunc(handler)
}

// Closing codes travel both ways; CloseStatus reads the peer's code.
func ExampleCloseStatus() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		_ = c.Close(4001, "maintenance")
	}))
	defer srv.Close()
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	_, _, err = c.Read(context.Background())
	fmt.Println(websocket.CloseStatus(err) == 4001)
	// Output: true
}

// A prepared message is framed once and written to many connections.
func ExampleNewPreparedMessage() {
	pm, err := websocket.NewPreparedMessage(websocket.MessageText, []byte(`{"event":"news"}`))
	if err != nil {
		log.Fatal(err)
	}
	var subscribers []*websocket.Conn // filled by an Accept handler
	for _, c := range subscribers {
		_ = c.WritePrepared(context.Background(), pm)
	}
	fmt.Println("sent to", len(subscribers))
	// Output: sent to 0
}
