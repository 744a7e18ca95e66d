package presence_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/presence"
)

func TestTabsCountOnceAndTheLastCloseAnnouncesOfflineAfterGrace(t *testing.T) {
	e := MustStart(t, nil)
	gw := e.Gateway("gw-1")
	alice, bob := user("alice"), user("bob")

	gw.Open("a1", alice)
	e.Expect(alice, true, 1)
	gw.Open("a2", alice) // a second tab
	e.WaitConn("gw-1", "a2", true)
	gw.Open("b1", bob)
	e.Expect(bob, true, 2) // the very next frame: the second tab announced nothing and counted once
	if r := e.Get(false); r.OnlineCount != 2 || len(r.Users) != 2 {
		t.Fatalf("presence.get: %+v", r)
	}

	gw.Close("a1", alice) // one tab of two: nothing to announce, now or later
	e.WaitConn("gw-1", "a1", false)
	e.Clock.Advance(grace + time.Second)
	e.Svc.Sweep()

	gw.Close("a2", alice) // the last tab
	e.WaitConn("gw-1", "a2", false)
	e.Clock.Advance(grace - time.Millisecond)
	e.Svc.Sweep()
	if r := e.Get(true); r.OnlineCount != 2 {
		t.Fatalf("during the grace alice still counts: %d", r.OnlineCount)
	}
	e.Clock.Advance(time.Millisecond)
	e.Svc.Sweep()
	e.Expect(alice, false, 1) // the next frame after bob's arrival
	if r := e.Get(false); r.OnlineCount != 1 || !slices.Equal(ids(r.Users), []string{"bob"}) {
		t.Fatalf("after alice left: %+v", r)
	}
	e.Svc.Sweep()
	e.Quiet()
}

func TestQuickReconnectWithinGraceAnnouncesNothing(t *testing.T) {
	e := MustStart(t, nil)
	gw1, gw2 := e.Gateway("gw-1"), e.Gateway("gw-2")
	alice, bob := user("alice"), user("bob")
	gw1.Open("a1", alice)
	e.Expect(alice, true, 1)
	e.Clock.Advance(time.Second)
	gw1.Open("b1", bob)
	e.Expect(bob, true, 2)

	// a reload: the old socket closes, the new one lands on another gateway
	gw1.Close("a1", alice)
	e.WaitConn("gw-1", "a1", false)
	e.Clock.Advance(grace / 2)
	e.Svc.Sweep() // mid-grace: nothing
	gw2.Open("a2", alice)
	e.WaitConn("gw-2", "a2", true)
	e.Clock.Advance(grace)
	e.Svc.Sweep()

	gw1.Close("b1", bob)
	e.WaitConn("gw-1", "b1", false)
	e.Clock.Advance(grace)
	e.Svc.Sweep()
	e.Expect(bob, false, 1) // nothing about alice came before
	r := e.Get(false)
	if r.OnlineCount != 1 || r.Users[0].ID != alice.ID || !r.Users[0].OnlineSince.Equal(t0) {
		t.Fatalf("alice stays online since her first connection (%v): %+v", t0, r)
	}
	e.Quiet()
}

func TestHeartbeatReplacesTheGatewaysConnections(t *testing.T) {
	e := MustStart(t, nil)
	gw := e.Gateway("gw-1")
	alice, bob, carol := user("alice"), user("bob"), user("carol")
	gw.Open("a1", alice)
	e.Expect(alice, true, 1)
	gw.Open("b1", bob)
	e.Expect(bob, true, 2)

	// carol's open event was lost; the heartbeat brings her in
	gw.Beat(cu("a1", alice), cu("b1", bob), cu("c1", carol))
	e.Expect(carol, true, 3)
	if n := e.Metric("chatroom_presence_connections"); n != 3 {
		t.Fatalf("connections gauge %v", n)
	}

	// bob's close event was lost; the next heartbeat omits him
	e.Clock.Advance(5 * time.Second)
	gw.Beat(cu("a1", alice), cu("c1", carol))
	e.WaitConn("gw-1", "b1", false)
	e.Clock.Advance(grace)
	e.Svc.Sweep()
	e.Expect(bob, false, 2)

	if got := e.Metric("chatroom_presence_online_users"); got != 2 {
		t.Fatalf("online users gauge %v", got)
	}
	if a, d := e.Metric("chatroom_presence_announcements_total", "online", "true"), e.Metric("chatroom_presence_announcements_total", "online", "false"); a != 3 || d != 1 {
		t.Fatalf("announcements: %v arrivals, %v departures", a, d)
	}
	e.Quiet()
}

func TestHeartbeatTakenBeforeAnEventDoesNotUndoIt(t *testing.T) {
	e := MustStart(t, nil)
	gw := e.Gateway("gw-1")
	alice, bob := user("alice"), user("bob")
	gw.Beat(cu("a1", alice), cu("b1", bob))
	e.Expect(alice, true, 1)
	e.Expect(bob, true, 2)
	e.Clock.Advance(10 * time.Second)

	// a2 opened and b1 closed just after the gateway took its snapshot, and
	// the events were handled before the heartbeat
	gw.Open("a2", alice)
	gw.Close("b1", bob)
	e.WaitConn("gw-1", "b1", false)
	e.Clock.Advance(time.Second)
	gw.Beat(cu("a1", alice), cu("b1", bob), cu("a3", alice))
	e.WaitConn("gw-1", "a3", true) // the heartbeat was handled
	if !e.Svc.HasConn("gw-1", "a2") || e.Svc.HasConn("gw-1", "b1") {
		t.Fatal("a stale heartbeat undid fresh events")
	}
	e.Clock.Advance(grace)
	e.Svc.Sweep()
	e.Expect(bob, false, 1)

	// a later heartbeat still without a2 is believed
	e.Clock.Advance(5 * time.Second)
	gw.Beat(cu("a1", alice))
	e.WaitConn("gw-1", "a2", false)
	e.Quiet()
}

func TestSilentGatewayTakesItsUsersOffline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	e := MustStart(t, func(c *presence.Config) {
		c.Now = nil // the real clock and the real sweeper
		c.GatewayTimeout = timeout
		c.SweepInterval = 20 * time.Millisecond
		c.OfflineGrace = time.Minute // a dead gateway does not wait for the grace
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go e.Svc.Run(ctx)

	dying, living := e.Gateway("gw-dying"), e.Gateway("gw-living")
	alice, carol := user("alice"), user("carol")
	dying.Open("a1", alice)
	e.Expect(alice, true, 1)
	dying.Open("c1", carol)
	e.Expect(carol, true, 2)
	living.Open("c2", carol) // carol is also connected through another gateway
	e.WaitConn("gw-living", "c2", true)
	go func() { // the living gateway keeps beating
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = living.bus.Publish(wire.SubjectPresenceHeartbeat, wire.GatewayHeartbeat{GatewayID: "gw-living", Conns: []wire.ConnUser{cu("c2", carol)}})
			}
		}
	}()
	if g := e.Metric("chatroom_presence_gateways"); g != 2 {
		t.Fatalf("gateways gauge %v", g)
	}

	dying.Beat(cu("a1", alice), cu("c1", carol)) // its last words
	died := time.Now()
	e.Expect(alice, false, 1)
	if d := time.Since(died); d < timeout || d > timeout+time.Second {
		t.Fatalf("alice went offline %v after the gateway's last heartbeat (timeout %v)", d, timeout)
	}
	r := e.Get(false)
	if r.OnlineCount != 1 || !slices.Equal(ids(r.Users), []string{"carol"}) {
		t.Fatalf("carol stays online through the other gateway: %+v", r)
	}
	if e.Svc.HasConn("gw-dying", "c1") {
		t.Fatal("the dead gateway's connections are gone")
	}
	if g := e.Metric("chatroom_presence_gateways"); g != 1 {
		t.Fatalf("gateways gauge %v", g)
	}
	e.Quiet()
}

func TestPresenceGetListsMostRecentFirst(t *testing.T) {
	e := MustStart(t, nil)
	gw := e.Gateway("gw-1")
	if r := e.Get(false); r.OnlineCount != 0 || r.Users == nil || len(r.Users) != 0 {
		t.Fatalf("nobody online: %+v (users must be [], not null)", r)
	}
	for i, u := range []wire.User{user("alice"), user("bob"), user("carol")} {
		gw.Open("c"+u.Username, u)
		e.Expect(u, true, i+1)
		e.Clock.Advance(time.Second)
	}
	gw.Open("c-alice-2", user("alice")) // another tab changes nothing
	e.WaitConn("gw-1", "c-alice-2", true)

	r := e.Get(false)
	if r.OnlineCount != 3 || !slices.Equal(ids(r.Users), []string{"carol", "bob", "alice"}) {
		t.Fatalf("got %d %v", r.OnlineCount, ids(r.Users))
	}
	for i, u := range r.Users {
		if want := t0.Add(time.Duration(2-i) * time.Second); !u.OnlineSince.Equal(want) {
			t.Fatalf("%s online since %v, want %v", u.Username, u.OnlineSince, want)
		}
		if u.Nickname != "Nick "+u.Username || u.AvatarURL == "" {
			t.Fatalf("user details missing: %+v", u)
		}
	}
	if r := e.Get(true); r.OnlineCount != 3 || len(r.Users) != 0 {
		t.Fatalf("count only: %+v", r)
	}
}

func TestFrameIsTheContractsShape(t *testing.T) {
	e := MustStart(t, nil)
	gw := e.Gateway("gw-1")
	u := wire.User{ID: "u1", Username: "小明", Nickname: "明 <b>", AvatarURL: "/api/users/u1/avatar?v=9",
		CreatedAt: wire.NewTime(time.Date(2024, 5, 6, 7, 8, 9, 123_000_000, time.UTC))}
	gw.Open("c1", u)
	d := e.NextRaw()
	want := `{"type":"presence","user":{"id":"u1","username":"小明","nickname":"明 \u003cb\u003e","avatar_url":"/api/users/u1/avatar?v=9","created_at":"2024-05-06T07:08:09.123Z"},"online":true,"online_count":1}`
	if string(d.Frame) != want {
		t.Fatalf("frame\n got %s\nwant %s", d.Frame, want)
	}
	if d.Members != nil || d.ExceptConn != "" {
		t.Fatalf("to everyone: members %v except %q", d.Members, d.ExceptConn)
	}
	gw.Close("c1", u)
	e.WaitConn("gw-1", "c1", false)
	e.Clock.Advance(grace)
	e.Svc.Sweep()
	want = `{"type":"presence","user":{"id":"u1","username":"小明","nickname":"明 \u003cb\u003e","avatar_url":"/api/users/u1/avatar?v=9","created_at":"2024-05-06T07:08:09.123Z"},"online":false,"online_count":0}`
	if d := e.NextRaw(); string(d.Frame) != want {
		t.Fatalf("frame\n got %s\nwant %s", d.Frame, want)
	}
}

func TestRebuildAfterRestartIsNotAnArrivalStorm(t *testing.T) {
	e := MustStart(t, func(c *presence.Config) { c.Warmup = 6 * time.Second })
	gw := e.Gateway("gw-1")
	alice, bob, carol, dave := user("alice"), user("bob"), user("carol"), user("dave")

	// presence just restarted: the gateway's heartbeat tells who was online
	gw.Beat(cu("a1", alice), cu("b1", bob))
	e.WaitConn("gw-1", "b1", true)
	if r := e.Get(true); r.OnlineCount != 2 {
		t.Fatalf("rebuilt count %d", r.OnlineCount)
	}
	// a socket that opens now is a real arrival
	gw.Open("c1", carol)
	e.Expect(carol, true, 3) // the first frame: alice and bob were not announced

	e.Clock.Advance(6 * time.Second)
	gw.Beat(cu("a1", alice), cu("b1", bob), cu("c1", carol), cu("d1", dave))
	e.Expect(dave, true, 4) // after the warm-up, heartbeats announce again
	e.Quiet()
}

func TestIncompleteEventsAreIgnored(t *testing.T) {
	e := MustStart(t, nil)
	gw := e.Gateway("gw-1")
	gw.publish(wire.SubjectPresenceConn, wire.ConnEvent{GatewayID: "gw-1", ConnID: "x", Open: true}) // no user
	gw.publish(wire.SubjectPresenceConn, wire.ConnEvent{GatewayID: "", ConnID: "y", User: user("eve"), Open: true})
	gw.Beat(cu("", user("mallory")), cu("z", wire.User{}))
	gw.Open("a1", user("alice"))
	e.Expect(user("alice"), true, 1)
	e.WaitConn("gw-1", "a1", true)
	if e.Svc.HasConn("gw-1", "x") || e.Svc.HasConn("gw-1", "z") {
		t.Fatal("an incomplete connection was counted")
	}
	e.Quiet()
}

// A mass arrival (every socket reconnecting after a deploy) is announced
// one by one up to the limit, then as one presence_sync per sweep with the
// count; after a sweep without changes, changes are announced one by one
// again.
func TestMassArrivalBecomesOneSyncPerSweep(t *testing.T) {
	e := MustStart(t, nil)
	gw := e.Gateway("gw-1")
	const limit, extra = 200, 50 // burstLimit at 250 online
	var people []wire.User
	for i := range limit + extra {
		u := user(fmt.Sprintf("u%03d", i))
		people = append(people, u)
		gw.Open("c"+u.ID, u)
	}
	for i := range limit {
		e.Expect(people[i], true, i+1)
	}
	e.WaitConn("gw-1", "c"+people[len(people)-1].ID, true)
	e.Quiet()
	if r := e.Get(true); r.OnlineCount != limit+extra {
		t.Fatalf("presence.get counts %d, want %d", r.OnlineCount, limit+extra)
	}

	if r := e.Get(true); !r.Burst {
		t.Fatal("presence.get does not say a burst is held")
	}
	e.Svc.Sweep()
	e.ExpectSync(limit + extra)
	e.Quiet()
	if got := e.Metric("chatroom_presence_held_total"); got != extra {
		t.Fatalf("held %v changes, want %d", got, extra)
	}

	// still in the burst: a departure is held for the next sweep
	gw.Close("c"+people[0].ID, people[0])
	e.WaitConn("gw-1", "c"+people[0].ID, false)
	e.Clock.Advance(grace)
	e.Svc.Sweep()
	e.ExpectSync(limit + extra - 1)
	e.Svc.Sweep() // nothing held: the burst is over
	e.Quiet()
	if r := e.Get(true); r.Burst {
		t.Fatal("presence.get says a burst is held after it ended")
	}
	if got := e.Metric("chatroom_presence_syncs_total"); got != 2 {
		t.Fatalf("%v syncs, want 2", got)
	}

	late := user("late")
	gw.Open("c-late", late)
	e.Expect(late, true, limit+extra)
}
