package auth_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/webchatroom/chatroom/services/auth"
)

func TestSQLiteStore(t *testing.T) {
	testStore(t, func(t *testing.T) auth.Store { return MustOpenSQLite(t) })
}

// MustOpenSQLite opens a fresh SQLite auth store in a temporary folder.
func MustOpenSQLite(t testing.TB) auth.Store {
	t.Helper()
	s, err := auth.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "auth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
