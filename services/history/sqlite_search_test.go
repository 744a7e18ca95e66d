package history

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/sqlitedb"
	"github.com/webchatroom/chatroom/internal/wire"
)

// TestSearchReadsTheIndexInOrder checks the page query's plan: the FTS5
// index gives the order (no sort of all hits), each hit costs two
// primary-key lookups.
func TestSearchReadsTheIndexInOrder(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	q := SearchQuery{UserID: "u1", Terms: QueryTerms("会议 kube"), Kind: wire.KindText, Limit: 50}
	plan, err := sqlitedb.Rows(ctx, s.db, "plan", func(r *sql.Rows) (string, error) {
		var id, parent, unused int
		var step string
		err := r.Scan(&id, &parent, &unused, &step)
		return step, err
	}, `EXPLAIN QUERY PLAN `+searchSQL, ftsMatch(q), 0, 100, 51)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SCAN s VIRTUAL TABLE", "SEARCH k USING INTEGER PRIMARY KEY", "SEARCH m USING INTEGER PRIMARY KEY"}
	if len(plan) != len(want) {
		t.Fatalf("plan %q, want %q", plan, want)
	}
	for i, step := range plan {
		if !strings.HasPrefix(step, want[i]) {
			t.Fatalf("plan %q, want %q (no temporary b-tree: the index's order is the page's)", plan, want)
		}
	}
}

// TestSearchKeys checks the keys given to messages: newest first in
// rowid order, a counter within one millisecond, and a message older than
// the newest fitted in where its time is.
func TestSearchKeys(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for i, d := range []time.Duration{0, time.Millisecond, time.Millisecond, 0, -time.Hour, time.Millisecond} {
		m := &Message{ID: string(rune('a' + i)), ConversationID: wire.LobbyID, SenderID: "u", Kind: wire.KindText, Text: "x",
			ClientID: string(rune('a' + i)), CreatedAt: at.Add(d)}
		if _, _, err := s.Append(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT m.id, -k.key FROM search_keys k JOIN messages m ON m.rowid = k.msg ORDER BY k.key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	ms := at.UnixMilli()
	for rows.Next() {
		var id string
		var key int64
		if err := rows.Scan(&id, &key); err != nil {
			t.Fatal(err)
		}
		got = append(got, id+":"+time.Duration((key>>keyShift-ms)*int64(time.Millisecond)).String()+"+"+string(rune('0'+key&(1<<keyShift-1))))
	}
	if want := "f:1ms+2 c:1ms+1 b:1ms+0 d:0s+1 a:0s+0 e:-1h0m0s+0"; strings.Join(got, " ") != want {
		t.Fatalf("keys newest first: %s, want %s", strings.Join(got, " "), want)
	}
}

func mustOpen(t *testing.T) *SQLiteStore {
	t.Helper()
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
