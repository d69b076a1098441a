package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
)

func TestMiddlewareAndConnectError(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr []string) {
		srv := newServer(t, nil)
		admin := srv.Of("admin")
		var seen socketio.Handshake
		admin.Use(func(s *socketio.Socket) error {
			seen = s.Handshake()
			if s.Handshake().Auth["token"] != "secret" {
				return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"code": 42}}
			}
			return nil
		})
		admin.Use(func(s *socketio.Socket) error { s.SetData("checked"); return nil })
		connected := make(chan *socketio.Socket, 1)
		admin.OnConnection(func(s *socketio.Socket) { connected <- s })
		c := dial(t, srv, tr, "X-Test", "1")
		c.send(&sioparser.Packet{Type: sioparser.Connect, Namespace: "/admin", Data: []byte(`{"token":"wrong"}`)})
		p := c.next()
		if p.Type != sioparser.ConnectError || p.Namespace != "/admin" {
			t.Fatalf("%v %s", p.Type, p.Data)
		}
		var body struct {
			Message string         `json:"message"`
			Data    map[string]any `json:"data"`
		}
		_ = json.Unmarshal(p.Data, &body)
		if body.Message != "not authorized" || body.Data["code"] != 42.0 {
			t.Errorf("CONNECT_ERROR %s", p.Data)
		}
		if seen.Headers.Get("X-Test") != "1" || seen.Address != "127.0.0.1" || seen.Query.Get("EIO") != "4" || seen.Issued == 0 {
			t.Errorf("handshake %+v", seen)
		}
		body2 := c.connect("/admin", map[string]any{"token": "secret"})
		s := <-connected
		if body2["sid"] != s.ID() || s.Data() != "checked" || s.Namespace().Name() != "/admin" {
			t.Errorf("connected %v %v", body2, s.Data())
		}
	})
}

func TestInvalidNamespaceAndMultiplexing(t *testing.T) {
	srv := newServer(t, nil)
	srv.Of("/a").OnConnection(func(s *socketio.Socket) { s.On("who", func(ack socketio.Ack) { _ = ack("a") }) })
	srv.Of("/b").OnConnection(func(s *socketio.Socket) { s.On("who", func(ack socketio.Ack) { _ = ack("b") }) })
	c := dial(t, srv, transports["upgrade"])
	c.send(&sioparser.Packet{Type: sioparser.Connect, Namespace: "/nope"})
	if p := c.next(); p.Type != sioparser.ConnectError || string(p.Data) != `{"message":"Invalid namespace"}` {
		t.Fatalf("%v %s", p.Type, p.Data)
	}
	sa := c.connect("/a", nil)["sid"]
	sb := c.connect("/b", nil)["sid"]
	if sa == sb {
		t.Error("same sid in two namespaces")
	}
	c.emitAck("/b", 1, "who")
	c.emitAck("/a", 2, "who")
	for range 2 {
		p := c.next()
		want := map[string]string{"/a": `["a"]`, "/b": `["b"]`}[p.Namespace]
		if p.Type != sioparser.Ack || string(p.Data) != want {
			t.Errorf("%s: %v %s", p.Namespace, p.Type, p.Data)
		}
	}
}

func TestDynamicNamespaces(t *testing.T) {
	srv := newServer(t, &socketio.Options{CleanupEmptyChildNamespaces: true})
	parent := srv.OfRegexp(regexp.MustCompile(`^/room-\d+$`))
	parent.Use(func(s *socketio.Socket) error {
		if s.Namespace().Name() == "/room-13" {
			return errors.New("unlucky")
		}
		return nil
	})
	names := make(chan string, 4)
	parent.OnConnection(func(s *socketio.Socket) {
		names <- s.Namespace().Name()
		s.On("bye", func() { s.Disconnect(false) })
	})
	c := dial(t, srv, transports["websocket"])
	c.connect("/room-1", nil)
	c.connect("/room-2", nil)
	if a, b := <-names, <-names; a != "/room-1" || b != "/room-2" {
		t.Errorf("%s %s", a, b)
	}
	c.send(&sioparser.Packet{Type: sioparser.Connect, Namespace: "/room-13"})
	if p := c.next(); p.Type != sioparser.ConnectError || string(p.Data) != `{"message":"unlucky"}` {
		t.Errorf("%v %s", p.Type, p.Data)
	}
	c.send(&sioparser.Packet{Type: sioparser.Connect, Namespace: "/other"})
	if p := c.next(); p.Type != sioparser.ConnectError {
		t.Errorf("unmatched name: %v", p.Type)
	}
	if len(parent.Children()) != 2 {
		t.Errorf("children %d", len(parent.Children()))
	}
	_ = parent.Emit("all", 1)
	for range 2 {
		if name, _, _ := c.nextEvent(); name != "all" {
			t.Errorf("%s", name)
		}
	}
	c.emit("/room-1", "bye")
	if p := c.next(); p.Type != sioparser.Disconnect || p.Namespace != "/room-1" {
		t.Errorf("%v %s", p.Type, p.Namespace)
	}
	waitFor(t, "child cleaned up", func() bool { return len(parent.Children()) == 1 })
}

func TestRoomsAndBroadcasts(t *testing.T) {
	srv := newServer(t, nil)
	sockets := make(chan *socketio.Socket, 3)
	var events []string
	srv.Sockets().OnRoomEvent("join-room", func(room, id string) { events = append(events, "join "+room) })
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(room string) { s.Join(room) })
		s.On("shout", func(room, msg string) { _ = s.To(room).Emit("heard", msg) })
		sockets <- s
	})
	a := dial(t, srv, transports["websocket"])
	b := dial(t, srv, transports["polling"])
	c := dial(t, srv, transports["upgrade"])
	a.connect("/", nil)
	b.connect("/", nil)
	c.connect("/", nil)
	sa, sb, sc := <-sockets, <-sockets, <-sockets
	sa.Join("red")
	sb.Join("red", "blue")
	sc.Join("blue")
	if got := sb.Rooms(); !slices.Equal(got, []string{"blue", "red", sb.ID()}) && len(got) != 3 {
		t.Errorf("rooms %v", got)
	}
	check := func(cl *tclient, want string) {
		t.Helper()
		name, args, _ := cl.nextEvent()
		if name+":"+arg[string](t, args, 0) != want {
			t.Errorf("got %s:%s, want %s", name, arg[string](t, args, 0), want)
		}
	}
	_ = srv.To("red").Emit("m", "red")
	check(a, "m:red")
	check(b, "m:red")
	_ = srv.To("red", "blue").Except("blue").Emit("m", "red-not-blue")
	check(a, "m:red-not-blue")
	_ = sa.Broadcast().Emit("m", "not-a")
	check(b, "m:not-a")
	check(c, "m:not-a")
	a.emit("/", "shout", "blue", "hello")
	check(b, "heard:hello")
	check(c, "heard:hello")
	_ = srv.Emit("m", "all")
	check(a, "m:all")
	check(b, "m:all")
	check(c, "m:all")
	a.expectNone(50 * time.Millisecond)

	// Broadcast with acks: every answer, then a timeout with what came.
	go func() {
		for _, cl := range []*tclient{a, b, c} {
			_, _, p := cl.nextEvent()
			ack, _ := sioparser.NewAck("/", p.ID, "yes")
			cl.send(ack)
		}
	}()
	answers, err := srv.Sockets().Timeout(testTimeout).EmitWithAck(context.Background(), "poll")
	if err != nil || len(answers) != 3 {
		t.Fatalf("answers %d %v", len(answers), err)
	}
	answers, err = srv.To("red").Timeout(100*time.Millisecond).EmitWithAck(context.Background(), "unanswered")
	if !errors.Is(err, context.DeadlineExceeded) || len(answers) != 0 {
		t.Errorf("timeout: %d %v", len(answers), err)
	}
	a.nextEvent()
	b.nextEvent()

	// FetchSockets and remote operations.
	remote, err := srv.In("blue").FetchSockets(context.Background())
	ids := []string{}
	for _, r := range remote {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	want := []string{sb.ID(), sc.ID()}
	sort.Strings(want)
	if err != nil || !slices.Equal(ids, want) {
		t.Errorf("FetchSockets %v %v", ids, err)
	}
	_ = srv.In("blue").SocketsJoin("green")
	if !slices.Contains(sc.Rooms(), "green") {
		t.Errorf("SocketsJoin: %v", sc.Rooms())
	}
	_ = srv.In("green").SocketsLeave("blue")
	if slices.Contains(sc.Rooms(), "blue") {
		t.Errorf("SocketsLeave: %v", sc.Rooms())
	}
	for _, r := range remote {
		if r.ID == sc.ID() {
			_ = r.Emit("direct", "x")
			check(c, "direct:x")
		}
	}
	if len(events) == 0 {
		t.Error("no room events")
	}
	_ = srv.In("red").DisconnectSockets(false)
	for _, cl := range []*tclient{a, b} {
		if p := cl.next(); p.Type != sioparser.Disconnect {
			t.Errorf("%v", p.Type)
		}
	}
}

func TestDisconnectReasons(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr []string) {
		srv := newServer(t, nil)
		reasons := make(chan string, 4)
		sockets := make(chan *socketio.Socket, 4)
		srv.OnConnection(func(s *socketio.Socket) {
			s.OnDisconnecting(func(r string) {
				if !slices.Contains(s.Rooms(), s.ID()) {
					t.Error("rooms already left while disconnecting")
				}
			})
			s.OnDisconnect(func(r string) { reasons <- r })
			sockets <- s
		})
		// The client leaves the namespace.
		c := dial(t, srv, tr)
		c.connect("/", nil)
		<-sockets
		c.send(&sioparser.Packet{Type: sioparser.Disconnect, Namespace: "/"})
		if r := <-reasons; r != socketio.ReasonClientNamespaceDisconnect {
			t.Errorf("client disconnect: %q", r)
		}
		// The server disconnects the socket.
		c.connect("/", nil)
		s := <-sockets
		s.Disconnect(false)
		if p := c.next(); p.Type != sioparser.Disconnect {
			t.Errorf("%v", p.Type)
		}
		if r := <-reasons; r != socketio.ReasonServerNamespaceDisconnect {
			t.Errorf("server disconnect: %q", r)
		}
		// The server closes the connection.
		c.connect("/", nil)
		s = <-sockets
		s.Disconnect(true)
		if r := <-reasons; r != socketio.ReasonServerNamespaceDisconnect {
			t.Errorf("server disconnect(true): %q", r)
		}
		if r := c.waitClosed(); r == "" {
			t.Error("connection not closed")
		}
		// The client goes away.
		c2 := dial(t, srv, tr)
		c2.connect("/", nil)
		<-sockets
		_ = c2.eio.Close()
		r := <-reasons
		if r != "transport close" {
			t.Errorf("client gone: %q", r)
		}
		// Shutdown.
		c3 := dial(t, srv, tr)
		c3.connect("/", nil)
		<-sockets
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if r := <-reasons; r != socketio.ReasonServerShuttingDown {
			t.Errorf("shutdown: %q", r)
		}
	})
}

func TestConnectTimeout(t *testing.T) {
	srv := newServer(t, &socketio.Options{ConnectTimeout: 100 * time.Millisecond})
	c := dial(t, srv, transports["websocket"])
	if r := c.waitClosed(); r == "" {
		t.Error("not closed")
	}
}

func TestBinaryAttachmentsTimeout(t *testing.T) {
	srv := newServer(t, &socketio.Options{BinaryTimeout: 100 * time.Millisecond})
	reasons := make(chan string, 1)
	srv.OnConnection(func(s *socketio.Socket) { s.OnDisconnect(func(r string) { reasons <- r }) })
	c := dial(t, srv, transports["websocket"])
	c.connect("/", nil)
	c.sendRaw(`51-["up",{"_placeholder":true,"num":0}]`)
	if r := <-reasons; r != socketio.ReasonParseError {
		t.Errorf("reason %q", r)
	}
}

func TestTooManyAttachments(t *testing.T) {
	srv := newServer(t, nil)
	reasons := make(chan string, 1)
	srv.OnConnection(func(s *socketio.Socket) { s.OnDisconnect(func(r string) { reasons <- r }) })
	c := dial(t, srv, transports["websocket"])
	c.connect("/", nil)
	c.sendRaw(`511-["up"]`)
	if r := <-reasons; r != socketio.ReasonParseError {
		t.Errorf("reason %q", r)
	}
}

func TestConnectionStateRecovery(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr []string) {
		srv := newServer(t, &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
		sockets := make(chan *socketio.Socket, 2)
		srv.OnConnection(func(s *socketio.Socket) { sockets <- s })
		c := dial(t, srv, tr)
		body := c.connect("/", nil)
		pid, _ := body["pid"].(string)
		if pid == "" {
			t.Fatalf("no pid in %v", body)
		}
		s := <-sockets
		s.Join("news")
		s.SetData(map[string]any{"user": "ann"})
		_ = srv.To("news").Emit("headline", 1)
		_, args, _ := c.nextEvent()
		offset := arg[string](t, args, 1)
		if offset == "" {
			t.Fatal("no offset")
		}
		// The connection drops; events go on.
		_ = c.eio.Close()
		waitFor(t, "disconnected", func() bool { return !s.Connected() })
		_ = srv.To("news").Emit("headline", 2)
		_ = srv.Emit("headline", 3)
		_ = srv.Except("news").Emit("headline", -1)
		// Back within the window, with pid and offset.
		c2 := dial(t, srv, tr)
		body = c2.connect("/", map[string]any{"pid": pid, "offset": offset})
		s2 := <-sockets
		if body["sid"] != s.ID() || s2.ID() != s.ID() || !s2.Recovered() || !slices.Contains(s2.Rooms(), "news") {
			t.Errorf("recovered %v %v %v", body, s2.Recovered(), s2.Rooms())
		}
		if m, _ := s2.Data().(map[string]any); m["user"] != "ann" {
			t.Errorf("data %v", s2.Data())
		}
		for _, want := range []int{2, 3} {
			_, args, _ := c2.nextEvent()
			if got := arg[int](t, args, 0); got != want {
				t.Errorf("missed %d, want %d", got, want)
			}
		}
		c2.expectNone(50 * time.Millisecond)
		// An unknown pid gives a fresh session.
		c3 := dial(t, srv, tr)
		body = c3.connect("/", map[string]any{"pid": "nope", "offset": offset})
		if body["sid"] == s.ID() {
			t.Error("recovered with a wrong pid")
		}
		if s3 := <-sockets; s3.Recovered() {
			t.Error("Recovered() on a fresh session")
		}
	})
}

func TestServerSideEmitSingleServer(t *testing.T) {
	srv := newServer(t, nil)
	answers, err := srv.Sockets().ServerSideEmitWithAck(context.Background(), "hello")
	if err != nil || len(answers) != 0 {
		t.Errorf("%v %v", answers, err)
	}
	if err := srv.Sockets().ServerSideEmit("connect"); !errors.Is(err, socketio.ErrReservedEvent) {
		t.Errorf("reserved: %v", err)
	}
}
