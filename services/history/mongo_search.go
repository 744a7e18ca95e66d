package history

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/webchatroom/chatroom/internal/wire"
)

// MongoDB search: each message document carries its terms (messageTerms:
// the text's words, CJK characters and pairs, and k:/c:/s: field terms) in
// an array with a multikey index (terms, created_at, _id). A query asks
// for all its terms with $all — the index serves one of them in
// created_at order and the rest are checked on the documents it yields —
// and a prefix term as either of its two terms ($in, terms.go). No $text,
// no regular expressions.

// searchIndexKeys is the multikey index search reads (created where
// OpenMongo creates the others).
var searchIndexKeys = bson.D{{Key: "terms", Value: 1}, {Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}

// withoutTerms leaves a message's terms out of what a read returns.
var withoutTerms = bson.D{{Key: "terms", Value: 0}}

// termedMsgDoc is a message document as inserted: with its search terms.
// (The document is a named field: the bson codec skips an embedded
// unexported type.)
type termedMsgDoc struct {
	Doc   msgDoc   `bson:",inline"`
	Terms []string `bson:"terms"`
}

func withTerms(d msgDoc) termedMsgDoc {
	return termedMsgDoc{Doc: d, Terms: messageTerms(d.message())}
}

// termsBatch is how many older messages one pass of indexOlder reads.
const termsBatch = 500

// indexOlder gives terms to messages stored before search existed. A
// message without terms is found through the terms index (missing is
// null there); replicas doing it at once write the same terms.
func (s *MongoStore) indexOlder(ctx context.Context) error {
	for {
		docs, err := findAll[msgDoc](ctx, s.msgs, "find unindexed messages",
			bson.D{{Key: "terms", Value: bson.D{{Key: "$exists", Value: false}}}}, options.Find().SetLimit(termsBatch))
		if err != nil {
			return err
		}
		for i := range docs {
			_, err := s.msgs.UpdateOne(ctx, byID(docs[i].ID), bson.D{{Key: "$set", Value: bson.D{{Key: "terms", Value: withTerms(docs[i]).Terms}}}})
			if err != nil {
				return fmt.Errorf("index message: %w", err)
			}
		}
		if len(docs) < termsBatch {
			return nil
		}
	}
}

// Search reads one page, newest first: sorted by (created_at, _id), the
// cursor being the last hit's pair.
func (s *MongoStore) Search(ctx context.Context, q SearchQuery) (*SearchPage, error) {
	page := &SearchPage{Messages: []*Message{}}
	var and bson.A
	if q.Cursor != "" {
		at, id, err := decodeMongoCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		and = append(and, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: at}}}},
			bson.D{{Key: "created_at", Value: at}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: id}}}},
		}}})
	}
	if q.Limit <= 0 {
		return page, nil
	}
	convs, err := s.readable(ctx, q.UserID, q.ConversationID)
	if err != nil || len(convs) == 0 {
		return page, err
	}

	all := filterTerms(q)
	texts := len(q.Terms) > 0
	for _, t := range q.Terms {
		if !t.Prefix {
			all = append(all, t.Text)
			continue
		}
		and = append(and, bson.D{{Key: "terms", Value: bson.D{{Key: "$in", Value: bson.A{t.Text, t.PrefixTerm()}}}}})
	}
	filter := bson.D{}
	if len(all) > 0 {
		filter = append(filter, bson.E{Key: "terms", Value: bson.D{{Key: "$all", Value: all}}})
	}
	if len(all) > 0 || texts {
		filter = append(filter, bson.E{Key: "conversation_id", Value: bson.D{{Key: "$in", Value: convs}}})
	} else { // only dates: the conversations' own terms let the index give the order
		cterms := make([]string, len(convs))
		for i, c := range convs {
			cterms[i] = fieldTerm(convTermPrefix, c)
		}
		filter = append(filter, bson.E{Key: "terms", Value: bson.D{{Key: "$in", Value: cterms}}})
	}
	if r := timeRange(q.Since, q.Until); len(r) > 0 {
		filter = append(filter, bson.E{Key: "created_at", Value: r})
	}
	if len(and) > 0 {
		filter = append(filter, bson.E{Key: "$and", Value: and})
	}

	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetLimit(int64(q.Limit) + 1).SetProjection(withoutTerms)
	docs, err := findAll[msgDoc](ctx, s.msgs, "search", filter, opts)
	if err != nil {
		return nil, err
	}
	if len(docs) > q.Limit {
		docs = docs[:q.Limit]
		last := docs[q.Limit-1]
		page.NextCursor = encodeCursor(strconv.FormatInt(last.CreatedAt.UnixMilli(), 10), last.ID)
	}
	for i := range docs {
		page.Messages = append(page.Messages, docs[i].message())
	}
	return page, nil
}

// readable is the conversations search may look in: the one asked for
// if userID may read it, else the lobby and userID's direct conversations.
func (s *MongoStore) readable(ctx context.Context, userID, conversationID string) ([]string, error) {
	if conversationID != "" {
		c, err := s.Conversation(ctx, conversationID)
		if isNotFound(err) || err == nil && !c.Member(userID) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []string{c.ID}, nil
	}
	type idDoc struct {
		ID string `bson:"_id"`
	}
	docs, err := findAll[idDoc](ctx, s.convs, "list conversations", bson.D{{Key: "members", Value: userID}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := []string{wire.LobbyID}
	for _, d := range docs {
		out = append(out, d.ID)
	}
	return out, nil
}

func decodeMongoCursor(c string) (time.Time, string, error) {
	parts, err := decodeCursor(c, 2)
	if err != nil {
		return time.Time{}, "", err
	}
	ms, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return time.Time{}, "", errBadCursor()
	}
	return time.UnixMilli(ms).UTC(), parts[1], nil
}

// timeRange is created_at ≥ since and < until, for the bounds given
// (rounded up to milliseconds, as the driver would round them down).
func timeRange(since, until time.Time) bson.D {
	var r bson.D
	if !since.IsZero() {
		r = append(r, bson.E{Key: "$gte", Value: ceilMilli(since)})
	}
	if !until.IsZero() {
		r = append(r, bson.E{Key: "$lt", Value: ceilMilli(until)})
	}
	return r
}

// findAll runs a find and decodes every document it returns; what names
// the query in errors.
func findAll[T any](ctx context.Context, c *mongo.Collection, what string, filter any, opts ...*options.FindOptions) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
