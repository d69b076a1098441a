package interop

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wsio/wsio/adapter/redisadapter"
	"github.com/wsio/wsio/adapter/redisadapter/redistest"
	"github.com/wsio/wsio/sioclient"
	"github.com/wsio/wsio/sioparser"
	"github.com/wsio/wsio/socketio"
)

// A mixed cluster on one redis-server: two Go servers (socketio with
// redisadapter) and one Node server (socket.io with
// @socket.io/redis-adapter 8.3.0, node/sio-redis-server.mjs), a Go client
// on each.

// startGoRedisServer starts a socketio server joined to Redis at addr and
// returns it with its URL.
func startGoRedisServer(t *testing.T, addr, name string) (*socketio.Server, string) {
	t.Helper()
	return startGoClusterServer(t, addr, name, func(rdb *redis.Client, o *socketio.Options) {
		o.Adapter = redisadapter.New(rdb, nil, nil)
	})
}

// startGoClusterServer starts a socketio server on a Redis client of its
// own at addr, with the options set sets (its adapter), the events the
// mixed-cluster tests use, and "ping" server-side events answered with
// "pong from <name>".
func startGoClusterServer(t *testing.T, addr, name string, set func(*redis.Client, *socketio.Options)) (*socketio.Server, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	opts := &socketio.Options{}
	set(rdb, opts)
	srv := socketio.NewServer(opts)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(room string, ack socketio.Ack) { s.Join(room); _ = ack() })
		s.On("fetch-blue", func(ack socketio.Ack) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			remote, _ := srv.In("blue").FetchSockets(ctx)
			ids := []string{}
			for _, r := range remote {
				ids = append(ids, r.ID)
			}
			_ = ack(ids)
		})
	})
	srv.Of("/").OnServerSideEmit("ping", func(from string, ack socketio.Ack) { _ = ack("pong from " + name) })
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
		_ = rdb.Close()
	})
	return srv, hs.URL
}

// clusterClient is a Go client on one server of the cluster, recording the
// events it receives.
type clusterClient struct {
	s      *sioclient.Socket
	events chan string
}

func newClusterClient(t *testing.T, ctx context.Context, url string) *clusterClient {
	t.Helper()
	c := &clusterClient{events: make(chan string, 100)}
	c.s = goSocket(t, ctx, url, sioclient.Options{Transports: []string{"websocket"}}, "/", nil)
	c.s.OnAny(func(event string, args sioparser.Args) {
		var data string
		_ = args.Decode(0, &data)
		c.events <- event + ":" + data
	})
	c.s.On("q", func(ack sioclient.Ack) { _ = ack("answer from " + c.s.ID()) })
	return c
}

// expect waits for each of want, in any order, and then for nothing else
// for a moment.
func (c *clusterClient) expect(t *testing.T, ctx context.Context, who string, want ...string) {
	t.Helper()
	var got []string
	for len(got) < len(want) {
		select {
		case e := <-c.events:
			got = append(got, e)
		case <-ctx.Done():
			t.Fatalf("%s got %v, want %v", who, got, want)
		}
	}
	select {
	case e := <-c.events:
		got = append(got, e)
	case <-time.After(150 * time.Millisecond):
	}
	sort.Strings(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("%s got %v, want %v", who, got, want)
	}
}

func ackStrings(t *testing.T, ctx context.Context, s *sioclient.Socket, event string, args ...any) []string {
	t.Helper()
	a, err := s.EmitWithAck(ctx, event, args...)
	if err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	var out []string
	if err := a.Decode(0, &out); err != nil {
		t.Fatalf("%s answered %s: %v", event, a.Raw(0), err)
	}
	return out
}

func TestRedisMixedCluster(t *testing.T) {
	nodeBinary(t)
	r := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	p := startNode(t, ctx, "sio-redis-server.mjs", "redis="+r.URL())
	nodeURL := fmt.Sprintf("http://127.0.0.1:%d", p.port(t, ctx))
	g1, url1 := startGoRedisServer(t, r.Addr, "go1")
	g2, url2 := startGoRedisServer(t, r.Addr, "go2")

	n := newClusterClient(t, ctx, nodeURL)
	c1 := newClusterClient(t, ctx, url1)
	c2 := newClusterClient(t, ctx, url2)
	all := map[string]*clusterClient{"node": n, "go1": c1, "go2": c2}
	// A Node socket.io-client on each server too.
	listeners := map[string]*nodePeer{}
	var listenerIDs []string
	for who, url := range map[string]string{"node": nodeURL, "go1": url1, "go2": url2} {
		l := startNode(t, ctx, "sio-listen.mjs", "url="+url, "transports=websocket")
		listenerIDs = append(listenerIDs, l.next(t, ctx, "connect").Data)
		listeners[who] = l
	}
	// heard checks that every Node client got the events of want, in order,
	// among those it had not been checked for.
	heard := func(who string, want ...string) {
		t.Helper()
		for _, w := range want {
			if e := listeners[who].next(t, ctx, "got"); e.Data != w {
				t.Fatalf("Node client on %s got %q, want %q%s", who, e.Data, w, listeners[who].logs())
			}
		}
	}

	// Three servers on the request channel.
	if a, err := n.s.EmitWithAck(ctx, "server-count"); err != nil || string(a.Raw(0)) != "3" {
		t.Fatalf("serverCount from Node: %s %v", a.Raw(0), err)
	}

	// A broadcast from any server reaches the clients of all three.
	_ = g1.Emit("news", "from go1")
	for who, c := range all {
		c.expect(t, ctx, who, "news:from go1")
	}
	_ = n.s.Emit("emit-all", "news", "from node")
	for who, c := range all {
		c.expect(t, ctx, who, "news:from node")
		heard(who, "news:from go1", "news:from node")
	}

	// Rooms joined on one server are honoured by broadcasts from another.
	if _, err := n.s.EmitWithAck(ctx, "join", "red"); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.s.EmitWithAck(ctx, "join", "red"); err != nil {
		t.Fatal(err)
	}
	_ = g2.To("red").Emit("room", "from go2")
	n.expect(t, ctx, "node", "room:from go2")
	c1.expect(t, ctx, "go1", "room:from go2")
	_ = n.s.Emit("emit-room", "red", "room", "from node")
	n.expect(t, ctx, "node", "room:from node")
	c1.expect(t, ctx, "go1", "room:from node")
	c2.expect(t, ctx, "go2")

	// fetchSockets across the cluster, both ways.
	ids := append([]string{n.s.ID(), c1.s.ID(), c2.s.ID()}, listenerIDs...)
	sort.Strings(ids)
	if got := ackStrings(t, ctx, n.s, "fetch", ""); !slices.Equal(got, ids) {
		t.Fatalf("Node's fetchSockets %v, want %v", got, ids)
	}
	remote, err := g1.FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range remote {
		got = append(got, s.ID)
	}
	sort.Strings(got)
	if !slices.Equal(got, ids) {
		t.Fatalf("Go's fetchSockets %v, want %v", got, ids)
	}
	red, err := g2.In("red").FetchSockets(ctx)
	if err != nil || len(red) != 2 {
		t.Fatalf("Go's fetchSockets of red: %d %v", len(red), err)
	}

	// serverSideEmit with acks, both ways.
	answers, err := g1.Sockets().ServerSideEmitWithAck(ctx, "ping", "go1")
	var texts []string
	for _, a := range answers {
		texts = append(texts, fmt.Sprint(a...))
	}
	sort.Strings(texts)
	if err != nil || !slices.Equal(texts, []string{"pong from go2", "pong from node"}) {
		t.Fatalf("Go's serverSideEmitWithAck: %v %v", texts, err)
	}
	if got := ackStrings(t, ctx, n.s, "sse-ack"); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"pong from go1", "pong from go2"}) {
		t.Fatalf("Node's serverSideEmitWithAck: %v", got)
	}

	// Broadcasts with acks collect every client's answer, both ways.
	var want []string
	for _, id := range ids {
		want = append(want, "answer from "+id)
	}
	if got := ackStrings(t, ctx, n.s, "bcast-ack", "q"); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Fatalf("Node's emitWithAck: %v", got)
	}
	acks, err := g2.Timeout(3*time.Second).EmitWithAck(ctx, "q")
	got = sortedAckTexts(acks)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Go's EmitWithAck: %v %v", got, err)
	}

	for who, c := range all {
		c.expect(t, ctx, who, "q:", "q:") // the two broadcasts with acks
		heard(who, "q:", "q:")
	}

	// Node's @socket.io/redis-emitter reaches the clients of the Go servers.
	_ = n.s.Emit("emitter", "", "emitted", "by node's emitter")
	for who, c := range all {
		c.expect(t, ctx, who, "emitted:by node's emitter")
		heard(who, "emitted:by node's emitter")
	}
	_ = n.s.Emit("emitter", "red", "emitted", "to red")
	n.expect(t, ctx, "node", "emitted:to red")
	c1.expect(t, ctx, "go1", "emitted:to red")
	c2.expect(t, ctx, "go2")

	// Our emitter reaches the clients of the Node server too.
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	e := redisadapter.NewEmitter(rdb, "")
	if err := e.Emit(ctx, "emitted", "by go's emitter"); err != nil {
		t.Fatal(err)
	}
	for who, c := range all {
		c.expect(t, ctx, who, "emitted:by go's emitter")
		heard(who, "emitted:by go's emitter")
	}
	_ = e.To("red").Except(c1.s.ID()).Emit(ctx, "emitted", "to red but go1")
	n.expect(t, ctx, "node", "emitted:to red but go1")
	c1.expect(t, ctx, "go1")
	// It makes Node's sockets join rooms, and disconnects them.
	_ = e.In(n.s.ID()).SocketsJoin(ctx, "blue")
	waitFor := time.Now().Add(5 * time.Second)
	for {
		if got := ackStrings(t, ctx, c2.s, "fetch-blue"); len(got) == 1 || time.Now().After(waitFor) {
			if len(got) != 1 || got[0] != n.s.ID() {
				t.Fatalf("blue after the emitter's socketsJoin: %v", got)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	reasons := make(chan string, 1)
	n.s.OnDisconnect(func(reason string, _ bool) { reasons <- reason })
	_ = e.In("blue").DisconnectSockets(ctx, false)
	select {
	case r := <-reasons:
		if r != sioclient.ReasonServerDisconnect {
			t.Fatalf("reason %q", r)
		}
	case <-ctx.Done():
		t.Fatal("the emitter's disconnectSockets did not reach Node")
	}
}

// redis-server is killed under traffic and restarted on the same port:
// nothing panics, each server goes on delivering to its own clients, and
// cross-server delivery between the Go and the Node servers resumes by
// itself.
func TestRedisMixedClusterRestart(t *testing.T) {
	nodeBinary(t)
	r := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	p := startNode(t, ctx, "sio-redis-server.mjs", "redis="+r.URL())
	nodeURL := fmt.Sprintf("http://127.0.0.1:%d", p.port(t, ctx))
	g, url := startGoRedisServer(t, r.Addr, "go1")
	n := newClusterClient(t, ctx, nodeURL)
	c := newClusterClient(t, ctx, url)

	_ = g.Emit("news", "before")
	n.expect(t, ctx, "node", "news:before")
	c.expect(t, ctx, "go1", "news:before")

	r.Kill()
	down := time.Now()
	time.Sleep(500 * time.Millisecond)
	// Local delivery goes on while Redis is away.
	_ = g.Emit("news", "during")
	c.expect(t, ctx, "go1", "news:during")
	r.Restart(t)
	back := time.Now()
	// Cross-server delivery resumes both ways: keep emitting until each
	// side hears the other.
	resumed := func(from func(string), to *clusterClient) time.Duration {
		for i := 0; ; i++ {
			from(fmt.Sprint("after ", i))
			select {
			case e := <-to.events:
				if strings.HasPrefix(e, "news:after ") {
					return time.Since(back)
				}
			case <-time.After(100 * time.Millisecond):
			}
			if ctx.Err() != nil {
				t.Fatal("cross-server delivery did not resume")
			}
		}
	}
	goToNode := resumed(func(s string) { _ = g.Emit("news", s) }, n)
	nodeToGo := resumed(func(s string) { _ = n.s.Emit("emit-all", "news", s) }, c)
	t.Logf("Redis away %v; Go→Node resumed %v and Node→Go %v after it came back", back.Sub(down).Round(time.Millisecond), goToNode.Round(time.Millisecond), nodeToGo.Round(time.Millisecond))
	if goToNode > 10*time.Second || nodeToGo > 10*time.Second {
		t.Fatal("too slow to resume")
	}
}

// A Go server with redisadapter.NewStreams and a Node server with
// @socket.io/redis-streams-adapter 0.3.1 on one Redis: broadcasts,
// fetchSockets and serverSideEmit with acks work both ways, and a client
// that drops from the Node server and comes back through the Go server (a
// balancer switched) is recovered there with its id and every missed event.
//
// It runs twice: with Node's defaults (one stream, pub/sub), and with
// streamCount 3 and useShardedPubSub on both kinds of server.
func TestRedisStreamsMixedCluster(t *testing.T) {
	t.Run("defaults", func(t *testing.T) { testRedisStreamsMixedCluster(t, redisadapter.StreamsOptions{}) })
	t.Run("three streams, sharded pub/sub", func(t *testing.T) {
		testRedisStreamsMixedCluster(t, redisadapter.StreamsOptions{StreamCount: 3, UseShardedPubSub: true})
	})
}

func testRedisStreamsMixedCluster(t *testing.T, o redisadapter.StreamsOptions) {
	nodeBinary(t)
	r := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	args := []string{"redis=" + r.URL(), "adapter=streams"}
	if o.StreamCount > 1 {
		args = append(args, fmt.Sprint("streamCount=", o.StreamCount))
	}
	if o.UseShardedPubSub {
		args = append(args, "useShardedPubSub=true")
	}
	p := startNode(t, ctx, "sio-redis-server.mjs", args...)
	nodePort := p.port(t, ctx)
	nodeURL := fmt.Sprintf("http://127.0.0.1:%d", nodePort)

	const window = time.Minute
	g, gURL := startGoClusterServer(t, r.Addr, "go", func(rdb *redis.Client, opts *socketio.Options) {
		opts.ConnectionStateRecovery = &socketio.RecoveryOptions{MaxDisconnectionDuration: window}
		so := o
		so.BlockTime, so.MaxDisconnectionDuration = 200*time.Millisecond, window
		opts.Adapter = redisadapter.NewStreams(rdb, &so, nil)
	})
	n := newClusterClient(t, ctx, nodeURL)
	c := newClusterClient(t, ctx, gURL)
	time.Sleep(200 * time.Millisecond) // the Node adapter reads from "$"
	checkBroadcastsBothWays(t, ctx, g, n, c)

	t.Cleanup(func() {
		if t.Failed() {
			t.Log(p.logs())
		}
	})
	checkRequestsBothWays(t, ctx, g, n, c)
	// A join made by Node is honoured by a Go broadcast to the room.
	if _, err := n.s.EmitWithAck(ctx, "join", "red"); err != nil {
		t.Fatal(err)
	}
	_ = g.To("red").Emit("room", "from go")
	n.expect(t, ctx, "node", "room:from go")
	c.expect(t, ctx, "go")

	// Recovery across the two kinds of server.
	lb := redistest.NewBalancer(t, fmt.Sprintf("127.0.0.1:%d", nodePort))
	m, err := sioclient.NewManager("http://"+lb.Addr(), &sioclient.Options{
		Transports: []string{"websocket"}, ReconnectionDelay: 500 * time.Millisecond, ReconnectionDelayMax: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	k := m.Socket("/", nil)
	var mu sync.Mutex
	var got []string
	k.On("news", func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() })
	connects := make(chan bool, 2)
	k.OnConnect(func() { connects <- k.Recovered() })
	if err := k.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	<-connects
	id := k.ID()
	_ = n.s.Emit("emit-all", "news", "n0")
	waitForCond(t, ctx, "the first event", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
	lb.SetBackend(strings.TrimPrefix(gURL, "http://"))
	lb.Cut()
	time.Sleep(200 * time.Millisecond) // Node sees the client go and keeps its session
	_ = g.Emit("news", "g1")
	_ = n.s.Emit("emit-all", "news", "n2")
	select {
	case recovered := <-connects:
		if !recovered || k.ID() != id {
			t.Fatalf("through the Go server: recovered %v, id %q (was %q)%s", recovered, k.ID(), id, p.logs())
		}
	case <-ctx.Done():
		t.Fatal("no reconnection through the Go server")
	}
	waitForCond(t, ctx, "the missed events", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 3 })
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, []string{"n0", "g1", "n2"}) {
		t.Fatalf("events %v", got)
	}
}

func waitForCond(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("%s: %v", what, ctx.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A Go server with redisadapter.NewSharded and a Node server with
// createShardedAdapter of @socket.io/redis-adapter 8.3.0 (both in the
// dynamic subscription mode) on one Redis 7: broadcasts to all and to a
// room's own channel, binary (msgpack) messages, fetchSockets,
// serverSideEmit and broadcasts with acks, both ways.
func TestRedisShardedMixedCluster(t *testing.T) {
	nodeBinary(t)
	r := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	p := startNode(t, ctx, "sio-redis-server.mjs", "redis="+r.URL(), "adapter=sharded")
	nodeURL := fmt.Sprintf("http://127.0.0.1:%d", p.port(t, ctx))
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(p.logs())
		}
	})
	g, gURL := startGoClusterServer(t, r.Addr, "go", func(rdb *redis.Client, o *socketio.Options) {
		o.Adapter = redisadapter.NewSharded(rdb, nil, nil)
	})
	n := newClusterClient(t, ctx, nodeURL)
	c := newClusterClient(t, ctx, gURL)
	bins := make(chan string, 4)
	for _, cc := range []*clusterClient{n, c} {
		cc.s.On("bin", func(v struct{ Bytes []byte }) { bins <- fmt.Sprint(v.Bytes) })
	}

	// Node counts the servers with PUBSUB SHARDNUMSUB: ours subscribed.
	if a, err := n.s.EmitWithAck(ctx, "server-count"); err != nil || string(a.Raw(0)) != "2" {
		t.Fatalf("Node's serverCount: %v %v", a, err)
	}
	checkBroadcastsBothWays(t, ctx, g, n, c)

	// Binary: msgpack on the wire, both ways.
	_ = g.Emit("bin", map[string]any{"bytes": []byte{1, 2, 3}})
	_ = n.s.Emit("emit-bin", "bin")
	for range 4 {
		select {
		case b := <-bins:
			if b != "[1 2 3]" {
				t.Fatalf("binary arrived as %s", b)
			}
		case <-ctx.Done():
			t.Fatal("binary broadcasts did not arrive")
		}
	}
	n.expect(t, ctx, "node", "bin:", "bin:")
	c.expect(t, ctx, "go", "bin:", "bin:")

	// Rooms: a broadcast to one room goes to the room's channel, to which
	// the server with the room subscribed.
	if _, err := n.s.EmitWithAck(ctx, "join", "red"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s.EmitWithAck(ctx, "join", "blue"); err != nil {
		t.Fatal(err)
	}
	// Each room's channel has one subscriber: the server with the room.
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	waitForCond(t, ctx, "room channels", func() bool {
		counts, err := rdb.PubSubShardNumSub(ctx, "socket.io#/#red#", "socket.io#/#blue#").Result()
		return err == nil && counts["socket.io#/#red#"] == 1 && counts["socket.io#/#blue#"] == 1
	})
	_ = g.To("red").Emit("room", "red from go")
	n.expect(t, ctx, "node", "room:red from go")
	_ = n.s.Emit("emit-room", "blue", "room", "blue from node")
	c.expect(t, ctx, "go", "room:blue from node")
	_ = g.To("blue").Except("red").Emit("room", "blue from go")
	c.expect(t, ctx, "go", "room:blue from go")
	n.expect(t, ctx, "node")

	if got := ackStrings(t, ctx, n.s, "fetch", "blue"); !slices.Equal(got, []string{c.s.ID()}) {
		t.Fatalf("Node's fetchSockets of blue %v", got)
	}
	remote, err := g.In("red").FetchSockets(ctx)
	if err != nil || len(remote) != 1 || remote[0].ID != n.s.ID() {
		t.Fatalf("Go's fetchSockets of red: %v %v", remote, err)
	}
	checkRequestsBothWays(t, ctx, g, n, c)
}

// checkBroadcastsBothWays checks that a broadcast from the Go server g
// and one from the Node server (n's) reach both clients.
func checkBroadcastsBothWays(t *testing.T, ctx context.Context, g *socketio.Server, n, c *clusterClient) {
	t.Helper()
	_ = g.Emit("news", "from go")
	n.expect(t, ctx, "node", "news:from go")
	c.expect(t, ctx, "go", "news:from go")
	_ = n.s.Emit("emit-all", "news", "from node")
	n.expect(t, ctx, "node", "news:from node")
	c.expect(t, ctx, "go", "news:from node")
}

// checkRequestsBothWays checks, from the Node server (n's) and from the Go
// server g (c's), fetchSockets, serverSideEmit with acks and broadcasts
// with acks across the two.
func checkRequestsBothWays(t *testing.T, ctx context.Context, g *socketio.Server, n, c *clusterClient) {
	t.Helper()
	ids := []string{n.s.ID(), c.s.ID()}
	sort.Strings(ids)
	if got := ackStrings(t, ctx, n.s, "fetch", ""); !slices.Equal(got, ids) {
		t.Fatalf("Node's fetchSockets %v, want %v", got, ids)
	}
	remote, err := g.FetchSockets(ctx)
	if err != nil || len(remote) != 2 {
		t.Fatalf("Go's fetchSockets: %d %v", len(remote), err)
	}
	answers, err := g.Sockets().ServerSideEmitWithAck(ctx, "ping", "go")
	if err != nil || len(answers) != 1 || fmt.Sprint(answers[0]...) != "pong from node" {
		t.Fatalf("Go's serverSideEmitWithAck: %v %v", answers, err)
	}
	if got := ackStrings(t, ctx, n.s, "sse-ack"); !slices.Equal(got, []string{"pong from go"}) {
		t.Fatalf("Node's serverSideEmitWithAck: %v", got)
	}
	want := []string{"answer from " + ids[0], "answer from " + ids[1]}
	if got := ackStrings(t, ctx, n.s, "bcast-ack", "q"); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Fatalf("Node's emitWithAck: %v", got)
	}
	acks, err := g.Timeout(3*time.Second).EmitWithAck(ctx, "q")
	got := sortedAckTexts(acks)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Go's EmitWithAck: %v %v", got, err)
	}
	n.expect(t, ctx, "node", "q:", "q:")
	c.expect(t, ctx, "go", "q:", "q:")
}

// sortedAckTexts decodes the first argument of each ack as a string, and
// sorts them.
func sortedAckTexts(acks []sioparser.Args) []string {
	var out []string
	for _, a := range acks {
		var s string
		_ = a.Decode(0, &s)
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
