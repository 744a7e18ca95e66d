package history_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
)

func TestAppendRefusesBadInput(t *testing.T) {
	s := MustServe(t)
	alice, bob, carol := s.MustUser(t, "alice"), s.MustUser(t, "bob"), s.MustUser(t, "carol")
	dm := alice.MustDirect(bob)
	text := func(conv, clientID, text string) wire.AppendRequest {
		return wire.AppendRequest{SenderID: carol.User.ID, ConversationID: conv, ClientID: clientID, Kind: wire.KindText, Text: text}
	}
	for _, c := range []struct {
		name string
		req  wire.AppendRequest
		code string
	}{
		{"unknown conversation", text("no-such-room", "c1", "hi"), apperr.NotFound},
		{"someone else's direct", text(dm.ID, "c2", "hi"), apperr.NotFound},
		{"empty", text(wire.LobbyID, "c3", ""), "text_empty"},
		{"whitespace only", text(wire.LobbyID, "c4", " \t\n\u3000 "), "text_empty"},
		{"4001 characters", text(wire.LobbyID, "c5", strings.Repeat("字", 4001)), "text_too_long"},
		{"missing client_id", text(wire.LobbyID, "", "hi"), apperr.Invalid},
		{"client_id of 65", text(wire.LobbyID, strings.Repeat("x", 65), "hi"), apperr.Invalid},
		{"unknown kind", wire.AppendRequest{SenderID: carol.User.ID, ConversationID: wire.LobbyID, ClientID: "c6", Kind: "sticker", Text: "hi"}, apperr.Invalid},
		{"no kind", wire.AppendRequest{SenderID: carol.User.ID, ConversationID: wire.LobbyID, ClientID: "c7", Text: "hi"}, apperr.Invalid},
		{"image never uploaded", wire.AppendRequest{SenderID: carol.User.ID, ConversationID: wire.LobbyID, ClientID: "c8", Kind: wire.KindImage, MediaID: "m1"}, "media_not_found"},
		{"voice never uploaded", wire.AppendRequest{SenderID: carol.User.ID, ConversationID: wire.LobbyID, ClientID: "c9", Kind: wire.KindVoice, MediaID: "m1"}, "media_not_found"},
		{"image without media_id", wire.AppendRequest{SenderID: carol.User.ID, ConversationID: wire.LobbyID, ClientID: "c11", Kind: wire.KindImage}, apperr.Invalid},
		{"voice without media_id", wire.AppendRequest{SenderID: carol.User.ID, ConversationID: wire.LobbyID, ClientID: "c12", Kind: wire.KindVoice}, apperr.Invalid},
		{"media_id of 65", wire.AppendRequest{SenderID: carol.User.ID, ConversationID: wire.LobbyID, ClientID: "c13", Kind: wire.KindImage, MediaID: strings.Repeat("m", 65)}, apperr.Invalid},
		{"image with text", wire.AppendRequest{SenderID: carol.User.ID, ConversationID: wire.LobbyID, ClientID: "c14", Kind: wire.KindImage, MediaID: "m1", Text: "look"}, apperr.Invalid},
		{"image in someone else's direct", wire.AppendRequest{SenderID: carol.User.ID, ConversationID: dm.ID, ClientID: "c15", Kind: wire.KindImage, MediaID: "m1"}, apperr.NotFound},
		{"no sender", wire.AppendRequest{ConversationID: wire.LobbyID, ClientID: "c10", Kind: wire.KindText, Text: "hi"}, apperr.Invalid},
	} {
		if _, err := s.Append(t, c.req); apperr.Code(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	// nothing of that was stored
	for _, conv := range []string{wire.LobbyID, dm.ID} {
		if msgs := MustMessages(t, s.Store, conv, history.Page{Limit: 10}); len(msgs) != 0 {
			t.Fatalf("refused messages were stored in %s: %d", conv, len(msgs))
		}
	}
	// the limits themselves are fine, and the text is kept exactly as sent
	long := strings.Repeat("字", 3999) + "!"
	m := s.MustSend(t, carol, wire.LobbyID, strings.Repeat("x", 64), long)
	if m.Seq != 1 || m.Text != long {
		t.Fatalf("4000 characters: seq %d, %d characters back", m.Seq, len([]rune(m.Text)))
	}
	padded := "  <script>alert(1)</script>\n "
	if m := s.MustSend(t, carol, wire.LobbyID, "p", padded); m.Text != padded || m.Seq != 2 {
		t.Fatalf("text changed on the way: %q (seq %d)", m.Text, m.Seq)
	}
}

func TestAppendReply(t *testing.T) {
	s := MustServe(t)
	alice, bob := s.MustUser(t, "alice"), s.MustUser(t, "bob")
	r, err := s.Append(t, wire.AppendRequest{SenderID: alice.User.ID, ConversationID: wire.LobbyID, ClientID: "u-1", Kind: wire.KindText, Text: "大家好", MediaID: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	m := r.Message
	if r.Duplicate || r.Members != nil || m.Seq != 1 || m.ID == "" || m.ClientID != "u-1" || m.ConversationID != wire.LobbyID || m.Text != "大家好" || m.Kind != wire.KindText {
		t.Fatalf("lobby reply %+v", r)
	}
	if m.Sender.ID != alice.User.ID || m.Sender.Nickname != "Nick alice" || m.Sender.AvatarURL == "" || m.CreatedAt.IsZero() {
		t.Fatalf("sender not filled in: %+v at %v", m.Sender, m.CreatedAt)
	}
	// a resend (the ack was lost) returns the first message, stores nothing
	again, err := s.Append(t, wire.AppendRequest{SenderID: alice.User.ID, ConversationID: wire.LobbyID, ClientID: "u-1", Kind: wire.KindText, Text: "大家好"})
	if err != nil || !again.Duplicate || again.Message.ID != m.ID || again.Message.Seq != 1 {
		t.Fatalf("resend: %+v, %v", again, err)
	}
	if next := s.MustSend(t, alice, wire.LobbyID, "u-2", "again"); next.Seq != 2 {
		t.Fatalf("after a resend the next seq is %d, want 2", next.Seq)
	}
	// a direct names its two members, so only their sockets get it
	dm := alice.MustDirect(bob)
	r, err = s.Append(t, wire.AppendRequest{SenderID: bob.User.ID, ConversationID: dm.ID, ClientID: "b-1", Kind: wire.KindText, Text: "psst"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(sorted(r.Members...)); got != fmt.Sprint(sorted(alice.User.ID, bob.User.ID)) || r.Message.Seq != 1 {
		t.Fatalf("direct reply members %v seq %d", r.Members, r.Message.Seq)
	}
}

func TestMembersAndReadOverTheBus(t *testing.T) {
	s := MustServe(t)
	alice, bob, carol := s.MustUser(t, "alice"), s.MustUser(t, "bob"), s.MustUser(t, "carol")
	dm := alice.MustDirect(bob)
	members := func(user *client, conv string) ([]string, error) {
		r, err := bus.Request[wire.MembersRequest, wire.MembersReply](context.Background(), s.Bus, wire.SubjectHistoryMembers,
			wire.MembersRequest{UserID: user.User.ID, ConversationID: conv})
		return r.Members, err
	}
	if m, err := members(carol, wire.LobbyID); err != nil || m != nil {
		t.Fatalf("lobby members %v, %v; want nil (everyone)", m, err)
	}
	if m, err := members(bob, dm.ID); err != nil || fmt.Sprint(sorted(m...)) != fmt.Sprint(sorted(alice.User.ID, bob.User.ID)) {
		t.Fatalf("direct members %v, %v", m, err)
	}
	if _, err := members(carol, dm.ID); apperr.Code(err) != apperr.NotFound {
		t.Fatalf("carol asks for alice and bob's members: %v, want not_found", err)
	}
	if _, err := members(carol, "nope"); apperr.Code(err) != apperr.NotFound {
		t.Fatalf("unknown conversation: %v, want not_found", err)
	}

	read := func(user *client, conv string, seq int64) error {
		_, err := bus.Request[wire.ReadRequest, wire.ReadReply](context.Background(), s.Bus, wire.SubjectHistoryRead,
			wire.ReadRequest{UserID: user.User.ID, ConversationID: conv, Seq: seq})
		return err
	}
	s.MustSend(t, alice, dm.ID, "1", "one")
	s.MustSend(t, alice, dm.ID, "2", "two")
	if err := read(bob, dm.ID, 1); err != nil {
		t.Fatal(err)
	}
	if n := bob.Unread(dm.ID); n != 1 {
		t.Fatalf("bob read 1 of 2: %d unread", n)
	}
	if err := read(bob, dm.ID, -1); apperr.Code(err) != apperr.Invalid {
		t.Fatalf("negative seq: %v, want invalid_input", err)
	}
	if err := read(carol, dm.ID, 2); apperr.Code(err) != apperr.NotFound {
		t.Fatalf("carol marks their direct read: %v, want not_found", err)
	}
}

// TestGroupCommitSharesTransactions sends from many gateways' worth of
// goroutines at once and checks they shared SQLite transactions.
func TestGroupCommitSharesTransactions(t *testing.T) {
	s := MustServe(t)
	users := []*client{s.MustUser(t, "alice"), s.MustUser(t, "bob"), s.MustUser(t, "carol")}
	before := s.Store.WriteStats()
	const senders, each = 60, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	var seqs []int64
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := users[g%len(users)]
			for i := 0; i < each; i++ {
				r, err := s.Append(t, wire.AppendRequest{SenderID: u.User.ID, ConversationID: wire.LobbyID,
					ClientID: fmt.Sprintf("g%d-%d", g, i), Kind: wire.KindText, Text: "hello"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seqs = append(seqs, r.Message.Seq)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	after := s.Store.WriteStats()
	txs, writes := after.Transactions-before.Transactions, after.Writes-before.Writes
	t.Logf("%d appends in %d transactions (%.1f per transaction)", writes, txs, float64(writes)/float64(txs))
	if writes != senders*each {
		t.Fatalf("%d writes, want %d", writes, senders*each)
	}
	if txs*2 > writes {
		t.Fatalf("%d appends took %d transactions: concurrent senders do not share commits", writes, txs)
	}
	MustBeOneToN(t, seqs, senders*each)
	MustHaveExactly(t, s.Store, wire.LobbyID, senders*each)
}

func sorted(xs ...string) []string { return slices.Sorted(slices.Values(xs)) }
