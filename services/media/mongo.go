package media

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

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

// OpenMongo uses database db. Items are only ever looked up by _id, so the
// collection needs no other index.
func OpenMongo(_ context.Context, db *mongo.Database) (*MongoStore, error) {
	return &MongoStore{db: db, items: db.Collection("media_items")}, nil
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
	return &Item{ID: d.ID, OwnerID: d.OwnerID, ConversationID: d.ConversationID, Kind: d.Kind, Mime: d.Mime, Size: d.Size,
		Width: d.Width, Height: d.Height, DurationMS: d.DurationMS, Waveform: d.Waveform, Key: d.Key, ThumbKey: d.ThumbKey,
		ThumbMime: d.ThumbMime, ClaimedBy: d.ClaimedBy, CreatedAt: d.CreatedAt.UTC()}, nil
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

// Ping checks the server answers.
func (s *MongoStore) Ping(ctx context.Context) error { return s.db.Client().Ping(ctx, nil) }

// Close disconnects the client.
func (s *MongoStore) Close() error { return s.db.Client().Disconnect(context.Background()) }
