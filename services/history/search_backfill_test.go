package history_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/sqlitedb"
	"github.com/webchatroom/chatroom/internal/testenv"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
)

// How many messages a database holds from before search: more than one
// backfill chunk of each store (5,000 and 500).
const (
	olderSQLite = 5200
	olderMongo  = 1100
)

// TestSQLiteIndexesOlderMessages opens a database made by the migrations
// before search, full of messages, and finds them all.
func TestSQLiteIndexesOlderMessages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	before := fstest.MapFS{}
	for _, name := range []string{"001_init.sql", "002_media.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		before[name] = &fstest.MapFile{Data: b}
	}
	db, err := sqlitedb.Open(ctx, path, before)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	tx, err := db.W.Begin()
	if err != nil {
		t.Fatal(err)
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(`INSERT INTO conversations (id, kind, user_a, user_b, created_at, last_at) VALUES ('dm-ann-ben', 'direct', 'ann', 'ben', 0, 0)`)
	for i := 1; i <= olderSQLite; i++ {
		conv, seq := wire.LobbyID, (i+1)/2
		if i%2 == 0 {
			conv = "dm-ann-ben"
		}
		mustExec(`INSERT INTO messages (id, conversation_id, seq, sender_id, kind, text, client_id, created_at) VALUES (?, ?, ?, 'ann', 'text', ?, ?, ?)`,
			fmt.Sprint("old", i), conv, seq, fmt.Sprintf("旧消息 %d 号", i), fmt.Sprint(i), at.Add(time.Duration(i)*time.Second).UnixMilli())
	}
	mustExec(`UPDATE conversations SET last_seq = ?`, olderSQLite/2)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := history.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	MustAppend(t, s, wire.LobbyID, "ben", "new", "新消息 after the upgrade")
	assertOlderFound(t, s, "dm-ann-ben", olderSQLite)
}

// TestMongoIndexesOlderMessages opens a store on a database whose messages
// were stored without terms, and finds them all.
func TestMongoIndexesOlderMessages(t *testing.T) {
	ctx := context.Background()
	uri := testenv.FerretDB(t)
	name := "t" + ids.New()[:12]
	db, first := mustOpenMongo(t, uri, name)
	dm, _, err := first.Direct(ctx, "ann", "ben", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	docs := make([]any, olderMongo)
	for i := 1; i <= olderMongo; i++ {
		conv, seq := wire.LobbyID, (i+1)/2
		if i%2 == 0 {
			conv = dm.ID
		}
		docs[i-1] = bson.D{{Key: "_id", Value: fmt.Sprint("old", i)}, {Key: "conversation_id", Value: conv}, {Key: "seq", Value: int64(seq)},
			{Key: "sender_id", Value: "ann"}, {Key: "kind", Value: "text"}, {Key: "text", Value: fmt.Sprintf("旧消息 %d 号", i)},
			{Key: "client_id", Value: fmt.Sprint(i)}, {Key: "created_at", Value: at.Add(time.Duration(i) * time.Second)}}
	}
	if _, err := db.Collection("history_messages").InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	_, s := mustOpenMongo(t, uri, name)
	MustAppend(t, s, wire.LobbyID, "ben", "new", "新消息 after the upgrade")
	assertOlderFound(t, s, dm.ID, olderMongo)
}

// assertOlderFound checks every older message is found, by ann and by
// ben, and that the other person of the direct conversation cannot.
func assertOlderFound(t *testing.T, s history.Store, dm string, n int) {
	t.Helper()
	ctx := context.Background()
	q := history.SearchQuery{UserID: "ben", Terms: history.QueryTerms("旧消息"), Limit: 10_000}
	p, err := s.Search(ctx, q)
	if err != nil || len(p.Messages) != n {
		t.Fatalf("ben finds %d older messages (%v), want %d", len(p.Messages), err, n)
	}
	for i, m := range p.Messages {
		if want := fmt.Sprint("old", n-i); m.ID != want {
			t.Fatalf("hit %d is %s, want %s", i, m.ID, want)
		}
	}
	q.UserID = "carl"
	if p, err := s.Search(ctx, q); err != nil || len(p.Messages) != n/2 {
		t.Fatalf("carl finds %d older messages (%v), want the lobby's %d", len(p.Messages), err, n/2)
	}
	q.ConversationID, q.UserID, q.Terms = dm, "ann", history.QueryTerms(fmt.Sprint(n-1))
	if p, err := s.Search(ctx, q); err != nil || len(p.Messages) != 0 {
		t.Fatalf("message %d is in the lobby, not %s: %+v %v", n-1, dm, p, err)
	}
	q.Terms = history.QueryTerms(fmt.Sprint(n, " 号"))
	if p, err := s.Search(ctx, q); err != nil || len(p.Messages) != 1 || p.Messages[0].ID != fmt.Sprint("old", n) {
		t.Fatalf("message %d in %s: %+v %v", n, dm, p, err)
	}
	if p, err := s.Search(ctx, history.SearchQuery{UserID: "carl", Terms: history.QueryTerms("upgrade"), Limit: 5}); err != nil || len(p.Messages) != 1 {
		t.Fatalf("the new message: %+v %v", p, err)
	}
}
