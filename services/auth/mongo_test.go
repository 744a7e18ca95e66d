package auth_test

import (
	"context"
	"testing"

	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/mongodb"
	"github.com/webchatroom/chatroom/internal/testenv"
	"github.com/webchatroom/chatroom/services/auth"
)

// TestMongoStore runs the store contract against a real server speaking
// the MongoDB wire protocol: FerretDB, standing in for MongoDB, which this
// build machine cannot install.
func TestMongoStore(t *testing.T) {
	uri := testenv.FerretDB(t)
	testStore(t, func(t *testing.T) auth.Store {
		t.Helper()
		ctx := context.Background()
		db, err := mongodb.Open(ctx, uri, "t"+ids.New()[:12])
		if err != nil {
			t.Fatal(err)
		}
		s, err := auth.OpenMongo(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = db.Drop(context.Background())
			s.Close()
		})
		return s
	})
}
