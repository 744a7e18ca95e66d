package media_test

import (
	"testing"

	"github.com/webchatroom/chatroom/internal/blob"
)

// TestSQLiteStore runs the backend contract on `chatroom all`'s: a SQLite
// file and a folder.
func TestSQLiteStore(t *testing.T) {
	testStore(t, func(t *testing.T) backend {
		blobs, err := blob.OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return backend{Store: MustOpenSQLite(t), Blobs: blobs}
	})
}
