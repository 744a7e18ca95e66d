package history

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/wire"
)

// Message is a stored message: the sender by ID only (users live in auth).
type Message struct {
	ID             string
	ConversationID string
	Seq            int64 // 1, 2, 3… per conversation, assigned by the store
	SenderID       string
	Kind           string // wire.KindText, KindImage, KindVoice
	Text           string
	MediaID        string
	Media          *wire.Media // image and voice: the media's metadata as it was when sent
	ClientID       string      // unique per sender
	CreatedAt      time.Time   // millisecond precision, UTC
}

// Conversation is the lobby or a direct conversation between two users.
type Conversation struct {
	ID        string
	Kind      string   // wire.ConversationRoom or wire.ConversationDirect
	Title     string   // rooms only; a direct is titled by its peer
	Members   []string // nil for the lobby (everyone); a direct's two user IDs, sorted
	CreatedAt time.Time
	LastSeq   int64     // seq of the newest message, 0 when there is none
	LastAt    time.Time // time of the newest message, or CreatedAt
}

// Member reports whether userID may read and write the conversation.
func (c *Conversation) Member(userID string) bool {
	if c.Members == nil {
		return c.ID == wire.LobbyID
	}
	for _, m := range c.Members {
		if m == userID {
			return true
		}
	}
	return false
}

// Summary is a conversation as one user's list shows it.
type Summary struct {
	Conversation
	Last   *Message // the newest message, nil when there is none
	Unread int64    // messages after the user's read marker, not their own
}

// PageMode says where a page of messages sits.
type PageMode int

// Page modes: the newest messages, or those before, after or around a seq.
const (
	Newest PageMode = iota
	Before
	After
	Around
)

// Page asks for up to Limit messages of a conversation, relative to Seq.
type Page struct {
	Mode  PageMode
	Seq   int64
	Limit int
}

// Store keeps conversations, messages and read markers. Implementations:
// SQLite (sqlite.go, sqlite_writer.go) and MongoDB (mongo.go);
// store_test.go is the contract both pass.
type Store interface {
	// Conversation returns the conversation or apperr.NotFound.
	Conversation(ctx context.Context, id string) (*Conversation, error)
	// Direct returns the direct conversation of users a and b (a ≠ b),
	// creating it at now if there is none; created reports which. There is
	// exactly one per pair, also when callers race.
	Direct(ctx context.Context, a, b string, now time.Time) (c *Conversation, created bool, err error)
	// Append stores m under the next seq of its conversation (which must
	// exist) and moves the sender's read marker to it. When the sender
	// already stored a message with m.ClientID, that first message is
	// returned with duplicate true and nothing is stored.
	Append(ctx context.Context, m *Message) (stored *Message, duplicate bool, err error)
	// MessageByClientID returns the message senderID stored with clientID,
	// or apperr.NotFound.
	MessageByClientID(ctx context.Context, senderID, clientID string) (*Message, error)
	// Messages returns a page in ascending seq and whether more messages
	// lie beyond it in the page's direction (either side for Around).
	Messages(ctx context.Context, conversationID string, p Page) (msgs []*Message, hasMore bool, err error)
	// Summaries returns userID's conversations: the lobby first, then their
	// direct conversations by last activity, newest first.
	Summaries(ctx context.Context, userID string) ([]*Summary, error)
	// Summary returns one conversation as userID's list shows it; access is
	// the caller's to check.
	Summary(ctx context.Context, userID, conversationID string) (*Summary, error)
	// MarkRead moves userID's read marker forward to seq, clamped to the
	// conversation's newest seq; it never moves back.
	MarkRead(ctx context.Context, userID, conversationID string, seq int64) error
	// Search returns a page of the messages q.UserID may read that have
	// every term of q and pass its filters, newest first (search.go).
	Search(ctx context.Context, q SearchQuery) (*SearchPage, error)

	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Close stops background work and releases the database.
	Close() error
}

// directID is the one ID a pair's direct conversation can have, so racing
// get-or-creates meet on the same key.
func directID(a, b string) string {
	lo, hi := sortedPair(a, b)
	return "dm-" + lo + "-" + hi
}

func sortedPair(a, b string) (string, string) {
	if b < a {
		return b, a
	}
	return a, b
}

// unread is what a user has not read: messages after their marker, less
// their own (normally none: sending moves the marker).
func unread(lastSeq, readSeq, ownAfter int64) int64 {
	return max(lastSeq-readSeq-ownAfter, 0)
}

func errConversationNotFound() error {
	return apperr.Errorf(apperr.NotFound, "This conversation does not exist or is not yours.")
}

// lobby is the room every logged-in user is in; stores seed it.
func lobby() *Conversation {
	return &Conversation{ID: wire.LobbyID, Kind: wire.ConversationRoom, Title: "Lobby", CreatedAt: time.UnixMilli(0).UTC(), LastAt: time.UnixMilli(0).UTC()}
}

func isNotFound(err error) bool { return apperr.Code(err) == apperr.NotFound }

func errMessageNotFound() error { return apperr.Errorf(apperr.NotFound, "message not found") }

// pageWith builds a page from two queries every store has: older returns
// up to n messages with seq < below, newest first; newer up to n with
// seq ≥ from, oldest first. Each asks for one more than it keeps, to learn
// whether more lie beyond.
func pageWith(ctx context.Context, p Page, older, newer func(ctx context.Context, seq int64, n int) ([]*Message, error)) ([]*Message, bool, error) {
	backward := func(below int64, n int) ([]*Message, bool, error) {
		msgs, err := older(ctx, below, n+1)
		if err != nil {
			return nil, false, err
		}
		more := len(msgs) > n
		msgs = msgs[:min(len(msgs), n)]
		slices.Reverse(msgs)
		return msgs, more, nil
	}
	forward := func(from int64, n int) ([]*Message, bool, error) {
		msgs, err := newer(ctx, from, n+1)
		if err != nil {
			return nil, false, err
		}
		return msgs[:min(len(msgs), n)], len(msgs) > n, nil
	}
	switch p.Mode {
	case Before:
		return backward(p.Seq, p.Limit)
	case After:
		return forward(min(p.Seq, math.MaxInt64-1)+1, p.Limit)
	case Around:
		half := p.Limit / 2
		before, moreBefore, err := backward(p.Seq, half)
		if err != nil {
			return nil, false, err
		}
		after, moreAfter, err := forward(p.Seq, p.Limit-half)
		if err != nil {
			return nil, false, err
		}
		return append(before, after...), moreBefore || moreAfter, nil
	default:
		return backward(math.MaxInt64, p.Limit)
	}
}
