package history_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
)

// The people of the search corpus. zoë's ID is not made of lowercase
// letters and digits, as none of the service's IDs are, to cover the
// index's escaping of other IDs.
const (
	alice, bob, carol, dave, erin, zoe, mallory = "alice", "bob", "carol", "dave", "erin", "Zoë_9", "mallory"
)

// searchCorpus is 2,400 messages over four months: 45 % in the lobby, the
// rest in six direct conversations; mallory is in none of them.
var searchCorpus = corpusConfig{
	Seed: 2026, Messages: 2400, Lobby: 0.45,
	Users: []string{alice, bob, carol, dave, erin, zoe, mallory},
	Pairs: [][2]string{{alice, bob}, {alice, carol}, {bob, carol}, {dave, erin}, {alice, zoe}, {carol, dave}},
	Start: time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC), Span: 120 * 24 * time.Hour,
}

// secret is only ever said in alice and bob's conversation.
const secret = "紫色独角兽 zebra42 的秘密"

// loadedCorpus is the corpus as one store keeps it.
type loadedCorpus struct {
	msgs  []*history.Message      // as stored, in time order
	pairs []*history.Conversation // searchCorpus.Pairs' conversations
}

// readable reports whether user may read conversation id.
func (c *loadedCorpus) readable(user, id string) bool {
	if id == wire.LobbyID {
		return true
	}
	for _, p := range c.pairs {
		if p.ID == id {
			return p.Member(user)
		}
	}
	return false
}

// mustLoadCorpus stores the corpus (16 senders at once) and the secret.
func mustLoadCorpus(t *testing.T, s history.Store) *loadedCorpus {
	t.Helper()
	ctx := context.Background()
	c := &loadedCorpus{}
	for _, p := range searchCorpus.Pairs {
		conv, _, err := s.Direct(ctx, p[0], p[1], searchCorpus.Start)
		if err != nil {
			t.Fatal(err)
		}
		c.pairs = append(c.pairs, conv)
	}
	var all []*history.Message
	searchCorpus.each(func(_ int, m corpusMsg) bool {
		if m.Pair >= 0 {
			m.ConversationID = c.pairs[m.Pair].ID
		}
		all = append(all, &m.Message)
		return true
	})
	last := all[len(all)-1].CreatedAt
	for i, text := range []string{secret, "zebra42 again", secret + "!"} {
		all = append(all, &history.Message{ID: fmt.Sprint("secret", i), ConversationID: c.pairs[0].ID, SenderID: []string{alice, bob}[i%2],
			Kind: wire.KindText, Text: text, ClientID: fmt.Sprint("secret", i), CreatedAt: last.Add(time.Duration(i+1) * time.Minute)})
	}
	c.msgs = make([]*history.Message, len(all))
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(all); i += 16 {
				m, dup, err := s.Append(ctx, all[i])
				if err != nil || dup {
					t.Errorf("append %s: dup=%v %v", all[i].ID, dup, err)
					return
				}
				c.msgs[i] = m
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return c
}

// The oracle: what a query must find, decided on the text without the
// index's terms — NFKC, lower case, substrings and ASCII word edges.
type oracle func(text string) bool

func folded(text string) string { return strings.ToLower(norm.NFKC.String(text)) }

// has: the text holds every one of subs (a CJK query's characters or pairs).
func has(subs ...string) oracle {
	return func(text string) bool {
		for _, s := range subs {
			if !strings.Contains(folded(text), s) {
				return false
			}
		}
		return true
	}
}

// word: the text has w as a whole word; wordStart: a word beginning with w.
func word(w string) oracle { return matches(`(^|[^a-z0-9])` + w + `([^a-z0-9]|$)`) }

func wordStart(w string) oracle { return matches(`(^|[^a-z0-9])` + w) }

func matches(re string) oracle {
	r := regexp.MustCompile(re)
	return func(text string) bool { return r.MatchString(folded(text)) }
}

func both(a, b oracle) oracle { return func(text string) bool { return a(text) && b(text) } }

// searchCase is one row of the contract's table.
type searchCase struct {
	name   string
	q      string
	text   oracle
	filter func(q *history.SearchQuery, c *loadedCorpus) // sets the filters
	keep   func(m *history.Message, c *loadedCorpus) bool
	alice  int // how many alice finds: pins the oracle to the corpus
}

var searchCases = []searchCase{
	{name: "two characters 会议", q: "会议", text: has("会议"), alice: 57},
	{name: "two characters 开会", q: "开会", text: has("开会"), alice: 41},
	{name: "two characters 你好", q: "你好", text: has("你好"), alice: 21},
	{name: "one character 会", q: "会", text: has("会"), alice: 150},
	{name: "three characters are two pairs", q: "开会议", text: has("开会", "会议"), alice: 16},
	{name: "pairs are not side by side", q: "会议程", text: has("会议", "议程"), alice: 14},
	{name: "two words", q: "我们 明天", text: has("我们", "明天"), alice: 11},
	{name: "mixed script", q: "Go语言", text: both(word("go"), has("语言")), alice: 33},
	{name: "a short word is only itself", q: "go", text: word("go"), alice: 40},
	{name: "kubernetes", q: "kubernetes", text: wordStart("kubernetes"), alice: 50},
	{name: "upper case", q: "KUBERNETES", text: wordStart("kubernetes"), alice: 50},
	{name: "full width", q: "ｋｕｂｅｒｎｅｔｅｓ", text: wordStart("kubernetes"), alice: 50},
	{name: "prefix", q: "kube", text: wordStart("kube"), alice: 63},
	{name: "full-width ＡＢＣ", q: "ＡＢＣ", text: wordStart("abc"), alice: 41},
	{name: "abc", q: "abc", text: wordStart("abc"), alice: 41},
	{name: "a frequent word as a prefix", q: "the", text: wordStart("the"), alice: 238},
	{name: "hello", q: "Hello", text: wordStart("hello"), alice: 18},
	{name: "Chinese and a word", q: "集群 kubernetes", text: both(has("集群"), wordStart("kubernetes")), alice: 10},
	{name: "Japanese 会議 is not 会议", q: "会議", text: has("会議"), alice: 21},
	{name: "katakana", q: "ミーティング", text: has("ミー", "ーテ", "ティ", "ィン", "ング"), alice: 18},
	{name: "half-width katakana", q: "ﾐｰﾃｨﾝｸﾞ", text: has("ミー", "ーテ", "ティ", "ィン", "ング"), alice: 18},
	{name: "Korean", q: "회의", text: has("회의"), alice: 22},
	{name: "the secret", q: "紫色独角兽", text: has("紫色", "色独", "独角", "角兽"), alice: 2},
	{name: "the secret's word", q: "ZEBRA42", text: wordStart("zebra42"), alice: 3},
	{name: "nothing", q: "量子计算机", text: has("量子", "子计", "计算", "算机"), alice: 0},
	{name: "from a person", filter: func(q *history.SearchQuery, _ *loadedCorpus) { q.SenderID = bob },
		keep: func(m *history.Message, _ *loadedCorpus) bool { return m.SenderID == bob }, alice: 309},
	{name: "from an escaped ID", filter: func(q *history.SearchQuery, _ *loadedCorpus) { q.SenderID = zoe },
		keep: func(m *history.Message, _ *loadedCorpus) bool { return m.SenderID == zoe }, alice: 180},
	{name: "pictures", filter: func(q *history.SearchQuery, _ *loadedCorpus) { q.Kind = wire.KindImage },
		keep: func(m *history.Message, _ *loadedCorpus) bool { return m.Kind == wire.KindImage }, alice: 88},
	{name: "voice from bob", filter: func(q *history.SearchQuery, _ *loadedCorpus) { q.Kind, q.SenderID = wire.KindVoice, bob },
		keep: func(m *history.Message, _ *loadedCorpus) bool { return m.Kind == wire.KindVoice && m.SenderID == bob }, alice: 10},
	{name: "text with 会议", q: "会议", text: has("会议"), filter: func(q *history.SearchQuery, _ *loadedCorpus) { q.Kind = wire.KindText },
		keep: func(m *history.Message, _ *loadedCorpus) bool { return m.Kind == wire.KindText }, alice: 57},
	{name: "one conversation", filter: func(q *history.SearchQuery, c *loadedCorpus) { q.ConversationID = c.pairs[0].ID },
		keep: func(m *history.Message, c *loadedCorpus) bool { return m.ConversationID == c.pairs[0].ID }, alice: 212},
	{name: "lobby and 你好", q: "你好", text: has("你好"), filter: func(q *history.SearchQuery, _ *loadedCorpus) { q.ConversationID = wire.LobbyID },
		keep: func(m *history.Message, _ *loadedCorpus) bool { return m.ConversationID == wire.LobbyID }, alice: 15},
	{name: "ten days", filter: func(q *history.SearchQuery, _ *loadedCorpus) { q.Since, q.Until = tenDays() },
		keep: func(m *history.Message, _ *loadedCorpus) bool {
			s, u := tenDays()
			return !m.CreatedAt.Before(s) && m.CreatedAt.Before(u)
		}, alice: 142},
	{name: "ten days of 会议 from carol", q: "会议", text: has("会议"), filter: func(q *history.SearchQuery, _ *loadedCorpus) {
		q.Since, q.Until = tenDays()
		q.SenderID = carol
	}, keep: func(m *history.Message, _ *loadedCorpus) bool {
		s, u := tenDays()
		return m.SenderID == carol && !m.CreatedAt.Before(s) && m.CreatedAt.Before(u)
	}, alice: 1},
	{name: "since only", filter: func(q *history.SearchQuery, _ *loadedCorpus) { q.Since, _ = tenDays() },
		keep: func(m *history.Message, _ *loadedCorpus) bool { s, _ := tenDays(); return !m.CreatedAt.Before(s) }, alice: 860},
}

// tenDays is a window of the corpus: the times are the corpus's own
// millisecond boundaries, which must stay where they are.
func tenDays() (time.Time, time.Time) {
	since := searchCorpus.Start.Add(60 * 24 * time.Hour)
	return since, since.Add(10 * 24 * time.Hour)
}

// want is what user must find for c, newest first.
func (c searchCase) want(lc *loadedCorpus, user string) []*history.Message {
	var out []*history.Message
	for _, m := range lc.msgs {
		if lc.readable(user, m.ConversationID) && (c.text == nil || m.Kind == wire.KindText && c.text(m.Text)) && (c.keep == nil || c.keep(m, lc)) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *history.Message) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out
}

func (c searchCase) query(lc *loadedCorpus, user string, limit int) history.SearchQuery {
	q := history.SearchQuery{UserID: user, Terms: history.QueryTerms(c.q), Limit: limit}
	if c.filter != nil {
		c.filter(&q, lc)
	}
	return q
}

// mustSearchAll pages through q with q.Limit per page and returns every
// hit in order; each page but the last is full.
func mustSearchAll(t *testing.T, s history.Store, q history.SearchQuery) []*history.Message {
	t.Helper()
	var out []*history.Message
	for page := 0; ; page++ {
		p, err := s.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if p.Messages == nil {
			t.Fatal("a page's messages are nil, not empty")
		}
		out = append(out, p.Messages...)
		if p.NextCursor == "" {
			return out
		}
		if len(p.Messages) != q.Limit {
			t.Fatalf("page %d has %d messages and a next cursor; want %d", page, len(p.Messages), q.Limit)
		}
		if page > 1000 {
			t.Fatal("paging does not end")
		}
		q.Cursor = p.NextCursor
	}
}

func idList(msgs []*history.Message) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = m.ID
	}
	return strings.Join(parts, " ")
}

// testSearch is the search contract every history.Store passes (run by
// testStore, so on SQLite and on FerretDB standing in for MongoDB): the
// expected results, the same for both, are computed from the corpus by
// the oracle above.
func testSearch(t *testing.T, open func(t *testing.T) history.Store) {
	ctx := context.Background()
	t.Run("corpus", func(t *testing.T) {
		s := open(t)
		lc := mustLoadCorpus(t, s)
		for _, c := range searchCases {
			t.Run(c.name, func(t *testing.T) {
				// a first page of up to 50 as three people; all of it as
				// alice in three or four pages (FerretDB reads every
				// document for each query: a third of a second here)
				for _, user := range []string{alice, carol, mallory} {
					want := c.want(lc, user)
					if user == alice && len(want) != c.alice {
						t.Errorf("the oracle gives alice %d messages; the table says %d", len(want), c.alice)
					}
					p, err := s.Search(ctx, c.query(lc, user, 50))
					if err != nil {
						t.Fatal(err)
					}
					if got, w := idList(p.Messages), idList(want[:min(50, len(want))]); got != w {
						t.Errorf("%s's first page:\n got %s\nwant %s", user, got, w)
					}
					if (p.NextCursor != "") != (len(want) > 50) {
						t.Errorf("%s: next cursor %q with %d hits", user, p.NextCursor, len(want))
					}
				}
				want := c.want(lc, alice)
				per := max(7, len(want)/3)
				if got, w := idList(mustSearchAll(t, s, c.query(lc, alice, per))), idList(want); got != w {
					t.Errorf("alice, %d a page:\n got %s\nwant %s", per, got, w)
				}
			})
		}

		t.Run("a direct conversation is only for its two", func(t *testing.T) {
			ab := lc.pairs[0]
			since, _ := tenDays()
			for _, user := range []string{alice, bob, carol, dave, zoe, mallory} {
				for _, q := range []history.SearchQuery{
					{UserID: user, Terms: history.QueryTerms(secret), Limit: 50},
					{UserID: user, Terms: history.QueryTerms("zebra"), Limit: 50},
					{UserID: user, ConversationID: ab.ID, Limit: 50},
					{UserID: user, Since: since, Limit: 1000},
				} {
					found := 0
					for _, m := range mustSearchAll(t, s, q) {
						if m.ConversationID == ab.ID {
							found++
						}
						if !lc.readable(user, m.ConversationID) {
							t.Fatalf("%s found %s in %s", user, m.ID, m.ConversationID)
						}
					}
					if ab.Member(user) != (found > 0) {
						t.Errorf("%s found %d messages of alice and bob's conversation with %+v", user, found, q)
					}
				}
			}
		})

		t.Run("a hit carries the whole message", func(t *testing.T) {
			p, err := s.Search(ctx, history.SearchQuery{UserID: alice, Kind: wire.KindVoice, Limit: 1})
			if err != nil || len(p.Messages) != 1 {
				t.Fatalf("%+v %v", p, err)
			}
			got := p.Messages[0]
			i := slices.IndexFunc(lc.msgs, func(m *history.Message) bool { return m.ID == got.ID })
			if i < 0 || got.Media == nil {
				t.Fatalf("search gave %+v", got)
			}
			a, b := *lc.msgs[i], *got
			a.Media, b.Media = nil, nil
			if a != b || fmt.Sprintf("%+v", *lc.msgs[i].Media) != fmt.Sprintf("%+v", *got.Media) {
				t.Fatalf("search gave %+v %+v, stored %+v %+v", b, *got.Media, a, *lc.msgs[i].Media)
			}
		})

		t.Run("a cursor from nowhere", func(t *testing.T) {
			for _, cur := range []string{"nonsense", "%%%", base64.RawURLEncoding.EncodeToString([]byte("1|abc")),
				base64.RawURLEncoding.EncodeToString([]byte("2|5|5"))} {
				_, err := s.Search(ctx, history.SearchQuery{UserID: alice, Terms: history.QueryTerms("会议"), Limit: 5, Cursor: cur})
				if apperr.Code(err) != apperr.Invalid {
					t.Errorf("cursor %q: %v, want invalid_input", cur, err)
				}
			}
		})
	})

	t.Run("messages of one millisecond are each found once", func(t *testing.T) {
		s := open(t)
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var want []string
		for i := range 23 {
			m := newMessage(wire.LobbyID, ids.New(), "c", "同一毫秒 same instant")
			m.CreatedAt = at.Add(time.Duration(i/10) * time.Millisecond)
			stored, _, err := s.Append(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, stored.ID)
		}
		got := mustSearchAll(t, s, history.SearchQuery{UserID: "anyone", Terms: history.QueryTerms("毫秒"), Limit: 4})
		seen := map[string]int{}
		for i, m := range got {
			seen[m.ID]++
			if i > 0 && m.CreatedAt.After(got[i-1].CreatedAt) {
				t.Fatalf("hit %d is newer than the one before", i)
			}
		}
		for _, id := range want {
			if seen[id] != 1 {
				t.Fatalf("message %s found %d times; all: %s", id, seen[id], idList(got))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%d hits, want %d", len(got), len(want))
		}
	})

	t.Run("since is in, until is out, to the millisecond", func(t *testing.T) {
		s := open(t)
		at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		var sent []string
		for i := range 4 {
			m := newMessage(wire.LobbyID, alice, fmt.Sprint(i), "报告")
			m.CreatedAt = at.Add(time.Duration(i) * time.Millisecond)
			stored, _, err := s.Append(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			sent = append(sent, stored.ID)
		}
		for _, c := range []struct {
			since, until time.Duration // after at; -1: none
			want         string
		}{
			{time.Millisecond, 3 * time.Millisecond, sent[2] + " " + sent[1]},
			{time.Millisecond / 2, 2*time.Millisecond + time.Millisecond/2, sent[2] + " " + sent[1]},
			{-1, time.Millisecond, sent[0]},
			{3 * time.Millisecond, -1, sent[3]},
			{2 * time.Millisecond, 2 * time.Millisecond, ""},
		} {
			q := history.SearchQuery{UserID: bob, Terms: history.QueryTerms("报告"), Limit: 10}
			if c.since >= 0 {
				q.Since = at.Add(c.since)
			}
			if c.until >= 0 {
				q.Until = at.Add(c.until)
			}
			if got := idList(mustSearchAll(t, s, q)); got != c.want {
				t.Errorf("since +%v until +%v: %q, want %q", c.since, c.until, got, c.want)
			}
		}
	})

	t.Run("new messages are found at once", func(t *testing.T) {
		s := open(t)
		q := history.SearchQuery{UserID: bob, Terms: history.QueryTerms("新消息"), Limit: 10}
		for i := 1; i <= 3; i++ {
			MustAppend(t, s, wire.LobbyID, alice, fmt.Sprint(i), fmt.Sprint("第", i, "条新消息"))
			p, err := s.Search(ctx, q)
			if err != nil || len(p.Messages) != i || p.Messages[0].Text != fmt.Sprint("第", i, "条新消息") {
				t.Fatalf("after %d: %+v %v", i, p, err)
			}
		}
		dup, isDup, err := s.Append(ctx, newMessage(wire.LobbyID, alice, "1", "重发的新消息"))
		if err != nil || !isDup {
			t.Fatalf("resend: %+v %v %v", dup, isDup, err)
		}
		if p, _ := s.Search(ctx, q); len(p.Messages) != 3 {
			t.Fatalf("a resend was indexed: %d hits", len(p.Messages))
		}
	})
}
