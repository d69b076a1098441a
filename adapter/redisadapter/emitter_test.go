package redisadapter

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter/adaptertest"
	"github.com/wsio/wsio/adapter/redisadapter/redistest"
)

func TestEmitter(t *testing.T) {
	r := redistest.Start(t)
	fs := cluster(t, r, 2, nil)
	h1 := adaptertest.NewHost(t, "/", fs[0])
	h2 := adaptertest.NewHost(t, "/", fs[1])
	admin := adaptertest.NewHost(t, "/admin", fs[1])
	a := h1.Add("a", "red")
	b := h2.Add("b")
	z := admin.Add("z")
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	e := NewEmitter(rdb, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := e.Emit(ctx, "hello", "world", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 3*time.Second, "emit to all", func() bool { return len(a.Received()) == 1 && len(b.Received()) == 1 })
	if got := a.Received()[0]; !strings.HasPrefix(got, `51-["hello","world",{"_placeholder":true,"num":0}]`) {
		t.Fatalf("packet %q", got)
	}
	_ = e.To("red").Emit(ctx, "red-only")
	_ = e.Of("admin").Emit(ctx, "admin-only")
	waitUntil(t, 3*time.Second, "emit to a room and a namespace", func() bool { return len(a.Received()) == 2 && len(z.Received()) == 1 })
	time.Sleep(100 * time.Millisecond)
	if len(b.Received()) != 1 {
		t.Fatalf("b got %q", b.Received())
	}
	_ = e.Except("red").SocketsJoin(ctx, "blue")
	waitUntil(t, 3*time.Second, "socketsJoin", func() bool { return slices.Contains(h2.Adapter().SocketRooms("b"), "blue") })
	if slices.Contains(h1.Adapter().SocketRooms("a"), "blue") {
		t.Fatal("except ignored")
	}
	_ = e.ServerSideEmit(ctx, "tick", 1)
	waitUntil(t, 3*time.Second, "serverSideEmit", func() bool { return len(h1.SSEs()) == 1 && len(h2.SSEs()) == 1 })
	_ = e.To("blue").DisconnectSockets(ctx, true)
	waitUntil(t, 3*time.Second, "disconnectSockets", func() bool { return b.WasDisconnected() })
	if a.WasDisconnected() {
		t.Fatal("a disconnected")
	}
}
