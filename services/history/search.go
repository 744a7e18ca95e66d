package history

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
)

// SearchQuery asks for the messages one user may read — the lobby and
// their direct conversations — that have every term and pass every filter,
// newest first.
type SearchQuery struct {
	UserID         string    // who asks: only what they may read is found
	Terms          []Term    // from QueryTerms; none: every message the filters let through
	ConversationID string    // "" for all the user's conversations
	SenderID       string    // "" for anyone
	Kind           string    // wire.KindText, KindImage or KindVoice; "" for all
	Since, Until   time.Time // created_at ≥ Since and < Until; zero for no bound
	Limit          int       // at most this many messages
	Cursor         string    // "" for the newest; else a NextCursor this store gave
}

// SearchPage is one page of a search, newest first.
type SearchPage struct {
	Messages   []*Message
	NextCursor string // where the next page starts; "" when there is none
}

// Search terms that are not words of a text: the message's kind,
// conversation and sender, and (SQLite) the users who may read it. Text
// terms are letters and digits only, so these, with their ':' or '-',
// never meet one.
const (
	kindTermPrefix   = "k"
	convTermPrefix   = "c"
	senderTermPrefix = "s"
	readerTermPrefix = "u"
)

// fieldTerm is the term for a field's value: prefix ":" value for IDs made
// of lowercase letters, digits and '-' (all this service makes), prefix
// "-" and the value in hex for anything else, so no two values share one.
func fieldTerm(prefix, value string) string {
	clean := value != ""
	for _, r := range value {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
			clean = false
			break
		}
	}
	if clean {
		return prefix + ":" + value
	}
	return prefix + "-" + hex.EncodeToString([]byte(value))
}

// filterTerms are the field terms a query's filters ask for.
func filterTerms(q SearchQuery) []string {
	var out []string
	if q.Kind != "" {
		out = append(out, fieldTerm(kindTermPrefix, q.Kind))
	}
	if q.ConversationID != "" {
		out = append(out, fieldTerm(convTermPrefix, q.ConversationID))
	}
	if q.SenderID != "" {
		out = append(out, fieldTerm(senderTermPrefix, q.SenderID))
	}
	return out
}

// messageTerms are the terms a message is indexed under: its text's and
// its fields'.
func messageTerms(m *Message) []string {
	return append(IndexTerms(m.Text),
		fieldTerm(kindTermPrefix, m.Kind), fieldTerm(convTermPrefix, m.ConversationID), fieldTerm(senderTermPrefix, m.SenderID))
}

// Cursors are opaque to clients: base64url of a version and the position
// of the last hit, in each store's own terms.
const cursorVersion = "1"

func encodeCursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorVersion + "|" + strings.Join(parts, "|")))
}

// decodeCursor returns the n parts of a cursor made by encodeCursor.
func decodeCursor(c string, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	parts := strings.Split(string(b), "|")
	if err != nil || len(parts) != n+1 || parts[0] != cursorVersion {
		return nil, errBadCursor()
	}
	return parts[1:], nil
}

func errBadCursor() error {
	return apperr.FieldErrorf("cursor", apperr.Invalid, "cursor is not one this search gave out; start again without it.")
}

// ceilMilli rounds t up to a whole millisecond, in UTC: messages have
// whole milliseconds, so created_at ≥ t and < t mean the same after it.
func ceilMilli(t time.Time) time.Time {
	r := t.UTC().Truncate(time.Millisecond)
	if r.Before(t) {
		r = r.Add(time.Millisecond)
	}
	return r
}
