package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/mongodb"
)

// MongoStore is the Store of the cluster: collections auth_users,
// auth_sessions and auth_attempts.
type MongoStore struct {
	db       *mongo.Database
	users    *mongo.Collection
	sessions *mongo.Collection
	attempts *mongo.Collection
}

var _ Store = (*MongoStore)(nil)

type userDoc struct {
	ID           string    `bson:"_id"`
	Username     string    `bson:"username"`
	UsernameKey  string    `bson:"username_key"`
	Nickname     string    `bson:"nickname"`
	NicknameKey  string    `bson:"nickname_key"`
	PasswordHash string    `bson:"password_hash"`
	Avatar       string    `bson:"avatar"`
	CreatedAt    time.Time `bson:"created_at"`
}

type sessionDoc struct {
	ID        string    `bson:"_id"`
	TokenHash string    `bson:"token_hash"`
	UserID    string    `bson:"user_id"`
	CreatedAt time.Time `bson:"created_at"`
	ExpiresAt time.Time `bson:"expires_at"`
}

type attemptDoc struct {
	Key string    `bson:"key"`
	At  time.Time `bson:"at"`
}

// OpenMongo uses database db and makes sure its indexes exist.
func OpenMongo(ctx context.Context, db *mongo.Database) (*MongoStore, error) {
	s := &MongoStore{db: db, users: db.Collection("auth_users"), sessions: db.Collection("auth_sessions"), attempts: db.Collection("auth_attempts")}
	indexes := []struct {
		c     *mongo.Collection
		model mongo.IndexModel
	}{
		{s.users, mongo.IndexModel{Keys: bson.D{{Key: "username_key", Value: 1}}, Options: options.Index().SetUnique(true)}},
		{s.sessions, mongo.IndexModel{Keys: bson.D{{Key: "token_hash", Value: 1}}, Options: options.Index().SetUnique(true)}},
		{s.sessions, mongo.IndexModel{Keys: bson.D{{Key: "expires_at", Value: 1}}}},
		{s.attempts, mongo.IndexModel{Keys: bson.D{{Key: "key", Value: 1}, {Key: "at", Value: 1}}}},
	}
	for _, ix := range indexes {
		if _, err := ix.c.Indexes().CreateOne(ctx, ix.model); err != nil {
			return nil, fmt.Errorf("mongo index on %s: %w", ix.c.Name(), err)
		}
	}
	return s, nil
}

func (d *userDoc) account() *Account {
	return &Account{ID: d.ID, Username: d.Username, UsernameKey: d.UsernameKey, Nickname: d.Nickname,
		PasswordHash: d.PasswordHash, Avatar: d.Avatar, CreatedAt: d.CreatedAt.UTC()}
}

// CreateUser inserts the account.
func (s *MongoStore) CreateUser(ctx context.Context, a *Account) error {
	_, err := s.users.InsertOne(ctx, userDoc{ID: a.ID, Username: a.Username, UsernameKey: a.UsernameKey, Nickname: a.Nickname,
		NicknameKey: foldKey(a.Nickname), PasswordHash: a.PasswordHash, Avatar: a.Avatar, CreatedAt: a.CreatedAt})
	if mongodb.IsDuplicate(err) {
		return errUsernameTaken()
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UserByID looks up one account.
func (s *MongoStore) UserByID(ctx context.Context, id string) (*Account, error) {
	return s.oneUser(ctx, bson.D{{Key: "_id", Value: id}})
}

// UserByUsernameKey looks up one account by its unique key.
func (s *MongoStore) UserByUsernameKey(ctx context.Context, key string) (*Account, error) {
	return s.oneUser(ctx, bson.D{{Key: "username_key", Value: key}})
}

func (s *MongoStore) oneUser(ctx context.Context, filter bson.D) (*Account, error) {
	var d userDoc
	err := s.users.FindOne(ctx, filter).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, errUserNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return d.account(), nil
}

// UsersByIDs looks up many accounts at once.
func (s *MongoStore) UsersByIDs(ctx context.Context, ids []string) ([]*Account, error) {
	if len(ids) == 0 {
		return []*Account{}, nil
	}
	return s.findUsers(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, options.Find())
}

// ListUsers pages through the directory.
func (s *MongoStore) ListUsers(ctx context.Context, q, after string, limit int) ([]*Account, error) {
	filter := bson.D{{Key: "username_key", Value: bson.D{{Key: "$gt", Value: after}}}}
	if q != "" {
		re := bson.D{{Key: "$regex", Value: regexp.QuoteMeta(q)}}
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "username_key", Value: re}},
			bson.D{{Key: "nickname_key", Value: re}},
		}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "username_key", Value: 1}}).SetLimit(int64(limit))
	return s.findUsers(ctx, filter, opts)
}

func (s *MongoStore) findUsers(ctx context.Context, filter bson.D, opts *options.FindOptions) ([]*Account, error) {
	cur, err := s.users.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]*Account, len(docs))
	for i := range docs {
		out[i] = docs[i].account()
	}
	return out, nil
}

// CreateSession inserts a session.
func (s *MongoStore) CreateSession(ctx context.Context, se *Session) error {
	_, err := s.sessions.InsertOne(ctx, sessionDoc{ID: se.ID, TokenHash: se.TokenHash, UserID: se.UserID, CreatedAt: se.CreatedAt, ExpiresAt: se.ExpiresAt})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByTokenHash looks up a session by the hash of its token.
func (s *MongoStore) SessionByTokenHash(ctx context.Context, hash string) (*Session, error) {
	var d sessionDoc
	err := s.sessions.FindOne(ctx, bson.D{{Key: "token_hash", Value: hash}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, apperr.Errorf(apperr.NotFound, "session not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	return &Session{ID: d.ID, TokenHash: d.TokenHash, UserID: d.UserID, CreatedAt: d.CreatedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC()}, nil
}

// DeleteSession removes a session.
func (s *MongoStore) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.sessions.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes and returns the sessions expired at now.
func (s *MongoStore) DeleteExpiredSessions(ctx context.Context, now time.Time) ([]*Session, error) {
	filter := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}}
	cur, err := s.sessions.Find(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("find expired sessions: %w", err)
	}
	var docs []sessionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find expired sessions: %w", err)
	}
	out := make([]*Session, 0, len(docs))
	for _, d := range docs {
		res, err := s.sessions.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.ID}})
		if err != nil {
			return out, fmt.Errorf("delete expired session: %w", err)
		}
		if res.DeletedCount == 1 { // another replica's sweep may have taken it: it announces it
			out = append(out, &Session{ID: d.ID, UserID: d.UserID})
		}
	}
	return out, nil
}

// AddAttempt records an attempt.
func (s *MongoStore) AddAttempt(ctx context.Context, key string, at time.Time) error {
	if _, err := s.attempts.InsertOne(ctx, attemptDoc{Key: key, At: at}); err != nil {
		return fmt.Errorf("add attempt: %w", err)
	}
	return nil
}

// CountAttempts counts recent attempts.
func (s *MongoStore) CountAttempts(ctx context.Context, key string, since time.Time) (int, error) {
	n, err := s.attempts.CountDocuments(ctx, bson.D{{Key: "key", Value: key}, {Key: "at", Value: bson.D{{Key: "$gte", Value: since}}}})
	if err != nil {
		return 0, fmt.Errorf("count attempts: %w", err)
	}
	return int(n), nil
}

// ClearAttempts forgets a key's attempts.
func (s *MongoStore) ClearAttempts(ctx context.Context, key string) error {
	if _, err := s.attempts.DeleteMany(ctx, bson.D{{Key: "key", Value: key}}); err != nil {
		return fmt.Errorf("clear attempts: %w", err)
	}
	return nil
}

// PruneAttempts forgets old attempts.
func (s *MongoStore) PruneAttempts(ctx context.Context, before time.Time) error {
	if _, err := s.attempts.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: before}}}}); err != nil {
		return fmt.Errorf("prune attempts: %w", err)
	}
	return nil
}

// Ping checks the server answers.
func (s *MongoStore) Ping(ctx context.Context) error { return s.db.Client().Ping(ctx, nil) }

// Close disconnects the client.
func (s *MongoStore) Close() error { return s.db.Client().Disconnect(context.Background()) }
