package presence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webchatroom/chatroom/internal/bus"
	idgen "github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/testenv"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/presence"
)

// replicas are presence services sharing their record in a JetStream
// bucket on the external NATS server (a fresh subject prefix each), with
// the real clock and short timeouts, and what every client receives.
type replicas struct {
	t      *testing.T
	url    string
	prefix string
	svcs   []*presence.Service
	regs   []*prometheus.Registry
	stops  []func() // kill replica i: its sweeper stops and its connection closes
	client *bus.Conn
	frames chan frame
}

const (
	replicaGatewayTimeout = 2 * time.Second
	replicaGrace          = 300 * time.Millisecond
)

func startReplicas(t *testing.T, n int) *replicas {
	t.Helper()
	r := &replicas{t: t, url: testenv.ExternalNATS(t), prefix: "t" + idgen.New()[:12], frames: make(chan frame, 1000)}
	t.Cleanup(func() { // no bucket outlives its test on the shared server
		c := r.connect("cleanup")
		if b, err := c.Bucket(context.Background(), "presence", ""); err == nil {
			_ = b.Destroy(context.Background())
		}
	})
	r.client = r.connect("clients")
	if _, err := bus.Subscribe(r.client, wire.SubjectDeliver, func(d wire.Delivery) {
		var f frame
		if err := json.Unmarshal(d.Frame, &f); err == nil {
			r.frames <- f
		}
	}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		conn := r.connect(fmt.Sprintf("presence-%d", i))
		bucket, err := conn.Bucket(context.Background(), "presence", "test")
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewRegistry()
		svc := presence.New(presence.Config{Bus: conn, Log: quietLog, Shared: bucket, Registry: reg,
			GatewayTimeout: replicaGatewayTimeout, OfflineGrace: replicaGrace, SweepInterval: 50 * time.Millisecond,
			Reconcile: 300 * time.Millisecond, HelloWait: 100 * time.Millisecond})
		if err := svc.Subscribe(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { svc.Run(ctx); close(done) }()
		stop := sync.OnceFunc(func() { cancel(); <-done; conn.Close() })
		t.Cleanup(stop)
		r.svcs, r.regs, r.stops = append(r.svcs, svc), append(r.regs, reg), append(r.stops, stop)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	waitFor(t, func() bool { // subscriptions in place
		for _, s := range r.svcs {
			if s.Ready(ctx) != nil {
				return false
			}
		}
		return true
	})
	if err := r.client.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *replicas) connect(name string) *bus.Conn {
	r.t.Helper()
	c, err := bus.Connect(bus.Options{URL: r.url, Prefix: r.prefix, Name: name, Log: quietLog})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(c.Close)
	return c
}

// frames waits for n presence frames, then asserts no other comes for a
// while (each change is announced once, not once per replica).
func (r *replicas) expect(n int) []frame {
	r.t.Helper()
	var got []frame
	deadline := time.After(replicaGatewayTimeout + 3*time.Second)
	for len(got) < n {
		select {
		case f := <-r.frames:
			got = append(got, f)
		case <-deadline:
			r.t.Fatalf("%d presence frames, want %d: %+v", len(got), n, got)
		}
	}
	select {
	case f := <-r.frames:
		r.t.Fatalf("an extra presence frame (announced twice?) %+v after %+v", f, got)
	case <-time.After(500 * time.Millisecond):
	}
	return got
}

// sameAnswer waits until every live replica answers presence.get alike
// with want users online, and returns that answer.
func (r *replicas) sameAnswer(live []int, want int) wire.PresenceReply {
	r.t.Helper()
	var answers []wire.PresenceReply
	deadline := time.Now().Add(3 * time.Second)
	for {
		answers = answers[:0]
		for _, i := range live {
			answers = append(answers, r.svcs[i].Online())
		}
		same := answers[0].OnlineCount == want
		for _, a := range answers[1:] {
			same = same && reflect.DeepEqual(a, answers[0])
		}
		if same {
			return answers[0]
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("replicas answer differently (want %d online): %+v", want, answers)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// announced is how many arrivals (online) or departures the replicas
// announced between them.
func (r *replicas) announced(online bool) float64 {
	sum := 0.0
	for _, reg := range r.regs {
		sum += (&env{t: r.t, Registry: reg}).Metric("chatroom_presence_announcements_total", "online", fmt.Sprint(online))
	}
	return sum
}

// liveGateway publishes a gateway's connection events and beats every
// 200 ms until it dies.
type liveGateway struct {
	*gateway
	mu    sync.Mutex
	conns map[string]wire.User
	stop  func()
}

func (r *replicas) gateway(id string) *liveGateway {
	g := &liveGateway{gateway: &gateway{t: r.t, id: id, bus: r.connect(id)}, conns: map[string]wire.User{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	g.stop = sync.OnceFunc(func() { cancel(); <-done })
	r.t.Cleanup(g.stop)
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				g.mu.Lock()
				list := []wire.ConnUser{}
				for c, u := range g.conns {
					list = append(list, cu(c, u))
				}
				g.mu.Unlock()
				_ = g.bus.Publish(wire.SubjectPresenceHeartbeat, wire.GatewayHeartbeat{GatewayID: id, Conns: list})
			}
		}
	}()
	return g
}

func (g *liveGateway) open(conn string, u wire.User) {
	g.mu.Lock()
	g.conns[conn] = u
	g.mu.Unlock()
	g.Open(conn, u)
}

func (g *liveGateway) close(conn string) {
	g.mu.Lock()
	u := g.conns[conn]
	delete(g.conns, conn)
	g.mu.Unlock()
	g.Close(conn, u)
}

func TestReplicasAnswerAlikeAndAnnounceOnce(t *testing.T) {
	r := startReplicas(t, 2)
	gw1, gw2 := r.gateway("gw-1"), r.gateway("gw-2")
	alice, bob, carol := user("alice"), user("bob"), user("carol")

	gw1.open("a1", alice)
	gw1.open("b1", bob)
	gw1.open("a2", alice) // a second tab
	gw2.open("c1", carol) // carol is on the other gateway
	arrivals := r.expect(3)
	var who []string
	var counts []int
	for _, f := range arrivals {
		if f.Type != "presence" || !f.Online {
			t.Fatalf("not an arrival: %+v", f)
		}
		who, counts = append(who, f.User.Username), append(counts, f.OnlineCount)
	}
	slices.Sort(who)
	slices.Sort(counts)
	if !slices.Equal(who, []string{"alice", "bob", "carol"}) || !slices.Equal(counts, []int{1, 2, 3}) {
		t.Fatalf("arrivals %v with counts %v", who, counts)
	}
	got := ids(r.sameAnswer([]int{0, 1}, 3).Users)
	if slices.Sort(got); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
		t.Fatalf("online list %v", got)
	}
	if n := r.announced(true); n != 3 {
		t.Fatalf("the replicas announced %v arrivals between them, want 3", n)
	}

	// a departure, after the grace, is announced once
	gw1.close("b1")
	if f := r.expect(1)[0]; f.User.ID != bob.ID || f.Online || f.OnlineCount != 2 {
		t.Fatalf("departure %+v", f)
	}
	r.sameAnswer([]int{0, 1}, 2)

	// a record nobody is behind (dave left while no replica ran) is ended
	// by reconcile, announced once, with the recorded details
	dave := user("dave")
	rec, _ := json.Marshal(wire.OnlineUser{User: dave, OnlineSince: wire.NewTime(time.Now().Add(-time.Hour))})
	bucket, err := r.connect("admin").Bucket(context.Background(), "presence", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bucket.Create(context.Background(), dave.ID, rec); err != nil {
		t.Fatal(err)
	}
	if f := r.expect(1)[0]; f.User.ID != dave.ID || f.User.Nickname != dave.Nickname || f.Online || f.OnlineCount != 2 {
		t.Fatalf("stale record's departure %+v", f)
	}

	// replica 0 dies, then gateway 1 dies: replica 1 alone still answers,
	// and takes gateway 1's users offline once its heartbeats stop
	r.stops[0]()
	gw1.stop()
	died := time.Now()
	if f := r.expect(1)[0]; f.User.ID != alice.ID || f.Online || f.OnlineCount != 1 {
		t.Fatalf("departure of the dead gateway's user %+v", f)
	}
	if d := time.Since(died); d > replicaGatewayTimeout+time.Second {
		t.Fatalf("alice went offline %v after her gateway died (timeout %v)", d, replicaGatewayTimeout)
	}
	reply, err := bus.Request[wire.PresenceRequest, wire.PresenceReply](context.Background(), r.client, wire.SubjectPresenceGet, wire.PresenceRequest{})
	if err != nil || reply.OnlineCount != 1 || reply.Users[0].ID != carol.ID {
		t.Fatalf("presence.get with one replica left: %+v %v", reply, err)
	}
}

func TestReplicasRaceForEveryChange(t *testing.T) {
	r := startReplicas(t, 2)
	gws := []*liveGateway{r.gateway("gw-1"), r.gateway("gw-2")}
	const n = 40
	var wg sync.WaitGroup
	for g, gw := range gws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += len(gws) {
				gw.open(fmt.Sprintf("c%d", i), user(fmt.Sprintf("u%02d", i)))
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, f := range r.expect(n) {
		if !f.Online || seen[f.User.ID] {
			t.Fatalf("frame %+v (seen before: %v)", f, seen[f.User.ID])
		}
		seen[f.User.ID] = true
	}
	r.sameAnswer([]int{0, 1}, n)
	for g, gw := range gws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += len(gws) {
				gw.close(fmt.Sprintf("c%d", i))
			}
		}()
	}
	wg.Wait()
	for _, f := range r.expect(n) {
		if f.Online || !seen[f.User.ID] {
			t.Fatalf("frame %+v", f)
		}
		delete(seen, f.User.ID)
	}
	r.sameAnswer([]int{0, 1}, 0)
	t.Logf("announced by replica 0: %v, by replica 1: %v",
		(&env{t: t, Registry: r.regs[0]}).Metric("chatroom_presence_announcements_total"),
		(&env{t: t, Registry: r.regs[1]}).Metric("chatroom_presence_announcements_total"))
}
