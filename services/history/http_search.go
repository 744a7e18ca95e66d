package history

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/wire"
)

// maxCursor bounds the cursor a client hands back.
const maxCursor = 200

// SearchResult is one hit as GET /api/search shows it: the message and
// its conversation as the conversation routes render them, and where the
// query's terms are in the message's text.
type SearchResult struct {
	Message      wire.Message      `json:"message"`
	Conversation wire.Conversation `json:"conversation"`
	Highlights   [][2]int          `json:"highlights"` // [start, end) in UTF-16 code units of message.text
}

// search answers GET /api/search (docs/api.md).
func (s *Service) search(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q, err := s.limits.parseSearch(c)
	if err != nil {
		return err
	}
	q.UserID = userID(c)
	if q.ConversationID != "" {
		if _, err := s.access(ctx, q.UserID, q.ConversationID); err != nil {
			return err
		}
	}
	results, next, err := s.Search(ctx, q)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": results, "next_cursor": next})
}

// parseSearch reads and checks the query parameters of GET /api/search.
func (l Limits) parseSearch(c *fiber.Ctx) (SearchQuery, error) {
	param := func(name string) string { return strings.Clone(c.Query(name)) }
	q := SearchQuery{ConversationID: param("conversation_id"), SenderID: param("sender_id"), Kind: param("kind"),
		Cursor: param("cursor"), Limit: l.SearchDefault}
	text := param("q")
	if !utf8.ValidString(text) {
		return q, apperr.FieldErrorf("q", apperr.Invalid, "q is not valid UTF-8.")
	}
	if utf8.RuneCountInString(text) > l.QueryMax {
		return q, apperr.FieldErrorf("q", apperr.Invalid, "q is at most %d characters.", l.QueryMax)
	}
	q.Terms = QueryTerms(text)
	if len(q.Terms) == 0 && strings.TrimSpace(text) != "" {
		return q, apperr.FieldErrorf("q", apperr.Invalid, "q has no letters, digits or characters to search for; punctuation and emoji are not searched.")
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > l.SearchMax {
			return q, apperr.FieldErrorf("limit", apperr.Invalid, "limit is a number from 1 to %d.", l.SearchMax)
		}
		q.Limit = n
	}
	switch q.Kind {
	case "", wire.KindText, wire.KindImage, wire.KindVoice:
	default:
		return q, apperr.FieldErrorf("kind", apperr.Invalid, "kind is text, image or voice.")
	}
	if len(q.SenderID) > maxConversationID {
		return q, apperr.FieldErrorf("sender_id", apperr.Invalid, "sender_id is not a user's id.")
	}
	if len(q.Cursor) > maxCursor {
		return q, errBadCursor()
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		v := c.Query(t.name)
		if v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return q, apperr.FieldErrorf(t.name, apperr.Invalid, "%s is a time in RFC 3339, like 2026-11-25T08:00:00Z.", t.name)
		}
		*t.dst = ceilMilli(at)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Since.After(q.Until) {
		return q, apperr.FieldErrorf("until", apperr.Invalid, "until is before since.")
	}
	if len(q.Terms) == 0 && q.ConversationID == "" && q.SenderID == "" && q.Kind == "" && q.Since.IsZero() && q.Until.IsZero() {
		return q, apperr.FieldErrorf("q", apperr.Invalid, "Type something to search for, or choose a conversation, a person, a type or dates.")
	}
	return q, nil
}

// Search runs q (its caller's access to a named conversation checked) and
// renders the hits: senders with one user lookup, each conversation of
// the page once, as the caller's conversation list shows it.
func (s *Service) Search(ctx context.Context, q SearchQuery) ([]SearchResult, string, error) {
	page, err := s.store.Search(ctx, q)
	if err != nil {
		return nil, "", err
	}
	var hits []*Message
	var sums []*Summary
	convAt := map[string]int{}
	for _, m := range page.Messages {
		// the store answers only what the caller may read; a slip there
		// must still not show anyone another's conversation
		if conv, err := s.conversation(ctx, m.ConversationID); err != nil || !conv.Member(q.UserID) {
			s.log.Error("search returned a message its caller may not read", "user", q.UserID, "conversation", m.ConversationID, "err", err)
			continue
		}
		hits = append(hits, m)
		if _, ok := convAt[m.ConversationID]; ok {
			continue
		}
		sum, err := s.store.Summary(ctx, q.UserID, m.ConversationID)
		if err != nil {
			return nil, "", err
		}
		convAt[m.ConversationID] = len(sums)
		sums = append(sums, sum)
	}
	msgs, err := s.wireMessages(ctx, hits)
	if err != nil {
		return nil, "", err
	}
	convs, err := s.wireConversations(ctx, q.UserID, sums)
	if err != nil {
		return nil, "", err
	}
	out := make([]SearchResult, len(hits))
	for i, m := range hits {
		out[i] = SearchResult{Message: msgs[i], Conversation: convs[convAt[m.ConversationID]], Highlights: Highlights(m.Text, q.Terms)}
	}
	return out, page.NextCursor, nil
}
