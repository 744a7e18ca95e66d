package history_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/webchatroom/chatroom/services/history"
)

func TestSQLiteStore(t *testing.T) {
	testStore(t, func(t *testing.T) history.Store { return MustOpenSQLite(t) })
}

// MustOpenSQLite opens a fresh SQLite history store in a temporary folder.
func MustOpenSQLite(tb testing.TB) *history.SQLiteStore {
	tb.Helper()
	s, err := history.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "history.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
