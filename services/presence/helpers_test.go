package presence_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/presence"
)

// t0 is where settable clocks start.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC)

const grace = 2 * time.Second

// env is the presence service on the in-process NATS server, a clock, and
// what every client would receive on chat.deliver.
type env struct {
	t        testing.TB
	nats     *bus.Embedded
	Svc      *presence.Service
	Clock    *chattest.Clock
	Registry *prometheus.Registry
	Client   *bus.Conn // another service's connection, for presence.get
	frames   chan wire.Delivery
}

var quietLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// MustStart starts presence with a settable clock (unless configure sets
// Now), OfflineGrace 2 s and no warm-up; configure may change that. Run is
// not started: tests call Sweep, or Run themselves.
func MustStart(t testing.TB, configure func(*presence.Config)) *env {
	t.Helper()
	e, err := bus.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	en := &env{t: t, nats: e, Clock: chattest.NewClock(t0), Registry: prometheus.NewRegistry(), frames: make(chan wire.Delivery, 100)}
	cfg := presence.Config{Bus: en.Connect("presence"), Log: quietLog, Now: en.Clock.Now, OfflineGrace: grace, Warmup: -1, Registry: en.Registry}
	if configure != nil {
		configure(&cfg)
	}
	en.Svc = presence.New(cfg)
	if err := en.Svc.Subscribe(); err != nil {
		t.Fatal(err)
	}
	if err := en.Svc.Ping(ctx); err != nil { // its subscriptions are in place
		t.Fatal(err)
	}
	en.Client = en.Connect("clients")
	if _, err := bus.Subscribe(en.Client, wire.SubjectDeliver, func(d wire.Delivery) { en.frames <- d }); err != nil {
		t.Fatal(err)
	}
	if err := en.Client.Ping(ctx); err != nil { // the subscription is in place
		t.Fatal(err)
	}
	return en
}

// Connect opens another connection to the test's NATS server.
func (en *env) Connect(name string) *bus.Conn {
	en.t.Helper()
	c, err := bus.Connect(bus.Options{Embedded: en.nats, Prefix: "test", Name: name, Log: quietLog})
	if err != nil {
		en.t.Fatal(err)
	}
	en.t.Cleanup(c.Close)
	return c
}

// frame is a decoded presence frame.
type frame struct {
	Type        string    `json:"type"`
	User        wire.User `json:"user"`
	Online      bool      `json:"online"`
	OnlineCount int       `json:"online_count"`
}

// NextRaw is the next delivery every client gets; it fails after 3 s.
func (en *env) NextRaw() wire.Delivery {
	en.t.Helper()
	select {
	case d := <-en.frames:
		return d
	case <-time.After(3 * time.Second):
		en.t.Fatal("no presence frame within 3s")
		return wire.Delivery{}
	}
}

// Expect asserts that the next frame announces u going online or offline
// with count users online, sent to everyone.
func (en *env) Expect(u wire.User, online bool, count int) {
	en.t.Helper()
	d := en.NextRaw()
	var f frame
	if err := json.Unmarshal(d.Frame, &f); err != nil {
		en.t.Fatalf("frame %s: %v", d.Frame, err)
	}
	if d.Members != nil || d.ExceptConn != "" {
		en.t.Fatalf("presence delivery must go to everyone: members %v, except %q", d.Members, d.ExceptConn)
	}
	if f.Type != "presence" || f.User.ID != u.ID || f.Online != online || f.OnlineCount != count {
		en.t.Fatalf("got %s, want %s online=%v online_count=%d", d.Frame, u.Username, online, count)
	}
}

// ExpectSync asserts that the next frame is a presence_sync with count,
// sent to everyone.
func (en *env) ExpectSync(count int) {
	en.t.Helper()
	d := en.NextRaw()
	var f struct {
		Type        string `json:"type"`
		OnlineCount int    `json:"online_count"`
	}
	if err := json.Unmarshal(d.Frame, &f); err != nil {
		en.t.Fatalf("frame %s: %v", d.Frame, err)
	}
	if d.Members != nil || d.ExceptConn != "" || f.Type != "presence_sync" || f.OnlineCount != count {
		en.t.Fatalf("got %s (members %v, except %q), want presence_sync with online_count %d", d.Frame, d.Members, d.ExceptConn, count)
	}
}

// Quiet asserts that no frame arrives for a short while.
func (en *env) Quiet() {
	en.t.Helper()
	select {
	case d := <-en.frames:
		en.t.Fatalf("unexpected frame %s", d.Frame)
	case <-time.After(150 * time.Millisecond):
	}
}

// WaitConn waits until presence counts the connection as open (or not).
func (en *env) WaitConn(gateway, conn string, open bool) {
	en.t.Helper()
	waitFor(en.t, func() bool { return en.Svc.HasConn(gateway, conn) == open })
}

// Get asks presence.get as the gateway does.
func (en *env) Get(countOnly bool) wire.PresenceReply {
	en.t.Helper()
	r, err := bus.Request[wire.PresenceRequest, wire.PresenceReply](context.Background(), en.Client, wire.SubjectPresenceGet, wire.PresenceRequest{CountOnly: countOnly})
	if err != nil {
		en.t.Fatal(err)
	}
	return r
}

// Metric reads a gauge or counter (summed over labels matching label=value,
// when given) from the registry.
func (en *env) Metric(name string, labelValue ...string) float64 {
	en.t.Helper()
	families, err := en.Registry.Gather()
	if err != nil {
		en.t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(labelValue) == 2 {
				match := false
				for _, l := range m.GetLabel() {
					match = match || (l.GetName() == labelValue[0] && l.GetValue() == labelValue[1])
				}
				if !match {
					continue
				}
			}
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 3s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// gateway publishes what a chat gateway publishes, on its own connection.
type gateway struct {
	t   testing.TB
	id  string
	bus *bus.Conn
}

// Gateway connects a test gateway named id.
func (en *env) Gateway(id string) *gateway {
	return &gateway{t: en.t, id: id, bus: en.Connect(id)}
}

func (g *gateway) publish(subject string, v any) {
	g.t.Helper()
	if err := g.bus.Publish(subject, v); err != nil {
		g.t.Fatal(err)
	}
}

// Open announces a WebSocket of u opened.
func (g *gateway) Open(conn string, u wire.User) {
	g.t.Helper()
	g.publish(wire.SubjectPresenceConn, wire.ConnEvent{GatewayID: g.id, ConnID: conn, User: u, Open: true})
}

// Close announces a WebSocket of u closed.
func (g *gateway) Close(conn string, u wire.User) {
	g.t.Helper()
	g.publish(wire.SubjectPresenceConn, wire.ConnEvent{GatewayID: g.id, ConnID: conn, User: u, Open: false})
}

// Beat sends a heartbeat listing conns: pairs of connection ID and user.
func (g *gateway) Beat(conns ...wire.ConnUser) {
	g.t.Helper()
	if conns == nil {
		conns = []wire.ConnUser{}
	}
	g.publish(wire.SubjectPresenceHeartbeat, wire.GatewayHeartbeat{GatewayID: g.id, Conns: conns})
}

// cu is one connection in a heartbeat.
func cu(conn string, u wire.User) wire.ConnUser { return wire.ConnUser{ConnID: conn, User: u} }

// user is a made-up user named name.
func user(name string) wire.User {
	return wire.User{ID: "id-" + name, Username: name, Nickname: "Nick " + name,
		AvatarURL: "/api/users/id-" + name + "/avatar?v=1", CreatedAt: wire.NewTime(t0.Add(-time.Hour))}
}

func ids(us []wire.OnlineUser) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Username
	}
	return out
}
