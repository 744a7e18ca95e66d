// Package history is the conversations service: the lobby and direct
// conversations, messages numbered 1, 2, 3… per conversation and stored
// before they are acknowledged, read markers and unread counts. The chat
// gateway stores messages through it over NATS (history.append); browsers
// read through its HTTP routes.
package history

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/wire"
)

// Limits are the bounds of DESIGN §5 the history service enforces.
type Limits struct {
	TextMax       int           // characters (runes) of a text message; at least 1 that is not a space
	ClientIDMax   int           // length of a client_id
	PageDefault   int           // messages per page when the client names no limit
	PageMax       int           // the largest limit a client may ask for
	SearchDefault int           // search hits per page when the client names no limit
	SearchMax     int           // the largest search limit a client may ask for
	QueryMax      int           // characters (runes) of a search query
	UserCacheTTL  time.Duration // how long a looked-up user is reused
	UserCacheSize int           // how many users are remembered at most
}

// DefaultLimits returns the limits of DESIGN §5.
func DefaultLimits() Limits {
	return Limits{TextMax: 4000, ClientIDMax: 64, PageDefault: 50, PageMax: 200, SearchDefault: 20, SearchMax: 50, QueryMax: 200,
		UserCacheTTL: time.Minute, UserCacheSize: 10_000}
}

// Config is what the service is built from.
type Config struct {
	Store  Store
	Bus    *bus.Conn
	Log    *slog.Logger
	Now    func() time.Time // the clock; time.Now when nil
	Limits Limits           // DefaultLimits when zero
}

// Service is the history service.
type Service struct {
	store  Store
	bus    *bus.Conn
	log    *slog.Logger
	now    func() time.Time
	limits Limits
	users  *users

	convMu sync.Mutex
	convs  map[string]*Conversation // who may use a conversation: it never changes
}

// maxCachedConversations bounds the membership cache; when full it starts over.
const maxCachedConversations = 100_000

// New builds the service; call Subscribe and Routes to put it to work.
func New(c Config) *Service {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Limits == (Limits{}) {
		c.Limits = DefaultLimits()
	}
	return &Service{store: c.Store, bus: c.Bus, log: c.Log.With("service", "history"), now: c.Now, limits: c.Limits,
		users: newUsers(c.Bus, c.Limits.UserCacheTTL, c.Limits.UserCacheSize, c.Now), convs: map[string]*Conversation{}}
}

// Ping checks the store.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// maxConversationID bounds conversation IDs taken from clients.
const maxConversationID = 200

// maxMediaID bounds media IDs taken from clients.
const maxMediaID = 64

// access returns the conversation if userID may read and write it; an
// unknown conversation and someone else's look the same (not_found).
func (s *Service) access(ctx context.Context, userID, conversationID string) (*Conversation, error) {
	if userID == "" || conversationID == "" || len(conversationID) > maxConversationID {
		return nil, errConversationNotFound()
	}
	c, err := s.conversation(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	if !c.Member(userID) {
		return nil, errConversationNotFound()
	}
	return c, nil
}

// conversation returns what never changes of a conversation (id, kind,
// title, members, creation), from memory after the first read: every
// message sent asks, and a query costs more than the rest of the check.
func (s *Service) conversation(ctx context.Context, id string) (*Conversation, error) {
	s.convMu.Lock()
	c, ok := s.convs[id]
	s.convMu.Unlock()
	if ok {
		return c, nil
	}
	c, err := s.store.Conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	c = &Conversation{ID: c.ID, Kind: c.Kind, Title: c.Title, Members: c.Members, CreatedAt: c.CreatedAt}
	s.convMu.Lock()
	if len(s.convs) >= maxCachedConversations {
		clear(s.convs)
	}
	s.convs[id] = c
	s.convMu.Unlock()
	return c, nil
}

// checkAppend refuses a message that may not be stored as it is.
func (l Limits) checkAppend(r wire.AppendRequest) error {
	if r.SenderID == "" {
		return apperr.FieldErrorf("sender_id", apperr.Invalid, "sender_id is required.")
	}
	if r.ClientID == "" || utf8.RuneCountInString(r.ClientID) > l.ClientIDMax {
		return apperr.FieldErrorf("client_id", apperr.Invalid, "client_id is required and at most %d characters.", l.ClientIDMax)
	}
	switch r.Kind {
	case wire.KindText:
		if !utf8.ValidString(r.Text) {
			return apperr.FieldErrorf("text", apperr.Invalid, "The text is not valid UTF-8.")
		}
		if strings.TrimSpace(r.Text) == "" {
			return apperr.FieldErrorf("text", "text_empty", "Write something before sending.")
		}
		if utf8.RuneCountInString(r.Text) > l.TextMax {
			return apperr.FieldErrorf("text", "text_too_long", "A message is at most %d characters.", l.TextMax)
		}
		return nil
	case wire.KindImage, wire.KindVoice:
		if r.MediaID == "" || len(r.MediaID) > maxMediaID {
			return apperr.FieldErrorf("media_id", apperr.Invalid, "A picture or voice message names its upload in media_id.")
		}
		if r.Text != "" {
			return apperr.FieldErrorf("text", apperr.Invalid, "Pictures and voice messages carry no text; send the text as its own message.")
		}
		return nil
	default:
		return apperr.FieldErrorf("kind", apperr.Invalid, "kind is text, image or voice.")
	}
}

// Append stores a message the gateway received (history.append): checked,
// numbered, stored durably, and only then answered. A resend of the same
// (sender, client_id) returns the first stored message with Duplicate set.
// An image or voice message carries the metadata media answers to
// media.claim, which also binds the upload to this message.
func (s *Service) Append(ctx context.Context, r wire.AppendRequest) (wire.AppendReply, error) {
	if err := s.limits.checkAppend(r); err != nil {
		return wire.AppendReply{}, err
	}
	conv, err := s.access(ctx, r.SenderID, r.ConversationID)
	if err != nil {
		return wire.AppendReply{}, err
	}
	// before storing: if auth does not answer, nothing is stored and the
	// client's resend starts afresh
	sender, ok, err := s.users.user(ctx, r.SenderID)
	if err != nil {
		return wire.AppendReply{}, err
	}
	if !ok {
		return wire.AppendReply{}, apperr.Errorf(apperr.Unauthorized, "Your account no longer exists.")
	}
	m := &Message{ID: ids.New(), ConversationID: conv.ID, SenderID: r.SenderID, Kind: r.Kind, Text: r.Text,
		ClientID: r.ClientID, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if r.Kind != wire.KindText {
		// a resend is answered before the claim: its upload is taken already
		old, err := s.store.MessageByClientID(ctx, r.SenderID, r.ClientID)
		if err == nil {
			return wire.AppendReply{Message: wireMessage(old, sender), Members: conv.Members, Duplicate: true}, nil
		}
		if !isNotFound(err) {
			return wire.AppendReply{}, err
		}
		claim, err := bus.Request[wire.MediaClaimRequest, wire.MediaClaimReply](ctx, s.bus, wire.SubjectMediaClaim, wire.MediaClaimRequest{
			MediaID: r.MediaID, SenderID: r.SenderID, ConversationID: conv.ID, Kind: r.Kind, ClientID: r.ClientID})
		if err != nil {
			return wire.AppendReply{}, err
		}
		m.MediaID, m.Media = claim.Media.ID, &claim.Media
	}
	stored, dup, err := s.store.Append(ctx, m)
	if err != nil {
		return wire.AppendReply{}, err
	}
	return wire.AppendReply{Message: wireMessage(stored, sender), Members: conv.Members, Duplicate: dup}, nil
}

// Members names who may read a conversation (history.members): nil for
// the lobby, the two users of a direct. The asker must be one of them.
func (s *Service) Members(ctx context.Context, r wire.MembersRequest) (wire.MembersReply, error) {
	c, err := s.access(ctx, r.UserID, r.ConversationID)
	if err != nil {
		return wire.MembersReply{}, err
	}
	return wire.MembersReply{Members: c.Members}, nil
}

// Read moves a read marker forward (history.read). A seq past the newest
// message is clamped to it; a marker never moves back.
func (s *Service) Read(ctx context.Context, r wire.ReadRequest) (wire.ReadReply, error) {
	if r.Seq < 0 {
		return wire.ReadReply{}, apperr.FieldErrorf("seq", apperr.Invalid, "seq is a message number, 0 or more.")
	}
	if _, err := s.access(ctx, r.UserID, r.ConversationID); err != nil {
		return wire.ReadReply{}, err
	}
	if r.Seq == 0 {
		return wire.ReadReply{}, nil
	}
	return wire.ReadReply{}, s.store.MarkRead(ctx, r.UserID, r.ConversationID, r.Seq)
}

// Direct gets or creates userID's direct conversation with peerID.
func (s *Service) Direct(ctx context.Context, userID, peerID string) (*Summary, bool, error) {
	if peerID == "" || len(peerID) > maxConversationID {
		return nil, false, apperr.FieldErrorf("user_id", apperr.Invalid, "user_id names the person to talk to.")
	}
	if peerID == userID {
		return nil, false, apperr.FieldErrorf("user_id", apperr.Invalid, "You cannot start a conversation with yourself.")
	}
	if _, ok, err := s.users.user(ctx, peerID); err != nil {
		return nil, false, err
	} else if !ok {
		return nil, false, apperr.FieldErrorf("user_id", apperr.NotFound, "There is no such user.")
	}
	c, created, err := s.store.Direct(ctx, userID, peerID, s.now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return nil, false, err
	}
	sum, err := s.store.Summary(ctx, userID, c.ID)
	return sum, created, err
}

func wireMessage(m *Message, sender wire.User) wire.Message {
	return wire.Message{ID: m.ID, ConversationID: m.ConversationID, Seq: m.Seq, Sender: sender, Kind: m.Kind,
		Text: m.Text, Media: m.Media, ClientID: m.ClientID, CreatedAt: wire.NewTime(m.CreatedAt)}
}

// wireMessages fills the senders of msgs with one lookup.
func (s *Service) wireMessages(ctx context.Context, msgs []*Message) ([]wire.Message, error) {
	senders := make([]string, len(msgs))
	for i, m := range msgs {
		senders[i] = m.SenderID
	}
	us, err := s.users.get(ctx, senders)
	if err != nil {
		return nil, err
	}
	out := make([]wire.Message, len(msgs))
	for i, m := range msgs {
		out[i] = wireMessage(m, orUnknown(us, m.SenderID))
	}
	return out, nil
}

// wireConversations shows summaries to userID: a direct's peer and title,
// the newest message with its sender; one user lookup for all.
func (s *Service) wireConversations(ctx context.Context, userID string, sums []*Summary) ([]wire.Conversation, error) {
	var need []string
	for _, sum := range sums {
		if p := peerOf(&sum.Conversation, userID); p != "" {
			need = append(need, p)
		}
		if sum.Last != nil {
			need = append(need, sum.Last.SenderID)
		}
	}
	us, err := s.users.get(ctx, need)
	if err != nil {
		return nil, err
	}
	out := make([]wire.Conversation, len(sums))
	for i, sum := range sums {
		c := wire.Conversation{ID: sum.ID, Kind: sum.Kind, Title: sum.Title, Unread: sum.Unread}
		if p := peerOf(&sum.Conversation, userID); p != "" {
			peer := orUnknown(us, p)
			c.Peer, c.Title = &peer, peer.Nickname
		}
		if sum.Last != nil {
			last := wireMessage(sum.Last, orUnknown(us, sum.Last.SenderID))
			c.LastMessage = &last
		}
		out[i] = c
	}
	return out, nil
}

// peerOf is the other member of a direct conversation, "" for a room.
func peerOf(c *Conversation, userID string) string {
	if len(c.Members) != 2 {
		return ""
	}
	if c.Members[0] == userID {
		return c.Members[1]
	}
	return c.Members[0]
}
