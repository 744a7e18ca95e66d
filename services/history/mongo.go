package history

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/webchatroom/chatroom/internal/mongodb"
	"github.com/webchatroom/chatroom/internal/wire"
)

// MongoStore is the Store of the cluster: collections history_conversations,
// history_messages and history_reads. It needs no transactions: a message's
// seq is claimed by inserting it under the unique (conversation_id, seq)
// index, so no seq is ever used up without a stored message.
type MongoStore struct {
	db    *mongo.Database
	convs *mongo.Collection
	msgs  *mongo.Collection
	reads *mongo.Collection

	// appends to one conversation take turns inside this process, so
	// replicas race for a seq only with each other
	stripes [64]sync.Mutex

	hintMu sync.Mutex
	hints  map[string]int64 // conversation → a seq known to be stored (conversations are never deleted)
}

// maxHints bounds the seq hints kept.
const maxHints = 100_000

var _ Store = (*MongoStore)(nil)

type convDoc struct {
	ID        string    `bson:"_id"`
	Kind      string    `bson:"kind"`
	Title     string    `bson:"title"`
	Members   []string  `bson:"members,omitempty"`
	CreatedAt time.Time `bson:"created_at"`
	LastSeq   int64     `bson:"last_seq"`
	LastAt    time.Time `bson:"last_at"`
	LastID    string    `bson:"last_id"`
}

type msgDoc struct {
	ID             string    `bson:"_id"`
	ConversationID string    `bson:"conversation_id"`
	Seq            int64     `bson:"seq"`
	SenderID       string    `bson:"sender_id"`
	Kind           string    `bson:"kind"`
	Text           string    `bson:"text"`
	MediaID        string    `bson:"media_id,omitempty"`
	Media          *mediaDoc `bson:"media,omitempty"`
	ClientID       string    `bson:"client_id"`
	CreatedAt      time.Time `bson:"created_at"`
}

// mediaDoc is wire.Media as stored with a message (same fields, so the two
// convert into each other).
type mediaDoc struct {
	ID           string `bson:"id"`
	URL          string `bson:"url"`
	ThumbnailURL string `bson:"thumbnail_url,omitempty"`
	Mime         string `bson:"mime"`
	Size         int64  `bson:"size"`
	Width        int    `bson:"width,omitempty"`
	Height       int    `bson:"height,omitempty"`
	DurationMS   int    `bson:"duration_ms,omitempty"`
	Waveform     []int  `bson:"waveform,omitempty"`
}

type readDoc struct {
	ConversationID string `bson:"conversation_id"`
	Seq            int64  `bson:"seq"`
}

// OpenMongo uses database db, makes sure its indexes exist and seeds the lobby.
func OpenMongo(ctx context.Context, db *mongo.Database) (*MongoStore, error) {
	s := &MongoStore{db: db, convs: db.Collection("history_conversations"), msgs: db.Collection("history_messages"), reads: db.Collection("history_reads"), hints: map[string]int64{}}
	// each index gets its own options: the driver writes the generated name into them
	unique := func() *options.IndexOptions { return options.Index().SetUnique(true) }
	indexes := []struct {
		c     *mongo.Collection
		model mongo.IndexModel
	}{
		{s.msgs, mongo.IndexModel{Keys: bson.D{{Key: "conversation_id", Value: 1}, {Key: "seq", Value: 1}}, Options: unique()}},
		{s.msgs, mongo.IndexModel{Keys: bson.D{{Key: "sender_id", Value: 1}, {Key: "client_id", Value: 1}}, Options: unique()}},
		{s.msgs, mongo.IndexModel{Keys: bson.D{{Key: "conversation_id", Value: 1}, {Key: "sender_id", Value: 1}, {Key: "seq", Value: 1}}}},
		{s.msgs, mongo.IndexModel{Keys: searchIndexKeys}}, // mongo_search.go
		{s.convs, mongo.IndexModel{Keys: bson.D{{Key: "members", Value: 1}, {Key: "last_at", Value: -1}}}},
		{s.reads, mongo.IndexModel{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "conversation_id", Value: 1}}, Options: unique()}},
	}
	for _, ix := range indexes {
		if _, err := ix.c.Indexes().CreateOne(ctx, ix.model); err != nil {
			return nil, fmt.Errorf("mongo index on %s: %w", ix.c.Name(), err)
		}
	}
	if err := s.indexOlder(ctx); err != nil {
		return nil, err
	}
	l := lobby()
	_, err := s.convs.UpdateOne(ctx, bson.D{{Key: "_id", Value: l.ID}}, bson.D{{Key: "$setOnInsert", Value: bson.D{
		{Key: "kind", Value: l.Kind}, {Key: "title", Value: l.Title}, {Key: "created_at", Value: l.CreatedAt},
		{Key: "last_seq", Value: int64(0)}, {Key: "last_at", Value: l.LastAt}, {Key: "last_id", Value: ""},
	}}}, options.Update().SetUpsert(true))
	if err != nil && !mongodb.IsDuplicate(err) { // a replica starting beside us seeded it
		return nil, fmt.Errorf("seed lobby: %w", err)
	}
	return s, nil
}

func (d *convDoc) conversation() *Conversation {
	c := &Conversation{ID: d.ID, Kind: d.Kind, Title: d.Title, CreatedAt: d.CreatedAt.UTC(), LastSeq: d.LastSeq, LastAt: d.LastAt.UTC()}
	if len(d.Members) == 2 {
		c.Members = d.Members
	}
	return c
}

func (d *msgDoc) message() *Message {
	m := &Message{ID: d.ID, ConversationID: d.ConversationID, Seq: d.Seq, SenderID: d.SenderID, Kind: d.Kind,
		Text: d.Text, MediaID: d.MediaID, ClientID: d.ClientID, CreatedAt: d.CreatedAt.UTC()}
	if d.Media != nil {
		media := wire.Media(*d.Media)
		m.Media = &media
	}
	return m
}

func newMsgDoc(m *Message, seq int64) msgDoc {
	d := msgDoc{ID: m.ID, ConversationID: m.ConversationID, Seq: seq, SenderID: m.SenderID, Kind: m.Kind,
		Text: m.Text, MediaID: m.MediaID, ClientID: m.ClientID, CreatedAt: m.CreatedAt.UTC().Truncate(time.Millisecond)}
	if m.Media != nil {
		media := mediaDoc(*m.Media)
		d.Media = &media
	}
	return d
}

// MessageByClientID looks up a sender's message by its client ID.
func (s *MongoStore) MessageByClientID(ctx context.Context, senderID, clientID string) (*Message, error) {
	var d msgDoc
	err := s.msgs.FindOne(ctx, bson.D{{Key: "sender_id", Value: senderID}, {Key: "client_id", Value: clientID}}, options.FindOne().SetProjection(withoutTerms)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, errMessageNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find client id: %w", err)
	}
	return d.message(), nil
}

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

// Conversation looks up one conversation.
func (s *MongoStore) Conversation(ctx context.Context, id string) (*Conversation, error) {
	var d convDoc
	err := s.convs.FindOne(ctx, byID(id)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, errConversationNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get conversation: %w", err)
	}
	return d.conversation(), nil
}

// Direct gets or creates the pair's conversation: the insert under the
// pair's one ID decides which racer creates it.
func (s *MongoStore) Direct(ctx context.Context, a, b string, now time.Time) (*Conversation, bool, error) {
	id := directID(a, b)
	if c, err := s.Conversation(ctx, id); err == nil {
		return c, false, nil
	} else if !isNotFound(err) {
		return nil, false, err
	}
	lo, hi := sortedPair(a, b)
	now = now.UTC().Truncate(time.Millisecond)
	d := convDoc{ID: id, Kind: wire.ConversationDirect, Members: []string{lo, hi}, CreatedAt: now, LastAt: now}
	_, err := s.convs.InsertOne(ctx, d)
	if mongodb.IsDuplicate(err) {
		c, err := s.Conversation(ctx, id)
		return c, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("create direct: %w", err)
	}
	return d.conversation(), true, nil
}

// MarkRead moves a read marker forward, clamped to the newest message.
func (s *MongoStore) MarkRead(ctx context.Context, userID, conversationID string, seq int64) error {
	c, err := s.Conversation(ctx, conversationID)
	if err != nil {
		return err
	}
	return s.markRead(ctx, userID, conversationID, min(seq, c.LastSeq))
}

func (s *MongoStore) markRead(ctx context.Context, userID, conversationID string, seq int64) error {
	filter := bson.D{{Key: "user_id", Value: userID}, {Key: "conversation_id", Value: conversationID}}
	update := bson.D{{Key: "$max", Value: bson.D{{Key: "seq", Value: seq}}}}
	for attempt := 0; ; attempt++ {
		_, err := s.reads.UpdateOne(ctx, filter, update, options.Update().SetUpsert(true))
		if mongodb.IsDuplicate(err) && attempt == 0 {
			continue // a racing upsert inserted the marker first; now it is an update
		}
		if err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
		return nil
	}
}

// Messages reads a page.
func (s *MongoStore) Messages(ctx context.Context, conversationID string, p Page) ([]*Message, bool, error) {
	find := func(ctx context.Context, cmp string, seq int64, dir, n int) ([]*Message, error) {
		filter := bson.D{{Key: "conversation_id", Value: conversationID}, {Key: "seq", Value: bson.D{{Key: cmp, Value: seq}}}}
		cur, err := s.msgs.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "seq", Value: dir}}).SetLimit(int64(n)).SetProjection(withoutTerms))
		if err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		var docs []msgDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		out := make([]*Message, len(docs))
		for i := range docs {
			out[i] = docs[i].message()
		}
		return out, nil
	}
	older := func(ctx context.Context, below int64, n int) ([]*Message, error) {
		return find(ctx, "$lt", below, -1, n)
	}
	newer := func(ctx context.Context, from int64, n int) ([]*Message, error) { return find(ctx, "$gte", from, 1, n) }
	return pageWith(ctx, p, older, newer)
}

// Summaries lists the user's conversations.
func (s *MongoStore) Summaries(ctx context.Context, userID string) ([]*Summary, error) {
	var l convDoc
	if err := s.convs.FindOne(ctx, byID(wire.LobbyID)).Decode(&l); err != nil {
		return nil, fmt.Errorf("get lobby: %w", err)
	}
	cur, err := s.convs.Find(ctx, bson.D{{Key: "members", Value: userID}}, options.Find().SetSort(bson.D{{Key: "last_at", Value: -1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	var docs []convDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return s.summarize(ctx, userID, append([]convDoc{l}, docs...))
}

// Summary shows one conversation as the user's list would.
func (s *MongoStore) Summary(ctx context.Context, userID, conversationID string) (*Summary, error) {
	var d convDoc
	err := s.convs.FindOne(ctx, byID(conversationID)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, errConversationNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get conversation: %w", err)
	}
	out, err := s.summarize(ctx, userID, []convDoc{d})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// summarize adds the newest message and the unread count: one query for
// the read markers, one for the newest messages, and a count of the user's
// own messages after the marker where there are unread ones.
func (s *MongoStore) summarize(ctx context.Context, userID string, docs []convDoc) ([]*Summary, error) {
	ids, lastIDs := make([]string, len(docs)), []string{}
	for i, d := range docs {
		ids[i] = d.ID
		if d.LastID != "" {
			lastIDs = append(lastIDs, d.LastID)
		}
	}
	read := map[string]int64{}
	cur, err := s.reads.Find(ctx, bson.D{{Key: "user_id", Value: userID}, {Key: "conversation_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, fmt.Errorf("read markers: %w", err)
	}
	var rs []readDoc
	if err := cur.All(ctx, &rs); err != nil {
		return nil, fmt.Errorf("read markers: %w", err)
	}
	for _, r := range rs {
		read[r.ConversationID] = r.Seq
	}
	last := map[string]*Message{}
	if len(lastIDs) > 0 {
		cur, err := s.msgs.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: lastIDs}}}}, options.Find().SetProjection(withoutTerms))
		if err != nil {
			return nil, fmt.Errorf("newest messages: %w", err)
		}
		var ms []msgDoc
		if err := cur.All(ctx, &ms); err != nil {
			return nil, fmt.Errorf("newest messages: %w", err)
		}
		for i := range ms {
			last[ms[i].ConversationID] = ms[i].message()
		}
	}
	out := make([]*Summary, len(docs))
	for i := range docs {
		d := &docs[i]
		sum := &Summary{Conversation: *d.conversation(), Last: last[d.ID]}
		if r := read[d.ID]; d.LastSeq > r {
			own, err := s.msgs.CountDocuments(ctx, bson.D{{Key: "conversation_id", Value: d.ID}, {Key: "sender_id", Value: userID}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: r}}}})
			if err != nil {
				return nil, fmt.Errorf("count own messages: %w", err)
			}
			sum.Unread = unread(d.LastSeq, r, own)
		}
		out[i] = sum
	}
	return out, nil
}

// Ping checks the server answers.
func (s *MongoStore) Ping(ctx context.Context) error { return s.db.Client().Ping(ctx, nil) }

// Close disconnects the client.
func (s *MongoStore) Close() error { return s.db.Client().Disconnect(context.Background()) }
