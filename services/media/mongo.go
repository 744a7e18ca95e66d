package media

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/mongodb"
)

// MongoStore is the Store of the cluster: the collection media_items.
type MongoStore struct {
	db    *mongo.Database
	items *mongo.Collection
}

var _ Store = (*MongoStore)(nil)

type itemDoc struct {
	ID             string    `bson:"_id"`
	OwnerID        string    `bson:"owner_id"`
	ConversationID string    `bson:"conversation_id"`
	Kind           string    `bson:"kind"`
	Mime           string    `bson:"mime"`
	Size           int64     `bson:"size"`
	Width          int       `bson:"width,omitempty"`
	Height         int       `bson:"height,omitempty"`
	DurationMS     int       `bson:"duration_ms,omitempty"`
	Waveform       []int     `bson:"waveform,omitempty"`
	Key            string    `bson:"blob_key"`
	ThumbKey       string    `bson:"thumb_key,omitempty"`
	ThumbMime      string    `bson:"thumb_mime,omitempty"`
	ClaimedBy      string    `bson:"claimed_by"`
	CreatedAt      time.Time `bson:"created_at"`
}

// OpenMongo uses database db. Items are looked up by _id, and by claim and
// age when unsent ones are deleted.
func OpenMongo(ctx context.Context, db *mongo.Database) (*MongoStore, error) {
	s := &MongoStore{db: db, items: db.Collection("media_items")}
	ix := mongo.IndexModel{Keys: bson.D{{Key: "claimed_by", Value: 1}, {Key: "created_at", Value: 1}}}
	if _, err := s.items.Indexes().CreateOne(ctx, ix); err != nil {
		return nil, fmt.Errorf("mongo index on %s: %w", s.items.Name(), err)
	}
	return s, nil
}

// Create inserts the item.
func (s *MongoStore) Create(ctx context.Context, it *Item) error {
	_, err := s.items.InsertOne(ctx, itemDoc{ID: it.ID, OwnerID: it.OwnerID, ConversationID: it.ConversationID, Kind: it.Kind,
		Mime: it.Mime, Size: it.Size, Width: it.Width, Height: it.Height, DurationMS: it.DurationMS, Waveform: it.Waveform,
		Key: it.Key, ThumbKey: it.ThumbKey, ThumbMime: it.ThumbMime, ClaimedBy: it.ClaimedBy, CreatedAt: it.CreatedAt})
	if mongodb.IsDuplicate(err) {
		return apperr.Errorf(apperr.Conflict, "media id in use")
	}
	if err != nil {
		return fmt.Errorf("create media: %w", err)
	}
	return nil
}

// Get looks up one item.
func (s *MongoStore) Get(ctx context.Context, id string) (*Item, error) {
	var d itemDoc
	err := s.items.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, errItemNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get media: %w", err)
	}
	return d.item(), nil
}

func (d *itemDoc) item() *Item {
	return &Item{ID: d.ID, OwnerID: d.OwnerID, ConversationID: d.ConversationID, Kind: d.Kind, Mime: d.Mime, Size: d.Size,
		Width: d.Width, Height: d.Height, DurationMS: d.DurationMS, Waveform: d.Waveform, Key: d.Key, ThumbKey: d.ThumbKey,
		ThumbMime: d.ThumbMime, ClaimedBy: d.ClaimedBy, CreatedAt: d.CreatedAt.UTC()}
}

// Claim binds the item to a message once: the filter lets only an
// unclaimed item, or one with this very claim, be updated.
func (s *MongoStore) Claim(ctx context.Context, id, claim string) (*Item, error) {
	filter := bson.D{{Key: "_id", Value: id}, {Key: "claimed_by", Value: bson.D{{Key: "$in", Value: bson.A{"", claim}}}}}
	res, err := s.items.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "claimed_by", Value: claim}}}})
	if err != nil {
		return nil, fmt.Errorf("claim media: %w", err)
	}
	it, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if res.MatchedCount == 0 {
		return nil, errAlreadySent()
	}
	return it, nil
}

// DeleteUnsent finds old unclaimed items, then deletes each with the same
// filter, so one claimed in between is kept.
func (s *MongoStore) DeleteUnsent(ctx context.Context, before time.Time, limit int) ([]*Item, error) {
	unsent := bson.D{{Key: "claimed_by", Value: ""}, {Key: "created_at", Value: bson.D{{Key: "$lt", Value: before}}}}
	cur, err := s.items.Find(ctx, unsent, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("find unsent media: %w", err)
	}
	var docs []itemDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find unsent media: %w", err)
	}
	out := []*Item{}
	for _, d := range docs {
		res, err := s.items.DeleteOne(ctx, append(bson.D{{Key: "_id", Value: d.ID}}, unsent...))
		if err != nil {
			return out, fmt.Errorf("delete unsent media: %w", err)
		}
		if res.DeletedCount == 1 {
			out = append(out, d.item())
		}
	}
	return out, nil
}

// Ping checks the server answers.
func (s *MongoStore) Ping(ctx context.Context) error { return s.db.Client().Ping(ctx, nil) }

// Close disconnects the client.
func (s *MongoStore) Close() error { return s.db.Client().Disconnect(context.Background()) }
