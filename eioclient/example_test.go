package eioclient_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/wsio/wsio/eioclient"
)

// Connect to an Engine.IO server (Node's engine.io or a Go one), send a
// message and print the echo. The session starts on long-polling and moves
// to WebSocket when the server offers it.
func Example() {
	echoed := make(chan string, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := eioclient.Dial(ctx, "http://127.0.0.1:3000", &eioclient.Options{
		OnMessage: func(data []byte, binary bool) {
			select {
			case echoed <- string(data):
			default:
			}
		},
		OnUpgrade: func(transport string) { fmt.Println("upgraded to", transport) },
		OnClose:   func(reason string, err error) { fmt.Println("closed:", reason, err) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		_ = c.Close()
		<-c.Done() // OnClose has run and the client's goroutines have ended
	}()
	if err := c.Send(ctx, []byte("hello"), false); err != nil {
		log.Fatal(err)
	}
	select {
	case msg := <-echoed:
		fmt.Println("echo:", msg)
	case <-ctx.Done():
		log.Fatal(ctx.Err())
	}
}
