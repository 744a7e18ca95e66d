package history_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
)

func newMessage(conv, sender, clientID, text string) *history.Message {
	return &history.Message{ID: ids.New(), ConversationID: conv, SenderID: sender, Kind: wire.KindText, Text: text,
		ClientID: clientID, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
}

// MustAppend stores a new text message and fails on a duplicate.
func MustAppend(tb testing.TB, s history.Store, conv, sender, clientID, text string) *history.Message {
	tb.Helper()
	m, dup, err := s.Append(context.Background(), newMessage(conv, sender, clientID, text))
	if err != nil || dup {
		tb.Fatalf("append %s: dup=%v err=%v", clientID, dup, err)
	}
	return m
}

// MustMessages reads one page.
func MustMessages(tb testing.TB, s history.Store, conv string, p history.Page) []*history.Message {
	tb.Helper()
	msgs, _, err := s.Messages(context.Background(), conv, p)
	if err != nil {
		tb.Fatal(err)
	}
	return msgs
}

// MustMarkRead moves a read marker.
func MustMarkRead(tb testing.TB, s history.Store, user, conv string, seq int64) {
	tb.Helper()
	if err := s.MarkRead(context.Background(), user, conv, seq); err != nil {
		tb.Fatal(err)
	}
}

// MustBeOneToN checks seqs are exactly 1..n, each once.
func MustBeOneToN(tb testing.TB, seqs []int64, n int) {
	tb.Helper()
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	if len(seqs) != n {
		tb.Fatalf("%d seqs, want %d", len(seqs), n)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			tb.Fatalf("seqs hole or duplicate at position %d: %d (…%v…)", i, s, seqs[max(0, i-2):min(len(seqs), i+3)])
		}
	}
}

// MustHaveExactly reads the whole conversation by paging after= and checks
// it holds seq 1..n with distinct IDs.
func MustHaveExactly(tb testing.TB, s history.Store, conv string, n int) {
	tb.Helper()
	var seqs []int64
	idSeen := map[string]bool{}
	after := int64(0)
	for {
		msgs, more, err := s.Messages(context.Background(), conv, history.Page{Mode: history.After, Seq: after, Limit: 200})
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range msgs {
			if idSeen[m.ID] {
				tb.Fatalf("message %s listed twice", m.ID)
			}
			idSeen[m.ID] = true
			seqs = append(seqs, m.Seq)
			after = m.Seq
		}
		if !more {
			break
		}
	}
	MustBeOneToN(tb, seqs, n)
}

func collect(ch <-chan int64) []int64 {
	var out []int64
	for v := range ch {
		out = append(out, v)
	}
	return out
}

func seqList(msgs []*history.Message) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = fmt.Sprint(m.Seq)
	}
	return strings.Join(parts, " ")
}

func summaryIDs(tb testing.TB, s history.Store, user string) string {
	tb.Helper()
	sums, err := s.Summaries(context.Background(), user)
	if err != nil {
		tb.Fatal(err)
	}
	parts := make([]string, len(sums))
	for i, sum := range sums {
		parts[i] = sum.ID
	}
	return strings.Join(parts, " ")
}
