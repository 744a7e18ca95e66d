package history_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
)

// testConversations is the part of the store contract about direct
// conversations, read markers and the conversation list.
func testConversations(t *testing.T, open func(t *testing.T) history.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC)

	t.Run("direct get-or-create", func(t *testing.T) {
		s := open(t)
		a, b := ids.New(), ids.New()
		c, created, err := s.Direct(ctx, a, b, at)
		if err != nil || !created {
			t.Fatalf("first Direct: created=%v %v", created, err)
		}
		lo, hi := a, b
		if hi < lo {
			lo, hi = hi, lo
		}
		if c.Kind != wire.ConversationDirect || fmt.Sprint(c.Members) != fmt.Sprint([]string{lo, hi}) || c.LastSeq != 0 || !c.LastAt.Equal(at) {
			t.Fatalf("direct = %+v", c)
		}
		again, created, err := s.Direct(ctx, b, a, at.Add(time.Hour))
		if err != nil || created || again.ID != c.ID || !again.CreatedAt.Equal(at) {
			t.Fatalf("second Direct (other way round): %+v created=%v %v", again, created, err)
		}
		got, err := s.Conversation(ctx, c.ID)
		if err != nil || !got.Member(a) || !got.Member(b) || got.Member(ids.New()) {
			t.Fatalf("Conversation(%s) = %+v, %v", c.ID, got, err)
		}
	})

	t.Run("direct get-or-create raced", func(t *testing.T) {
		s := open(t)
		a, b := ids.New(), ids.New()
		var mu sync.Mutex
		var wg sync.WaitGroup
		created, seen := 0, map[string]bool{}
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x, y := a, b
				if i%2 == 1 {
					x, y = b, a
				}
				c, made, err := s.Direct(ctx, x, y, at)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				seen[c.ID] = true
				if made {
					created++
				}
			}()
		}
		wg.Wait()
		if created != 1 || len(seen) != 1 {
			t.Fatalf("16 racing get-or-creates: %d created, %d distinct IDs; want 1 and 1", created, len(seen))
		}
		sums, err := s.Summaries(ctx, a)
		if err != nil || len(sums) != 2 {
			t.Fatalf("summaries: %d, %v; want lobby and one direct", len(sums), err)
		}
	})

	t.Run("read markers and unread counts", func(t *testing.T) {
		s := open(t)
		alice, bob := ids.New(), ids.New()
		unreadOf := func(user, conv string) int64 {
			t.Helper()
			sum, err := s.Summary(ctx, user, conv)
			if err != nil {
				t.Fatal(err)
			}
			return sum.Unread
		}
		MustAppend(t, s, wire.LobbyID, alice, "a1", "one")
		MustAppend(t, s, wire.LobbyID, alice, "a2", "two")
		if a, b := unreadOf(alice, wire.LobbyID), unreadOf(bob, wire.LobbyID); a != 0 || b != 2 {
			t.Fatalf("after alice's 2: alice %d bob %d unread; want 0 and 2", a, b)
		}
		MustMarkRead(t, s, bob, wire.LobbyID, 1)
		if n := unreadOf(bob, wire.LobbyID); n != 1 {
			t.Fatalf("bob read 1: %d unread, want 1", n)
		}
		MustMarkRead(t, s, bob, wire.LobbyID, 0) // never backwards
		if n := unreadOf(bob, wire.LobbyID); n != 1 {
			t.Fatalf("a marker moved back: %d unread, want 1", n)
		}
		MustMarkRead(t, s, bob, wire.LobbyID, 99) // clamped to 2
		if n := unreadOf(bob, wire.LobbyID); n != 0 {
			t.Fatalf("bob read everything: %d unread", n)
		}
		for i := 0; i < 3; i++ {
			MustAppend(t, s, wire.LobbyID, alice, fmt.Sprint("b", i), "more")
		}
		if n := unreadOf(bob, wire.LobbyID); n != 3 {
			t.Fatalf("a marker past the end was not clamped: bob has %d unread, want 3", n)
		}
		MustAppend(t, s, wire.LobbyID, bob, "bob1", "my reply")
		if n := unreadOf(bob, wire.LobbyID); n != 0 {
			t.Fatalf("bob replied: %d unread, want 0 (own messages move the marker)", n)
		}
		if n := unreadOf(alice, wire.LobbyID); n != 1 {
			t.Fatalf("alice: %d unread, want bob's 1", n)
		}
		dm, _, _ := s.Direct(ctx, alice, bob, at)
		MustAppend(t, s, dm.ID, bob, "d1", "psst")
		MustAppend(t, s, dm.ID, bob, "d2", "psst")
		if a, b := unreadOf(alice, dm.ID), unreadOf(bob, dm.ID); a != 2 || b != 0 {
			t.Fatalf("direct: alice %d bob %d unread; want 2 and 0", a, b)
		}
	})

	t.Run("conversations by last activity, lobby first", func(t *testing.T) {
		s := open(t)
		alice, bob, carol, dave := ids.New(), ids.New(), ids.New(), ids.New()
		ab, _, _ := s.Direct(ctx, alice, bob, at)
		ac, _, _ := s.Direct(ctx, alice, carol, at.Add(time.Minute))
		s.Direct(ctx, bob, carol, at.Add(2*time.Minute)) // not alice's
		MustAppend(t, s, wire.LobbyID, dave, "l1", "lobby news")
		if got := summaryIDs(t, s, alice); got != "lobby "+ac.ID+" "+ab.ID {
			t.Fatalf("alice's list %q: want lobby, then the newer direct with carol", got)
		}
		m := newMessage(ab.ID, bob, "x1", "hi alice")
		m.CreatedAt = at.Add(5 * time.Minute)
		if _, _, err := s.Append(ctx, m); err != nil {
			t.Fatal(err)
		}
		if got := summaryIDs(t, s, alice); got != "lobby "+ab.ID+" "+ac.ID {
			t.Fatalf("alice's list %q: bob's new message should put his conversation first", got)
		}
		sums, _ := s.Summaries(ctx, alice)
		if l := sums[1].Last; l == nil || l.Text != "hi alice" || l.SenderID != bob || l.Seq != 1 || sums[1].Unread != 1 {
			t.Fatalf("direct summary %+v, last %+v", sums[1], l)
		}
		if sums[2].Last != nil || sums[2].Unread != 0 {
			t.Fatalf("empty direct summary %+v", sums[2])
		}
		if l := sums[0].Last; l == nil || l.Text != "lobby news" || sums[0].Unread != 1 {
			t.Fatalf("lobby summary %+v", sums[0])
		}
		if got := summaryIDs(t, s, ids.New()); got != "lobby" {
			t.Fatalf("a new user's list %q, want only the lobby", got)
		}
	})
}
