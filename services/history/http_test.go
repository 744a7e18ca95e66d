package history_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/wire"
)

func TestRoutesNeedALogin(t *testing.T) {
	s := MustServe(t)
	anon := s.Anonymous(t)
	for _, r := range []response{
		anon.Get("/api/conversations"),
		anon.PostJSON("/api/conversations/direct", map[string]string{"user_id": "x"}),
		anon.Get("/api/conversations/lobby/messages"),
		anon.PostJSON("/api/conversations/lobby/read", map[string]int{"seq": 1}),
	} {
		if r.Status != 401 || r.ErrorCode() != apperr.Unauthorized {
			t.Errorf("without a session: %d %s", r.Status, r.Body)
		}
	}
}

func TestConversationList(t *testing.T) {
	s := MustServe(t)
	alice, bob, carol := s.MustUser(t, "alice"), s.MustUser(t, "bob"), s.MustUser(t, "carol")

	// a new user has the lobby, and an empty list is [] on the wire
	convs := alice.MustConversations()
	if len(convs) != 1 || convs[0].ID != wire.LobbyID || convs[0].Kind != wire.ConversationRoom || convs[0].Title != "Lobby" || convs[0].LastMessage != nil || convs[0].Unread != 0 {
		t.Fatalf("new user's list %+v", convs)
	}

	// get-or-create: 201 the first time, 200 after, the same from both sides
	r := alice.PostJSON("/api/conversations/direct", map[string]string{"user_id": bob.User.ID})
	if r.Status != 201 {
		t.Fatalf("open direct: %d %s", r.Status, r.Body)
	}
	var created struct{ Conversation wire.Conversation }
	r.Decode(t, &created)
	ab := created.Conversation
	if ab.Kind != wire.ConversationDirect || ab.Peer == nil || ab.Peer.ID != bob.User.ID || ab.Title != "Nick bob" || ab.Unread != 0 {
		t.Fatalf("direct as alice sees it: %+v", ab)
	}
	if again := alice.MustDirect(bob); again.ID != ab.ID {
		t.Fatalf("second open: %s, want %s", again.ID, ab.ID)
	}
	if r := bob.PostJSON("/api/conversations/direct", map[string]string{"user_id": alice.User.ID}); r.Status != 200 {
		t.Fatalf("bob opens it too: %d %s", r.Status, r.Body)
	} else if fromBob := bob.MustDirect(alice); fromBob.ID != ab.ID || fromBob.Peer.ID != alice.User.ID || fromBob.Title != "Nick alice" {
		t.Fatalf("direct as bob sees it: %+v", fromBob)
	}

	// bad requests
	for _, c := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"with yourself", map[string]string{"user_id": alice.User.ID}, 400, apperr.Invalid},
		{"unknown user", map[string]string{"user_id": ids.New()}, 404, apperr.NotFound},
		{"no user", map[string]string{}, 400, apperr.Invalid},
		{"not an object", []int{1}, 400, apperr.Invalid},
	} {
		if r := alice.PostJSON("/api/conversations/direct", c.body); r.Status != c.status || r.ErrorCode() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
	}

	// lobby first, then directs by last activity
	ac := alice.MustDirect(carol)
	s.MustSend(t, bob, wire.LobbyID, "l1", "lobby news")
	if got := convIDs(alice.MustConversations()); got != "lobby "+ac.ID+" "+ab.ID {
		t.Fatalf("alice's list %q: want lobby, carol (newest), bob", got)
	}
	s.MustSend(t, bob, ab.ID, "d1", "hi alice")
	convs = alice.MustConversations()
	if got := convIDs(convs); got != "lobby "+ab.ID+" "+ac.ID {
		t.Fatalf("alice's list %q: bob's message should move him first", got)
	}
	last := convs[1].LastMessage
	if last == nil || last.Text != "hi alice" || last.Sender.ID != bob.User.ID || last.Sender.Nickname != "Nick bob" || convs[1].Unread != 1 {
		t.Fatalf("direct with a message: %+v last %+v", convs[1], last)
	}
	if l := convs[0].LastMessage; l == nil || l.Text != "lobby news" || l.Sender.Nickname != "Nick bob" {
		t.Fatalf("lobby's last message %+v", l)
	}
	if got := convIDs(carol.MustConversations()); got != "lobby "+ac.ID {
		t.Fatalf("carol's list %q: she must not see alice and bob's", got)
	}
}

func TestUnreadCounts(t *testing.T) {
	s := MustServe(t)
	alice, bob := s.MustUser(t, "alice"), s.MustUser(t, "bob")
	for i := 1; i <= 3; i++ {
		s.MustSend(t, alice, wire.LobbyID, fmt.Sprint("a", i), "hello")
	}
	if a, b := alice.Unread(wire.LobbyID), bob.Unread(wire.LobbyID); a != 0 || b != 3 {
		t.Fatalf("after alice's 3: alice %d, bob %d unread; want 0 and 3", a, b)
	}
	read := func(c *client, seq any) response {
		return c.PostJSON("/api/conversations/lobby/read", map[string]any{"seq": seq})
	}
	if r := read(bob, 2); r.Status != 204 || len(r.Body) != 0 {
		t.Fatalf("read: %d %s", r.Status, r.Body)
	}
	if n := bob.Unread(wire.LobbyID); n != 1 {
		t.Fatalf("bob read 2 of 3: %d unread", n)
	}
	if r := read(bob, 1); r.Status != 204 || bob.Unread(wire.LobbyID) != 1 {
		t.Fatalf("an older seq moved the marker back: %d, %d unread", r.Status, bob.Unread(wire.LobbyID))
	}
	s.MustSend(t, bob, wire.LobbyID, "b1", "my reply")
	if n := bob.Unread(wire.LobbyID); n != 0 {
		t.Fatalf("bob replied: %d unread; own messages are never unread", n)
	}
	if n := alice.Unread(wire.LobbyID); n != 1 {
		t.Fatalf("alice: %d unread, want bob's 1", n)
	}
	if r := read(alice, 999); r.Status != 204 || alice.Unread(wire.LobbyID) != 0 {
		t.Fatalf("read past the end: %d (clamped), %d unread", r.Status, alice.Unread(wire.LobbyID))
	}
	s.MustSend(t, bob, wire.LobbyID, "b2", "still there?")
	if n := alice.Unread(wire.LobbyID); n != 1 {
		t.Fatalf("the marker was not clamped: alice has %d unread, want 1", n)
	}
	for _, bad := range []any{-1, "two", nil} {
		if r := read(alice, bad); r.Status != 400 || r.ErrorCode() != apperr.Invalid {
			t.Errorf("seq %v: %d %s", bad, r.Status, r.Body)
		}
	}
}

func TestDirectIsOnlyForItsTwo(t *testing.T) {
	s := MustServe(t)
	alice, bob, carol := s.MustUser(t, "alice"), s.MustUser(t, "bob"), s.MustUser(t, "carol")
	dm := alice.MustDirect(bob)
	s.MustSend(t, alice, dm.ID, "1", "secret")
	if r := bob.Get("/api/conversations/" + dm.ID + "/messages"); r.Status != 200 || !strings.Contains(string(r.Body), "secret") {
		t.Fatalf("bob reads: %d %s", r.Status, r.Body)
	}
	unknown := carol.Get("/api/conversations/dm-nobody-nothing/messages")
	if unknown.Status != 404 || unknown.ErrorCode() != apperr.NotFound {
		t.Fatalf("unknown conversation: %d %s", unknown.Status, unknown.Body)
	}
	for _, r := range []response{
		carol.Get("/api/conversations/" + dm.ID + "/messages"),
		carol.Get("/api/conversations/" + dm.ID + "/messages?around=1"),
		carol.PostJSON("/api/conversations/"+dm.ID+"/read", map[string]int{"seq": 1}),
	} {
		if r.Status != 404 || !bytes.Equal(r.Body, unknown.Body) {
			t.Errorf("carol on alice and bob's conversation: %d %s; want exactly the unknown conversation's 404", r.Status, r.Body)
		}
	}
	if bytes.Contains(carol.Get("/api/conversations").Body, []byte(dm.ID)) {
		t.Fatal("carol's list shows alice and bob's conversation")
	}
}

func TestMessagePages(t *testing.T) {
	s := MustServe(t)
	alice, bob := s.MustUser(t, "alice"), s.MustUser(t, "bob")
	page := func(query string) messagesBody {
		t.Helper()
		r := bob.Get("/api/conversations/lobby/messages" + query)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", query, r.Status, r.Body)
		}
		var b messagesBody
		r.Decode(t, &b)
		return b
	}
	if r := bob.Get("/api/conversations/lobby/messages"); r.Status != 200 || string(r.Body) != `{"has_more":false,"messages":[]}` {
		t.Fatalf("empty lobby: %d %s", r.Status, r.Body)
	}
	for i := 1; i <= 120; i++ {
		sender := alice
		if i%3 == 0 {
			sender = bob
		}
		s.MustSend(t, sender, wire.LobbyID, fmt.Sprint("m", i), fmt.Sprint("message ", i))
	}
	for _, c := range []struct {
		query       string
		first, last int64
		more        bool
	}{
		{"", 71, 120, true},
		{"?limit=200", 1, 120, false},
		{"?before=71", 21, 70, true},
		{"?before=21&limit=50", 1, 20, false},
		{"?after=100&limit=200", 101, 120, false},
		{"?after=0&limit=10", 1, 10, true},
		{"?around=60&limit=10", 55, 64, true},
	} {
		b := page(c.query)
		n := len(b.Messages)
		if n == 0 || b.Messages[0].Seq != c.first || b.Messages[n-1].Seq != c.last || int64(n) != c.last-c.first+1 || b.HasMore != c.more {
			t.Errorf("%q: %d messages, has_more %v; want %d..%d, %v", c.query, n, b.HasMore, c.first, c.last, c.more)
			continue
		}
		for _, m := range b.Messages {
			if m.Sender.Nickname == "" || m.Text != fmt.Sprint("message ", m.Seq) {
				t.Fatalf("%q: message %+v", c.query, m)
			}
		}
	}
	if b := page("?after=120"); len(b.Messages) != 0 || b.HasMore {
		t.Fatalf("after the newest: %+v", b)
	}
	for _, q := range []string{"?limit=201", "?limit=0", "?limit=-1", "?limit=ten", "?before=5&after=1", "?around=1&before=9",
		"?before=-1", "?after=x", "?around=1.5"} {
		if r := bob.Get("/api/conversations/lobby/messages" + q); r.Status != 400 || r.ErrorCode() != apperr.Invalid {
			t.Errorf("%s: %d %s, want 400 invalid_input", q, r.Status, r.Body)
		}
	}
}

func convIDs(convs []wire.Conversation) string {
	parts := make([]string, len(convs))
	for i, c := range convs {
		parts[i] = c.ID
	}
	return strings.Join(parts, " ")
}

// TestSendersLookedUpOncePerPage counts auth.users.get requests: a page of
// 50 messages from 5 people costs one, the same page again none (cached).
func TestSendersLookedUpOncePerPage(t *testing.T) {
	s := MustServe(t)
	var people []*client
	for _, name := range []string{"ann", "ben", "cat", "dan", "eve"} {
		people = append(people, s.MustUser(t, name))
	}
	// stored beside the service (as another replica would), so its cache is cold
	for i := 0; i < 50; i++ {
		MustAppend(t, s.Store, wire.LobbyID, people[i%len(people)].User.ID, fmt.Sprint(i), "hi")
	}
	var lookups atomic.Int32
	if _, err := bus.Subscribe(s.Bus, wire.SubjectUsersGet, func(wire.UsersGetRequest) { lookups.Add(1) }); err != nil {
		t.Fatal(err)
	}
	settle := func() int32 {
		_ = s.Bus.Ping(context.Background())
		time.Sleep(50 * time.Millisecond)
		return lookups.Load()
	}
	settle()
	for round := 1; round <= 2; round++ {
		r := people[0].Get("/api/conversations/lobby/messages")
		var b messagesBody
		r.Decode(t, &b)
		if len(b.Messages) != 50 {
			t.Fatalf("round %d: %d messages", round, len(b.Messages))
		}
		for _, m := range b.Messages {
			if want := people[(m.Seq-1)%int64(len(people))].User; m.Sender != want {
				t.Fatalf("message %d: sender %+v, want %+v", m.Seq, m.Sender, want)
			}
		}
		if n := settle(); n != 1 {
			t.Fatalf("after %d page reads: %d user lookups, want 1", round, n)
		}
	}
}
