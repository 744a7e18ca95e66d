package history

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/mongodb"
)

// maxSeqAttempts bounds how often one append retries a seq another
// replica took first.
const maxSeqAttempts = 100

// Append claims the next seq by inserting under the unique index; a
// duplicate key is either a resend (same sender and client ID: answered
// with the first message) or a lost race for the seq (tried again after
// reading the highest stored seq).
func (s *MongoStore) Append(ctx context.Context, m *Message) (*Message, bool, error) {
	mu := s.stripe(m.ConversationID)
	mu.Lock()
	stored, dup, err := s.insert(ctx, m)
	mu.Unlock()
	if err != nil {
		return nil, false, err
	}
	// Done again for a resend, so a crash between the insert and these
	// updates is healed when the unacknowledged client sends again.
	if err := s.afterInsert(ctx, stored); err != nil {
		return nil, false, err
	}
	return stored, dup, nil
}

// insert stores m at the seq after a hint, which is a seq known to be
// stored (or 0): never a hole, since a hint behind the newest message only
// meets a duplicate key and is then replaced by the highest stored seq.
func (s *MongoStore) insert(ctx context.Context, m *Message) (*Message, bool, error) {
	last, err := s.seqHint(ctx, m.ConversationID)
	if err != nil {
		return nil, false, err
	}
	for attempt := 0; attempt < maxSeqAttempts; attempt++ {
		d := newMsgDoc(m, last+1)
		_, err = s.msgs.InsertOne(ctx, withTerms(d))
		if err == nil {
			s.setHint(m.ConversationID, d.Seq)
			return d.message(), false, nil
		}
		if !mongodb.IsDuplicate(err) {
			return nil, false, fmt.Errorf("insert message: %w", err)
		}
		old, err := s.MessageByClientID(ctx, m.SenderID, m.ClientID)
		if err == nil {
			return old, true, nil
		}
		if !isNotFound(err) {
			return nil, false, err
		}
		if last, err = s.lastSeq(ctx, m.ConversationID); err != nil {
			return nil, false, err
		}
	}
	return nil, false, &apperr.Error{Code: apperr.Unavailable, Message: "The conversation is busy; try again.",
		Err: fmt.Errorf("append to %s: no free seq after %d attempts", m.ConversationID, maxSeqAttempts)}
}

// afterInsert moves the conversation's newest message and the sender's
// read marker forward; both only ever move forward.
func (s *MongoStore) afterInsert(ctx context.Context, m *Message) error {
	_, err := s.convs.UpdateOne(ctx, bson.D{{Key: "_id", Value: m.ConversationID}, {Key: "last_seq", Value: bson.D{{Key: "$lt", Value: m.Seq}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "last_seq", Value: m.Seq}, {Key: "last_at", Value: m.CreatedAt}, {Key: "last_id", Value: m.ID}}}})
	if err != nil {
		return fmt.Errorf("update conversation: %w", err)
	}
	return s.markRead(ctx, m.SenderID, m.ConversationID, m.Seq)
}

func (s *MongoStore) stripe(id string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return &s.stripes[h.Sum32()%uint32(len(s.stripes))]
}

// seqHint returns a seq known to be stored in the conversation: the last
// one this process stored, else the conversation's last_seq (which lags
// behind the messages, never ahead). An unknown conversation is not_found.
func (s *MongoStore) seqHint(ctx context.Context, id string) (int64, error) {
	s.hintMu.Lock()
	seq, ok := s.hints[id]
	s.hintMu.Unlock()
	if ok {
		return seq, nil
	}
	c, err := s.Conversation(ctx, id)
	if err != nil {
		return 0, err
	}
	s.setHint(id, c.LastSeq)
	return c.LastSeq, nil
}

func (s *MongoStore) setHint(id string, seq int64) {
	s.hintMu.Lock()
	defer s.hintMu.Unlock()
	if _, ok := s.hints[id]; !ok && len(s.hints) >= maxHints {
		clear(s.hints)
	}
	s.hints[id] = max(s.hints[id], seq)
}

// lastSeq is the highest stored seq of a conversation, 0 when it has none.
func (s *MongoStore) lastSeq(ctx context.Context, conversationID string) (int64, error) {
	var d struct {
		Seq int64 `bson:"seq"`
	}
	opts := options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}}).SetProjection(bson.D{{Key: "seq", Value: 1}})
	err := s.msgs.FindOne(ctx, bson.D{{Key: "conversation_id", Value: conversationID}}, opts).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last seq: %w", err)
	}
	return d.Seq, nil
}
