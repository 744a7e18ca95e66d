package media_test

import (
	"context"
	"testing"

	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/mongodb"
	"github.com/webchatroom/chatroom/internal/testenv"
	"github.com/webchatroom/chatroom/services/media"
)

// TestMongoStore runs the backend contract on the cluster's: real servers
// speaking the MongoDB and S3 protocols, FerretDB and versitygw, standing
// in for MongoDB and MinIO, which this build machine cannot install.
func TestMongoStore(t *testing.T) {
	uri := testenv.FerretDB(t)
	s3 := testenv.VersityGW(t)
	testStore(t, func(t *testing.T) backend {
		t.Helper()
		ctx := context.Background()
		db, err := mongodb.Open(ctx, uri, "t"+ids.New()[:12])
		if err != nil {
			t.Fatal(err)
		}
		store, err := media.OpenMongo(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = db.Drop(context.Background())
			store.Close()
		})
		blobs, err := blob.OpenS3(ctx, blob.S3Config{Endpoint: s3.Endpoint, Bucket: "media-" + ids.New()[:8],
			AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Region: s3.Region})
		if err != nil {
			t.Fatal(err)
		}
		return backend{Store: store, Blobs: blobs}
	})
}
