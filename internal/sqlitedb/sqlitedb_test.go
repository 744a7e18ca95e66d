package sqlitedb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/webchatroom/chatroom/internal/sqlitedb"
)

// MustOpen opens the database at path with migrations; it closes with the test.
func MustOpen(tb testing.TB, path string, migrations fstest.MapFS) *sqlitedb.DB {
	tb.Helper()
	db, err := sqlitedb.Open(context.Background(), path, migrations)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustExec runs a statement on the write pool; it must succeed.
func MustExec(tb testing.TB, db *sqlitedb.DB, query string, args ...any) {
	tb.Helper()
	if _, err := db.W.Exec(query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

func applied(tb testing.TB, db *sqlitedb.DB) []string {
	tb.Helper()
	rows, err := db.Query(`SELECT name FROM migrations ORDER BY rowid`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return names
}

func tableExists(tb testing.TB, db *sqlitedb.DB, name string) bool {
	tb.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n > 0
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

// base has migrations that only work in name order and fail if run twice.
func base() fstest.MapFS {
	return fstest.MapFS{
		// 010 sorts after 002 by name; it needs the column 002 adds.
		"010_seed.sql": file(`INSERT INTO users (id, name, email) VALUES ('u1', 'ann', 'ann@example.com');`),
		"001_users.sql": file(`CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL);
			CREATE UNIQUE INDEX users_name ON users (name);`),
		"002_email.sql": file(`ALTER TABLE users ADD COLUMN email TEXT;`),
		"README.md":     file(`not a migration`),
	}
}

func TestMigrationsInNameOrderOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "auth.db") // the folder is created
	db := MustOpen(t, path, base())
	if got, want := applied(t, db), []string{"001_users.sql", "002_email.sql", "010_seed.sql"}; !slices.Equal(got, want) {
		t.Fatalf("applied %v, want %v", got, want)
	}
	var email string
	if err := db.QueryRow(`SELECT email FROM users WHERE id = 'u1'`).Scan(&email); err != nil || email != "ann@example.com" {
		t.Fatalf("seeded row: %q, %v", email, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not at %s: %v", path, err)
	}
	db.Close()

	// Reopen: nothing runs twice (the seed would hit the UNIQUE index, ALTER would fail).
	db = MustOpen(t, path, base())
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after reopening: %d users (%v), want 1", n, err)
	}
	if got := applied(t, db); len(got) != 3 {
		t.Fatalf("after reopening applied = %v", got)
	}
	db.Close()

	// A migration added later runs on the next Open, and only it.
	more := base()
	more["011_rooms.sql"] = file(`CREATE TABLE rooms (id TEXT PRIMARY KEY);
		INSERT INTO users (id, name) VALUES ('u2', 'bob');`)
	db = MustOpen(t, path, more)
	if got, want := applied(t, db), []string{"001_users.sql", "002_email.sql", "010_seed.sql", "011_rooms.sql"}; !slices.Equal(got, want) {
		t.Fatalf("applied %v, want %v", got, want)
	}
	if !tableExists(t, db, "rooms") {
		t.Error("table from the new migration missing")
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("after the new migration: %d users (%v), want 2", n, err)
	}
}

func TestFailingMigrationRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	migs := base()
	// The first statements succeed, the last fails: none of it may stay.
	migs["020_broken.sql"] = file(`CREATE TABLE half (id INTEGER);
		INSERT INTO users (id, name) VALUES ('u9', 'zed');
		INSERT INTO no_such_table VALUES (1);`)
	migs["030_after.sql"] = file(`CREATE TABLE after_broken (id INTEGER);`)

	if db, err := sqlitedb.Open(context.Background(), path, migs); err == nil {
		db.Close()
		t.Fatal("Open succeeded with a failing migration")
	} else if !strings.Contains(err.Error(), "020_broken.sql") {
		t.Errorf("error %q does not name the failing migration", err)
	}

	// Look at the file with the failing migration removed.
	delete(migs, "020_broken.sql")
	delete(migs, "030_after.sql")
	db := MustOpen(t, path, migs)
	if tableExists(t, db, "half") {
		t.Error("table of the failed migration exists: it was not rolled back")
	}
	if tableExists(t, db, "after_broken") {
		t.Error("a migration after the failing one ran")
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM users WHERE id = 'u9'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("row from the failed migration: %d (%v)", n, err)
	}
	if got := applied(t, db); slices.Contains(got, "020_broken.sql") {
		t.Errorf("failed migration recorded as applied: %v", got)
	}
	// The earlier good ones stay applied.
	if got, want := applied(t, db), []string{"001_users.sql", "002_email.sql", "010_seed.sql"}; !slices.Equal(got, want) {
		t.Errorf("applied %v, want %v", got, want)
	}
}

func TestPragmasOnEveryConnection(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "p.db"), base())
	ctx := context.Background()
	// Hold several connections of the read pool at once so it must open
	// new ones, and the write pool's one.
	var conns []*sql.Conn
	for i := range 4 {
		pool := db.DB
		if i == 0 {
			pool = db.W
		}
		c, err := pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i, c := range conns {
		var mode string
		var syncMode, fk, busy int
		for q, dst := range map[string]any{
			`PRAGMA journal_mode`: &mode,
			`PRAGMA synchronous`:  &syncMode,
			`PRAGMA foreign_keys`: &fk,
			`PRAGMA busy_timeout`: &busy,
		} {
			if err := c.QueryRowContext(ctx, q).Scan(dst); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if mode != "wal" {
			t.Errorf("conn %d: journal_mode = %q, want wal", i, mode)
		}
		if syncMode != 2 {
			t.Errorf("conn %d: synchronous = %d, want 2 (FULL)", i, syncMode)
		}
		if fk != 1 {
			t.Errorf("conn %d: foreign_keys = %d, want 1", i, fk)
		}
		if busy <= 0 {
			t.Errorf("conn %d: busy_timeout = %d, want > 0", i, busy)
		}
	}
}

func TestReadsDoNotWaitForAWriter(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "rw.db"), base())
	ctx := context.Background()
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO users (id, name) VALUES ('u2', 'bob')`); err != nil {
		t.Fatal(err)
	}
	// While the write is open, a reader sees the last committed state.
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("read during an open write: %d users (%v), want 1", n, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("read after commit: %d users (%v), want 2", n, err)
	}
}

func TestCloseClosesBothPools(t *testing.T) {
	db, err := sqlitedb.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"), base())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Ping(); err == nil {
		t.Error("read pool still usable after Close")
	}
	if err := db.W.Ping(); err == nil {
		t.Error("write pool still usable after Close")
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	migs := fstest.MapFS{"001.sql": file(`CREATE TABLE a (id INTEGER PRIMARY KEY);
		CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a (id));`)}
	db := MustOpen(t, filepath.Join(t.TempDir(), "fk.db"), migs)
	if _, err := db.W.Exec(`INSERT INTO b (id, a_id) VALUES (1, 42)`); err == nil {
		t.Error("insert referencing a missing row succeeded: foreign keys are off")
	}
}

func TestOpenPathWithURISpecialCharacters(t *testing.T) {
	// --data is the operator's choice; a folder name may hold any of these.
	// Subtest names stay plain: t.TempDir embeds them in its path.
	for name, dir := range map[string]string{"space": "with space", "hash": "hash#tag", "question": "what?q=1", "percent": "pct%41"} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			path := filepath.Join(root, dir, "chat.db")
			db := MustOpen(t, path, base())
			var n int
			if err := db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("users = %d, %v", n, err)
			}
			if _, err := os.Stat(path); err != nil {
				entries, _ := filepath.Glob(filepath.Join(root, "*"))
				t.Fatalf("database not created at %q (%v); the folder holds %q", path, err, entries)
			}
		})
	}
}

func TestIsUnique(t *testing.T) {
	migs := fstest.MapFS{"001.sql": file(`
		CREATE TABLE ids (id INTEGER PRIMARY KEY);
		CREATE TABLE names (name TEXT PRIMARY KEY, email TEXT UNIQUE, age INTEGER NOT NULL CHECK (age >= 0));
		CREATE TABLE pairs (a TEXT, b TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
		CREATE TABLE parent (id INTEGER PRIMARY KEY);
		CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));`)}
	db := MustOpen(t, filepath.Join(t.TempDir(), "u.db"), migs)
	MustExec(t, db, `INSERT INTO ids (id) VALUES (1)`)
	MustExec(t, db, `INSERT INTO names (name, email, age) VALUES ('ann', 'a@x', 30)`)
	MustExec(t, db, `INSERT INTO pairs (a, b) VALUES ('x', 'y')`)

	exec := func(q string) error {
		_, err := db.W.Exec(q)
		if err == nil {
			t.Fatalf("%s succeeded, want a constraint error", q)
		}
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"integer primary key", exec(`INSERT INTO ids (id) VALUES (1)`), true},
		{"text primary key", exec(`INSERT INTO names (name, email, age) VALUES ('ann', 'b@x', 1)`), true},
		{"composite primary key without rowid", exec(`INSERT INTO pairs (a, b) VALUES ('x', 'y')`), true},
		{"unique column", exec(`INSERT INTO names (name, email, age) VALUES ('bob', 'a@x', 1)`), true},
		{"unique, wrapped", fmt.Errorf("store: %w", exec(`INSERT INTO names (name, email, age) VALUES ('cy', 'a@x', 2)`)), true},
		{"not null", exec(`INSERT INTO names (name, email) VALUES ('dee', 'd@x')`), false},
		{"check", exec(`INSERT INTO names (name, email, age) VALUES ('eve', 'e@x', -1)`), false},
		{"foreign key", exec(`INSERT INTO child (id, parent_id) VALUES (1, 99)`), false},
		{"syntax error", exec(`INSERT INTO`), false},
		{"no such table", exec(`SELECT * FROM nowhere`), false},
		{"plain error", errors.New("UNIQUE constraint failed: fake"), false},
		{"nil", nil, false},
		{"no rows", sql.ErrNoRows, false},
	} {
		if got := sqlitedb.IsUnique(tc.err); got != tc.want {
			t.Errorf("IsUnique(%s: %v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	for n, want := range map[int]string{-1: "", 0: "", 1: "?", 2: "?, ?", 5: "?, ?, ?, ?, ?"} {
		if got := sqlitedb.Placeholders(n); got != want {
			t.Errorf("Placeholders(%d) = %q, want %q", n, got, want)
		}
	}
	// And it makes a working IN list.
	db := MustOpen(t, filepath.Join(t.TempDir(), "in.db"), fstest.MapFS{"001.sql": file(`CREATE TABLE t (id TEXT PRIMARY KEY);
		INSERT INTO t VALUES ('a'), ('b'), ('c'), ('d');`)})
	args := []any{"a", "c", "zz"}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM t WHERE id IN (`+sqlitedb.Placeholders(len(args))+`)`, args...).Scan(&n); err != nil || n != 2 {
		t.Errorf("IN list matched %d rows (%v), want 2", n, err)
	}
}

func TestWALIsCheckpointedBesideTheWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.db")
	db := MustOpen(t, path, fstest.MapFS{"001_t.sql": {Data: []byte(`CREATE TABLE t (v BLOB);`)}})
	var auto int
	if err := db.W.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("the write connection checkpoints itself every %d pages (%v); want 0", auto, err)
	}
	before, _ := os.Stat(path)
	for i := 0; i < 64; i++ {
		MustExec(t, db, `INSERT INTO t (v) VALUES (randomblob(32768))`)
	}
	// 2 MB went to the WAL; the background checkpoint copies it into the file
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := os.Stat(path)
		if err == nil && st.Size() > before.Size()+(1<<20) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes: the WAL was never checkpointed", st.Size())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWALStartsOverUnderSteadyWrites writes without pause while
// checkpoints run: the WAL must start over instead of growing with
// everything ever written (a passive checkpoint alone never catches up
// with a writer that does not stop).
func TestWALStartsOverUnderSteadyWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "steady.db")
	db := MustOpen(t, path, fstest.MapFS{"001_t.sql": {Data: []byte(`CREATE TABLE t (v BLOB);`)}})
	stop := make(chan struct{})
	written := make(chan int64)
	var progress atomic.Int64
	go func() {
		var n int64
		for {
			select {
			case <-stop:
				written <- n
				return
			default:
			}
			if _, err := db.W.Exec(`INSERT INTO t (v) VALUES (randomblob(16384))`); err != nil {
				t.Error(err)
			}
			n += 16384
			progress.Store(n)
		}
	}()
	// checkpoint after every 2 MiB written (the store checkpoints every
	// second; counting bytes instead keeps the test the same on a fast disk
	// and a slow one) until 32 MiB have gone through the WAL (a minute at most)
	var total, checkpointed int64
	for deadline := time.Now().Add(time.Minute); ; {
		time.Sleep(2 * time.Millisecond)
		n := progress.Load()
		if n-checkpointed >= 2<<20 {
			db.Checkpoint()
			checkpointed = n
		}
		if n >= 32<<20 || time.Now().After(deadline) {
			break
		}
	}
	close(stop)
	total = <-written
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d MiB; the WAL file is %d MiB", total>>20, st.Size()>>20)
	if total < 32<<20 {
		t.Fatalf("only %d MiB written in a minute: the writer stalled", total>>20)
	}
	if st.Size() > total/4 {
		t.Fatalf("the WAL holds %d of the %d bytes written: it never started over", st.Size(), total)
	}
}
