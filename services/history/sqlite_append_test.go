package history

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/wire"
)

// TestAppendBatch stores one group commit of appends the way the writer
// batches them: numbered per conversation in order, a resend inside the
// batch answered with the first, an unknown conversation refused without
// harming the others, read markers moved, and a later resend found.
func TestAppendBatch(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dm, _, err := s.Direct(ctx, "alice", "bob", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	op := func(conv, sender, clientID string) *writeOp {
		return &writeOp{done: make(chan error, 1), msg: &Message{ID: ids.New(), ConversationID: conv, SenderID: sender,
			Kind: wire.KindText, Text: sender + " " + clientID, ClientID: clientID, CreatedAt: at}}
	}
	batch := []*writeOp{
		op(wire.LobbyID, "alice", "c1"),
		op(dm.ID, "bob", "c1"),
		op(wire.LobbyID, "bob", "c2"),
		op(wire.LobbyID, "alice", "c1"), // a resend of the first
		op("no-such-room", "carol", "c3"),
		op(wire.LobbyID, "carol", "c4"),
		op(dm.ID, "alice", "c5"),
	}
	// more than one statement's worth of rows, so chunks of several sizes run
	for i := range 2*multiRowMax + 3 {
		batch = append(batch, op(wire.LobbyID, "dave", fmt.Sprint("d", i)))
	}
	s.w.commit(batch)
	for i, o := range batch {
		err := <-o.done
		if i == 4 {
			if apperr.Code(err) != apperr.NotFound {
				t.Fatalf("append to an unknown conversation: %v, want not_found", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	want := []struct {
		seq int64
		dup bool
	}{{1, false}, {1, false}, {2, false}, {1, true}, {}, {3, false}, {2, false}}
	for i, w := range want {
		if i == 4 {
			continue
		}
		if got := batch[i].stored; got.Seq != w.seq || batch[i].dup != w.dup {
			t.Errorf("append %d: seq %d dup %v, want seq %d dup %v", i, got.Seq, batch[i].dup, w.seq, w.dup)
		}
	}
	if batch[3].stored.ID != batch[0].stored.ID {
		t.Errorf("the resend got message %s, want the first's %s", batch[3].stored.ID, batch[0].stored.ID)
	}
	for i, o := range batch[len(want):] {
		if o.stored.Seq != int64(4+i) {
			t.Fatalf("dave's message %d got seq %d, want %d", i, o.stored.Seq, 4+i)
		}
	}

	// what is stored matches what was answered
	msgs, _, err := s.Messages(ctx, wire.LobbyID, Page{Mode: After, Seq: 0, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3+2*multiRowMax+3 {
		t.Fatalf("lobby holds %d messages, want %d", len(msgs), 3+2*multiRowMax+3)
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("lobby message %d has seq %d", i, m.Seq)
		}
	}
	if msgs[0].Text != "alice c1" || msgs[1].Text != "bob c2" || msgs[2].Text != "carol c4" {
		t.Fatalf("lobby starts %q %q %q", msgs[0].Text, msgs[1].Text, msgs[2].Text)
	}
	for user, conv := range map[string]string{"bob": wire.LobbyID, "alice": dm.ID} {
		sum, err := s.Summary(ctx, user, conv)
		if err != nil {
			t.Fatal(err)
		}
		if conv == dm.ID && (sum.LastSeq != 2 || sum.Unread != 0) {
			t.Errorf("alice's DM: last %d unread %d, want 2 and 0 (her own message is read)", sum.LastSeq, sum.Unread)
		}
		if conv == wire.LobbyID && sum.Unread != sum.LastSeq-2 {
			t.Errorf("bob's lobby: unread %d of %d, want all after his own seq 2", sum.Unread, sum.LastSeq)
		}
	}

	// a resend in a later commit is found
	again, dup, err := s.Append(ctx, batch[2].msg)
	if err != nil || !dup || again.ID != batch[2].stored.ID {
		t.Fatalf("resend of bob's c2: %+v dup %v err %v", again, dup, err)
	}
}
