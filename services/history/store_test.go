package history_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
)

// testStore is the contract every history.Store passes; open returns a
// fresh, empty store (the lobby seeded). Messages here, conversations and
// read markers in testConversations.
func testStore(t *testing.T, open func(t *testing.T) history.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC)

	t.Run("lobby", func(t *testing.T) {
		s := open(t)
		c, err := s.Conversation(ctx, wire.LobbyID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != wire.ConversationRoom || c.Title != "Lobby" || c.Members != nil || c.LastSeq != 0 {
			t.Fatalf("lobby = %+v", c)
		}
		if !c.Member(ids.New()) {
			t.Fatal("the lobby is not everyone's")
		}
		if _, err := s.Conversation(ctx, "nope"); apperr.Code(err) != apperr.NotFound {
			t.Fatalf("unknown conversation: %v, want not_found", err)
		}
	})

	t.Run("append numbers 1..n and keeps what was sent", func(t *testing.T) {
		s := open(t)
		alice := ids.New()
		texts := []string{"你好，世界", "  spaced out  ", "<b>not html</b> 🎉\nline two"}
		for i, text := range texts {
			m := &history.Message{ID: ids.New(), ConversationID: wire.LobbyID, SenderID: alice, Kind: wire.KindText,
				Text: text, ClientID: fmt.Sprint("c", i), CreatedAt: at.Add(time.Duration(i) * time.Second)}
			got, dup, err := s.Append(ctx, m)
			if err != nil || dup {
				t.Fatalf("append %d: dup=%v err=%v", i, dup, err)
			}
			want := *m
			want.Seq = int64(i + 1)
			if *got != want {
				t.Fatalf("append %d stored %+v, want %+v", i, got, &want)
			}
		}
		msgs, more, err := s.Messages(ctx, wire.LobbyID, history.Page{Limit: 10})
		if err != nil || more || len(msgs) != 3 {
			t.Fatalf("messages: %d, more=%v, %v", len(msgs), more, err)
		}
		for i, m := range msgs {
			if m.Seq != int64(i+1) || m.Text != texts[i] || !m.CreatedAt.Equal(at.Add(time.Duration(i)*time.Second)) || m.SenderID != alice {
				t.Fatalf("message %d read back as %+v", i, m)
			}
		}
		c, _ := s.Conversation(ctx, wire.LobbyID)
		if c.LastSeq != 3 || !c.LastAt.Equal(at.Add(2*time.Second)) {
			t.Fatalf("lobby after 3 messages: last_seq %d, last_at %v", c.LastSeq, c.LastAt)
		}
	})

	t.Run("a resend returns the first message and takes no seq", func(t *testing.T) {
		s := open(t)
		alice, bob := ids.New(), ids.New()
		first := MustAppend(t, s, wire.LobbyID, alice, "same", "first")
		again, dup, err := s.Append(ctx, newMessage(wire.LobbyID, alice, "same", "second try, other text"))
		if err != nil || !dup || *again != *first {
			t.Fatalf("resend: %+v dup=%v err=%v, want %+v", again, dup, err, first)
		}
		if m := MustAppend(t, s, wire.LobbyID, bob, "same", "bob's own same client id"); m.Seq != 2 {
			t.Fatalf("another sender's equal client_id got seq %d, want 2", m.Seq)
		}
		if m := MustAppend(t, s, wire.LobbyID, alice, "next", "x"); m.Seq != 3 {
			t.Fatalf("after a resend the next seq is %d, want 3", m.Seq)
		}
		if msgs := MustMessages(t, s, wire.LobbyID, history.Page{Limit: 10}); len(msgs) != 3 {
			t.Fatalf("%d messages stored, want 3", len(msgs))
		}
	})

	t.Run("a media message keeps its media snapshot", func(t *testing.T) {
		s := open(t)
		alice := ids.New()
		text := MustAppend(t, s, wire.LobbyID, alice, "t-1", "before")
		pic := &wire.Media{ID: ids.New(), URL: "/api/media/p", ThumbnailURL: "/api/media/p/thumbnail", Mime: "image/jpeg", Size: 12345, Width: 800, Height: 600}
		snd := &wire.Media{ID: ids.New(), URL: "/api/media/v", Mime: "audio/webm", Size: 999, DurationMS: 3200, Waveform: []int{0, 128, 255}}
		var sent []*history.Message
		for i, m := range []*wire.Media{pic, snd} {
			kind := wire.KindImage
			if m.DurationMS > 0 {
				kind = wire.KindVoice
			}
			msg := &history.Message{ID: ids.New(), ConversationID: wire.LobbyID, SenderID: alice, Kind: kind, MediaID: m.ID, Media: m,
				ClientID: fmt.Sprint("m-", i), CreatedAt: at.Add(time.Duration(i) * time.Second)}
			got, dup, err := s.Append(ctx, msg)
			if err != nil || dup || got.Media == nil || fmt.Sprintf("%+v", *got.Media) != fmt.Sprintf("%+v", *m) || got.Seq != int64(i+2) {
				t.Fatalf("append %s: %+v dup=%v err=%v", kind, got, dup, err)
			}
			sent = append(sent, got)
		}
		msgs := MustMessages(t, s, wire.LobbyID, history.Page{Limit: 10})
		if len(msgs) != 3 || msgs[0].Media != nil || msgs[0].ID != text.ID {
			t.Fatalf("page %+v", msgs)
		}
		for i, m := range msgs[1:] {
			if m.Kind != sent[i].Kind || m.MediaID != sent[i].MediaID || m.Text != "" || fmt.Sprintf("%+v", *m.Media) != fmt.Sprintf("%+v", *sent[i].Media) {
				t.Fatalf("read back %+v (media %+v), want %+v", m, m.Media, sent[i].Media)
			}
		}
		sum, err := s.Summary(ctx, alice, wire.LobbyID)
		if err != nil || sum.Last == nil || sum.Last.Media == nil || fmt.Sprint(sum.Last.Media.Waveform) != "[0 128 255]" {
			t.Fatalf("summary's last message %+v %v", sum.Last, err)
		}
		again, dup, err := s.Append(ctx, &history.Message{ID: ids.New(), ConversationID: wire.LobbyID, SenderID: alice, Kind: wire.KindText,
			Text: "resend", ClientID: "m-0", CreatedAt: at})
		if err != nil || !dup || again.ID != sent[0].ID || again.Media == nil || again.Media.ID != pic.ID {
			t.Fatalf("resend: %+v dup=%v err=%v", again, dup, err)
		}
	})

	t.Run("message by client id", func(t *testing.T) {
		s := open(t)
		alice, bob := ids.New(), ids.New()
		m := MustAppend(t, s, wire.LobbyID, alice, "c-1", "hello")
		got, err := s.MessageByClientID(ctx, alice, "c-1")
		if err != nil || *got != *m {
			t.Fatalf("MessageByClientID = %+v %v, want %+v", got, err, m)
		}
		for _, c := range [][2]string{{bob, "c-1"}, {alice, "c-2"}} {
			if _, err := s.MessageByClientID(ctx, c[0], c[1]); apperr.Code(err) != apperr.NotFound {
				t.Fatalf("MessageByClientID(%s, %s): %v, want not_found", c[0], c[1], err)
			}
		}
	})

	t.Run("append to an unknown conversation stores nothing", func(t *testing.T) {
		s := open(t)
		if _, _, err := s.Append(ctx, newMessage("dm-x-y", ids.New(), "c1", "hi")); apperr.Code(err) != apperr.NotFound {
			t.Fatalf("append to unknown: %v, want not_found", err)
		}
		if msgs := MustMessages(t, s, "dm-x-y", history.Page{Limit: 10}); len(msgs) != 0 {
			t.Fatalf("stored %d messages", len(msgs))
		}
	})

	t.Run("refused appends do not disturb concurrent ones", func(t *testing.T) {
		s := open(t)
		sender := ids.New()
		var wg sync.WaitGroup
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conv := wire.LobbyID
				if i%2 == 1 {
					conv = "no-such-conversation"
				}
				_, _, err := s.Append(ctx, newMessage(conv, sender, fmt.Sprint(i), "hi"))
				if (i%2 == 1) != (apperr.Code(err) == apperr.NotFound) || (i%2 == 0 && err != nil) {
					t.Errorf("append %d to %s: %v", i, conv, err)
				}
			}()
		}
		wg.Wait()
		MustHaveExactly(t, s, wire.LobbyID, 20)
	})

	t.Run("concurrent appends get 1..n with no holes", func(t *testing.T) {
		s := open(t)
		const senders, each = 5, 100
		seqs := make(chan int64, senders*each)
		var wg sync.WaitGroup
		for g := 0; g < senders; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sender := ids.New()
				for i := 0; i < each; i++ {
					m, dup, err := s.Append(ctx, newMessage(wire.LobbyID, sender, fmt.Sprint(i), fmt.Sprint("m", i)))
					if err != nil || dup {
						t.Errorf("append: dup=%v err=%v", dup, err)
						return
					}
					seqs <- m.Seq
				}
			}()
		}
		wg.Wait()
		close(seqs)
		MustBeOneToN(t, collect(seqs), senders*each)
		MustHaveExactly(t, s, wire.LobbyID, senders*each)
	})

	t.Run("racing resends store one message each", func(t *testing.T) {
		s := open(t)
		alice := ids.New()
		const messages, racers = 20, 4
		got := make([][]*history.Message, messages)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := 0; i < messages; i++ {
			for r := 0; r < racers; r++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, _, err := s.Append(ctx, newMessage(wire.LobbyID, alice, fmt.Sprint("c", i), "hello"))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					got[i] = append(got[i], m)
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		for i, ms := range got {
			for _, m := range ms {
				if m.ID != ms[0].ID || m.Seq != ms[0].Seq {
					t.Fatalf("client id c%d stored twice: %+v and %+v", i, ms[0], m)
				}
			}
		}
		MustHaveExactly(t, s, wire.LobbyID, messages)
	})

	t.Run("pages", func(t *testing.T) {
		s := open(t)
		if msgs, more, err := s.Messages(ctx, wire.LobbyID, history.Page{Limit: 5}); err != nil || msgs == nil || len(msgs) != 0 || more {
			t.Fatalf("empty conversation: %v (nil=%v) more=%v %v", msgs, msgs == nil, more, err)
		}
		alice := ids.New()
		for i := 1; i <= 10; i++ {
			MustAppend(t, s, wire.LobbyID, alice, fmt.Sprint(i), fmt.Sprint(i))
		}
		for _, c := range []struct {
			name string
			page history.Page
			want string
			more bool
		}{
			{"newest 3", history.Page{Limit: 3}, "8 9 10", true},
			{"newest all", history.Page{Limit: 20}, "1 2 3 4 5 6 7 8 9 10", false},
			{"newest exactly all", history.Page{Limit: 10}, "1 2 3 4 5 6 7 8 9 10", false},
			{"before 8", history.Page{Mode: history.Before, Seq: 8, Limit: 3}, "5 6 7", true},
			{"before 4", history.Page{Mode: history.Before, Seq: 4, Limit: 3}, "1 2 3", false},
			{"before 1", history.Page{Mode: history.Before, Seq: 1, Limit: 3}, "", false},
			{"after 0", history.Page{Mode: history.After, Seq: 0, Limit: 3}, "1 2 3", true},
			{"after 7", history.Page{Mode: history.After, Seq: 7, Limit: 3}, "8 9 10", false},
			{"after 10", history.Page{Mode: history.After, Seq: 10, Limit: 3}, "", false},
			{"around 5", history.Page{Mode: history.Around, Seq: 5, Limit: 4}, "3 4 5 6", true},
			{"around 1", history.Page{Mode: history.Around, Seq: 1, Limit: 4}, "1 2", true},
			{"around 10", history.Page{Mode: history.Around, Seq: 10, Limit: 4}, "8 9 10", true},
			{"around 5 wide", history.Page{Mode: history.Around, Seq: 5, Limit: 20}, "1 2 3 4 5 6 7 8 9 10", false},
			{"around 5 one", history.Page{Mode: history.Around, Seq: 5, Limit: 1}, "5", true},
		} {
			msgs, more, err := s.Messages(ctx, wire.LobbyID, c.page)
			if err != nil {
				t.Fatal(err)
			}
			if got := seqList(msgs); got != c.want || more != c.more {
				t.Errorf("%s: %q more=%v, want %q more=%v", c.name, got, more, c.want, c.more)
			}
		}
	})

	testConversations(t, open)
	testSearch(t, open) // store_search_test.go
}
