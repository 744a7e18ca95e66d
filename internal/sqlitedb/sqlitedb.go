// Package sqlitedb opens SQLite databases the way every service needs them:
// WAL, synchronous=FULL, a busy timeout, foreign keys, and embedded numbered
// migrations.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is one SQLite file with two pools: DB itself for reads (several
// connections, WAL lets them run beside a writer) and W for writes (one
// connection, so this process's writers queue in Go instead of sleeping in
// SQLite's busy handler).
type DB struct {
	*sql.DB
	W *sql.DB

	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
}

// checkpointEvery is how often the WAL is copied into the database file.
// The write connection never checkpoints itself (wal_autocheckpoint=0):
// copying pages and syncing the file would stall every commit waiting
// behind it. A passive checkpoint on a read connection runs beside writes.
const checkpointEvery = time.Second

// tailFrames is how many WAL frames may be left for the write connection
// to copy between two of its transactions (≈ 4 MiB of 4 KiB pages).
const tailFrames = 1024

// walSizeLimit is what the WAL file is cut back to when it starts over.
const walSizeLimit = 64 << 20

func (db *DB) checkpoints() {
	defer close(db.stopped)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
			db.Checkpoint()
		}
	}
}

// Checkpoint copies the WAL into the database file. Under steady writes a
// passive checkpoint never catches up by itself — frames keep arriving while
// it copies — and SQLite starts the WAL over only once every frame has been
// copied, so the WAL would grow without end (1.5 GB in a minute of load
// here). So the bulk is copied on a read connection beside the writers and
// the last frames on the write connection, between two transactions, when
// they are few (or the WAL has outgrown its limit: then writers wait once);
// the next write then starts the WAL over. Errors (a busy database) are
// left for the next round.
func (db *DB) Checkpoint() {
	var busy, log, done int
	for range 3 {
		if err := db.DB.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
			return
		}
		if log-done <= tailFrames {
			break
		}
	}
	if log-done <= tailFrames || log > walSizeLimit/4096 {
		_, _ = db.W.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
	}
}

// Close closes both pools.
func (db *DB) Close() error {
	db.stopOnce.Do(func() { close(db.stop) })
	<-db.stopped
	werr := db.W.Close()
	if err := db.DB.Close(); err != nil {
		return err
	}
	return werr
}

// Open opens (creating if needed) the database file at path and applies the
// migrations in fsys (files named NNN_name.sql, applied in name order).
func Open(ctx context.Context, path string, migrations fs.FS) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite folder: %w", err)
	}
	w, err := openPool(ctx, path, "immediate", 1, "wal_autocheckpoint(0)", "cache_size(-16384)", "temp_store(2)", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit))
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, w, migrations); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	r, err := openPool(ctx, path, "deferred", 4)
	if err != nil {
		w.Close()
		return nil, err
	}
	db := &DB{DB: r, W: w, stop: make(chan struct{}), stopped: make(chan struct{})}
	go db.checkpoints()
	return db, nil
}

// OpenDir is Open with the migrations in the folder dir of fsys (a
// service's embedded "migrations").
func OpenDir(ctx context.Context, path string, fsys fs.FS, dir string) (*DB, error) {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, err
	}
	return Open(ctx, path, sub)
}

func openPool(ctx context.Context, path, txlock string, conns int, pragmas ...string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range append([]string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"}, pragmas...) {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", txlock)
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// migrate applies every migration not yet recorded, each in its own
// transaction together with its record.
func migrate(ctx context.Context, db *sql.DB, migrations fs.FS) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := migrateFile(ctx, db, migrations, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func migrateFile(ctx context.Context, db *sql.DB, migrations fs.FS, name string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(migrations, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name) VALUES (?)`, name); err != nil {
		return err
	}
	return tx.Commit()
}

// IsUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func IsUnique(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		c := e.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Placeholders returns "?, ?, …" with n marks, for IN lists.
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Queryer is a pool (DB or W) or a transaction.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Rows runs query and scans every row with scan; what names the operation
// in errors. An empty result is an empty slice, never nil.
func Rows[T any](ctx context.Context, q Queryer, what string, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
