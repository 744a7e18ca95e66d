// Package mongodb opens the MongoDB database every clustered service uses,
// with majority write concern so an acknowledged write survives a failover.
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
	"go.mongodb.org/mongo-driver/mongo/writeconcern"
)

// Open connects to uri, checks the server answers and returns database name.
func Open(ctx context.Context, uri, name string) (*mongo.Database, error) {
	if uri == "" {
		return nil, errors.New("mongodb: no URI given (set --mongo-uri or CHATROOM_MONGO_URI)")
	}
	opts := options.Client().ApplyURI(uri).
		SetWriteConcern(writeconcern.Majority()).
		SetServerSelectionTimeout(10 * time.Second).
		SetConnectTimeout(10 * time.Second)
	client, err := mongo.Connect(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("mongodb connect: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := client.Ping(pctx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("mongodb %s: %w", redact(uri), err)
	}
	return client.Database(name), nil
}

// IsDuplicate reports whether err is a duplicate key error.
func IsDuplicate(err error) bool { return mongo.IsDuplicateKeyError(err) }

// redact drops credentials from a URI for error messages.
func redact(uri string) string {
	cs, err := connstringHost(uri)
	if err != nil {
		return "(uri)"
	}
	return cs
}
