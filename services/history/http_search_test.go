package history_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
)

// searchBody is GET /api/search.
type searchBody struct {
	Results []struct {
		Message      wire.Message      `json:"message"`
		Conversation wire.Conversation `json:"conversation"`
		Highlights   [][2]int          `json:"highlights"`
	} `json:"results"`
	NextCursor string `json:"next_cursor"`
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// MustSearch runs GET /api/search with params; it must answer 200.
func (c *client) MustSearch(params url.Values) searchBody {
	c.tb.Helper()
	r := c.Get("/api/search?" + params.Encode())
	if r.Status != 200 {
		c.tb.Fatalf("search %s: %d %s", params.Encode(), r.Status, r.Body)
	}
	var b searchBody
	r.Decode(c.tb, &b)
	return b
}

func TestSearchRoute(t *testing.T) {
	s := MustServe(t)
	alice, bob, carol := s.MustUser(t, "alice"), s.MustUser(t, "bob"), s.MustUser(t, "carol")
	dm := alice.MustDirect(bob)
	lobbyHit := s.MustSend(t, alice, wire.LobbyID, "l1", "🎉明天开会议，Kubernetes 升级")
	s.MustSend(t, bob, wire.LobbyID, "l2", "收到")
	dmHit := s.MustSend(t, bob, dm.ID, "d1", "秘密会议在三楼")
	pic := &wire.Media{ID: "pic1", URL: "/api/media/pic1", ThumbnailURL: "/api/media/pic1/thumbnail", Mime: "image/png", Size: 1234, Width: 10, Height: 20}
	if _, _, err := s.Store.Append(context.Background(), &history.Message{ID: ids.New(), ConversationID: dm.ID, SenderID: alice.User.ID,
		Kind: wire.KindImage, MediaID: pic.ID, Media: pic, ClientID: "p1", CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}); err != nil {
		t.Fatal(err)
	}

	// hits are the messages and conversations as the conversation routes show them
	b := alice.MustSearch(url.Values{"q": {"会议"}})
	if len(b.Results) != 2 || b.NextCursor != "" {
		t.Fatalf("alice's 会议: %+v", b)
	}
	pages := map[string]messagesBody{}
	for _, id := range []string{wire.LobbyID, dm.ID} {
		var page messagesBody
		alice.Get("/api/conversations/"+id+"/messages").Decode(t, &page)
		pages[id] = page
	}
	convs := map[string]wire.Conversation{}
	for _, c := range alice.MustConversations() {
		convs[c.ID] = c
	}
	for i, want := range []struct {
		msg        wire.Message
		highlights string
	}{{dmHit, "[[2 4]]"}, {lobbyHit, "[[5 7]]"}} {
		r := b.Results[i]
		if r.Message.ID != want.msg.ID || r.Message.Sender.Nickname == "" {
			t.Fatalf("hit %d: %+v, want %s", i, r.Message, want.msg.Text)
		}
		page := pages[r.Message.ConversationID].Messages
		if got, listed := mustJSON(t, r.Message), mustJSON(t, page[r.Message.Seq-1]); got != listed {
			t.Errorf("hit %d renders as\n%s\nthe conversation lists\n%s", i, got, listed)
		}
		if got, listed := mustJSON(t, r.Conversation), mustJSON(t, convs[r.Message.ConversationID]); got != listed {
			t.Errorf("hit %d's conversation renders as\n%s\nthe list shows\n%s", i, got, listed)
		}
		if got := fmt.Sprint(r.Highlights); got != want.highlights {
			t.Errorf("hit %d highlights %s, want %s (UTF-16: the emoji is two)", i, got, want.highlights)
		}
	}
	if r := alice.Get("/api/search?q=" + url.QueryEscape("kube 会议")); !bytes.Contains(r.Body, []byte(`"highlights":[[5,7],[8,12]]`)) {
		t.Errorf("two terms: %s", r.Body)
	}

	// a picture is found by kind, with its media, and has no highlights
	b = alice.MustSearch(url.Values{"kind": {"image"}})
	if len(b.Results) != 1 || b.Results[0].Message.Media == nil || fmt.Sprintf("%+v", *b.Results[0].Message.Media) != fmt.Sprintf("%+v", *pic) ||
		b.Results[0].Highlights == nil || len(b.Results[0].Highlights) != 0 || b.Results[0].Conversation.Peer.ID != bob.User.ID {
		t.Fatalf("pictures: %+v", b)
	}

	// carol never sees alice and bob's conversation
	if b := carol.MustSearch(url.Values{"q": {"会议"}}); len(b.Results) != 1 || b.Results[0].Message.ID != lobbyHit.ID {
		t.Fatalf("carol's 会议: %+v", b)
	}
	if b := carol.MustSearch(url.Values{"kind": {"image"}}); len(b.Results) != 0 {
		t.Fatalf("carol found alice's picture: %+v", b)
	}
	unknown := carol.Get("/api/search?q=x&conversation_id=dm-nobody-nothing")
	if unknown.Status != 404 || unknown.ErrorCode() != apperr.NotFound {
		t.Fatalf("unknown conversation: %d %s", unknown.Status, unknown.Body)
	}
	if r := carol.Get("/api/search?q=x&conversation_id=" + dm.ID); r.Status != 404 || !bytes.Equal(r.Body, unknown.Body) {
		t.Fatalf("carol naming alice and bob's conversation: %d %s; want exactly the unknown conversation's 404", r.Status, r.Body)
	}
	if b := bob.MustSearch(url.Values{"conversation_id": {dm.ID}, "sender_id": {bob.User.ID}}); len(b.Results) != 1 || b.Results[0].Message.ID != dmHit.ID {
		t.Fatalf("bob's own in the conversation: %+v", b)
	}

	// nothing is [] on the wire
	if r := alice.Get("/api/search?q=" + url.QueryEscape("量子计算")); r.Status != 200 || string(r.Body) != `{"next_cursor":"","results":[]}` {
		t.Fatalf("no hits: %d %s", r.Status, r.Body)
	}

	// a hit opens in context: its seq is where around= starts
	var around messagesBody
	alice.Get(fmt.Sprintf("/api/conversations/%s/messages?around=%d&limit=4", dm.ID, dmHit.Seq)).Decode(t, &around)
	if len(around.Messages) != 2 || around.Messages[0].ID != dmHit.ID {
		t.Fatalf("around the hit: %+v", around)
	}

	t.Run("bad requests", func(t *testing.T) {
		for _, c := range []struct{ query, field string }{
			{"", "q"},
			{"q=", "q"},
			{"q=%20%20", "q"},
			{"q=" + url.QueryEscape("🎉!!"), "q"},
			{"q=" + strings.Repeat("会", 201), "q"},
			{"q=%ff%fe", "q"},
			{"q=a&kind=video", "kind"},
			{"kind=Text", "kind"},
			{"q=a&limit=0", "limit"},
			{"q=a&limit=51", "limit"},
			{"q=a&limit=ten", "limit"},
			{"q=a&since=yesterday", "since"},
			{"q=a&until=2026-13-01T00:00:00Z", "until"},
			{"since=2026-02-01", "since"},
			{"q=a&since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"},
			{"q=a&cursor=nonsense", "cursor"},
			{"q=a&cursor=" + strings.Repeat("x", 201), "cursor"},
			{"q=a&sender_id=" + strings.Repeat("x", 201), "sender_id"},
		} {
			r := alice.Get("/api/search?" + c.query)
			var e struct {
				Error struct{ Code, Message, Field string } `json:"error"`
			}
			r.Decode(t, &e)
			if r.Status != 400 || e.Error.Code != apperr.Invalid || e.Error.Field != c.field || e.Error.Message == "" {
				t.Errorf("%s: %d %s, want 400 invalid_input on %s", c.query, r.Status, r.Body, c.field)
			}
		}
		if r := alice.Get("/api/search?q=" + strings.Repeat("会", 200)); r.Status != 200 {
			t.Errorf("200 characters: %d %s", r.Status, r.Body)
		}
		if r := s.Anonymous(t).Get("/api/search?q=a"); r.Status != 401 {
			t.Errorf("without a session: %d %s", r.Status, r.Body)
		}
	})
}

func TestSearchRoutePages(t *testing.T) {
	s := MustServe(t)
	alice := s.MustUser(t, "alice")
	var sent []wire.Message
	for i := range 45 {
		sent = append(sent, s.MustSend(t, alice, wire.LobbyID, fmt.Sprint(i), fmt.Sprintf("第%d次开会", i)))
	}
	if b := alice.MustSearch(url.Values{"q": {"开会"}}); len(b.Results) != 20 || b.NextCursor == "" || b.Results[0].Message.ID != sent[44].ID {
		t.Fatalf("default page: %d results, cursor %q", len(b.Results), b.NextCursor)
	}
	var got []string
	params := url.Values{"q": {"开会"}, "limit": {"17"}}
	for range 10 {
		b := alice.MustSearch(params)
		for _, r := range b.Results {
			got = append(got, r.Message.ID)
		}
		if b.NextCursor == "" {
			break
		}
		params.Set("cursor", b.NextCursor)
	}
	var want []string
	for i := len(sent) - 1; i >= 0; i-- {
		want = append(want, sent[i].ID)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("paged:\n got %v\nwant %v", got, want)
	}

	// dates: since is in, until is out
	mid := sent[20].CreatedAt.Time
	b := alice.MustSearch(url.Values{"q": {"开会"}, "limit": {"50"}, "since": {mid.Format(time.RFC3339Nano)}})
	if n := len(b.Results); n == 0 || b.Results[n-1].Message.CreatedAt.Before(mid) {
		t.Fatalf("since %v: %d results", mid, n)
	}
	for _, r := range b.Results {
		if r.Message.CreatedAt.Before(mid) {
			t.Fatalf("since %v found %v", mid, r.Message.CreatedAt)
		}
	}
	b = alice.MustSearch(url.Values{"kind": {"text"}, "limit": {"50"}, "until": {mid.Format(time.RFC3339Nano)}})
	for _, r := range b.Results {
		if !r.Message.CreatedAt.Before(mid) {
			t.Fatalf("until %v found %v", mid, r.Message.CreatedAt)
		}
	}
	if len(b.Results) == 0 {
		t.Fatal("until found nothing")
	}
}
