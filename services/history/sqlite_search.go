package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/webchatroom/chatroom/internal/sqlitedb"
	"github.com/webchatroom/chatroom/internal/wire"
)

// The SQLite search index (migrations/003_search.sql): an FTS5 document
// per message, keyed so that the index's own order is newest first, so a
// page is the first limit+1 hits in that order — no hit beyond them is
// read, however many match.
//
// A message's key (computed below, and kept in maxKey) is created_at in
// milliseconds << keyShift plus a counter of the messages stored in that
// millisecond; the FTS5 rowid and search_keys.key are minus the key, so
// ascending rowids are newest first. FTS5 reads ascending rowids fastest:
// descending, every seek within a long doclist re-reads its doclist index
// from the start (fts5DlidxLvlPrev), which made a search within one direct
// conversation 8.5 ms at ten million messages.

// keyShift: see above.
const keyShift = 20

// The milliseconds a key can hold (years 1691 to 2248); times outside are
// clamped in queries and refused for messages.
const (
	minKeyMS = -(1 << (63 - keyShift)) + 1 // so that every key can be negated
	maxKeyMS = 1<<(63-keyShift) - 2
)

// backfillChunk is how many older messages one backfill transaction indexes.
const backfillChunk = 5000

// searchIndex holds the index's statements, prepared on the write connection.
type searchIndex struct {
	newest  *sql.Stmt // the newest key (not negated) in [?, ?)
	members *multiRow // (conversation id) → id, user_a, user_b
	keys    *multiRow // (key, conversation_id, seq) → search_keys row pointing at the message
	docs    *multiRow // (key, terms) → search document

	// maxKey is at least the largest key in search_keys (the writer's
	// goroutine alone indexes, so it is kept here; a rolled-back batch
	// leaves it higher, which costs a query, never a wrong key)
	maxKey int64
}

func prepareSearch(ctx context.Context, db *sql.DB) (*searchIndex, error) {
	x := &searchIndex{}
	if err := db.QueryRowContext(ctx, `SELECT coalesce(-min(key), ?) FROM search_keys`, int64(math.MinInt64)).Scan(&x.maxKey); err != nil {
		return nil, fmt.Errorf("newest search key: %w", err)
	}
	var err error
	x.newest, err = db.PrepareContext(ctx, `SELECT -key FROM search_keys WHERE key > -? AND key <= -? ORDER BY key LIMIT 1`)
	if err != nil {
		return nil, fmt.Errorf("prepare search: %w", err)
	}
	for _, p := range []struct {
		dst   **multiRow
		cols  int
		query func(rows string) string
	}{
		{&x.members, 1, func(rows string) string {
			return `SELECT id, user_a, user_b FROM conversations WHERE user_a IS NOT NULL AND id IN (VALUES ` + rows + `)`
		}},
		{&x.keys, 3, func(rows string) string {
			return `INSERT INTO search_keys (key, msg) SELECT v.column1, m.rowid FROM (VALUES ` + rows + `) AS v
				JOIN messages m ON m.conversation_id = v.column2 AND m.seq = v.column3`
		}},
		{&x.docs, 2, func(rows string) string { return `INSERT INTO search (rowid, terms) VALUES ` + rows }},
	} {
		if *p.dst, err = prepareMultiRow(ctx, db, p.cols, p.query); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// openSearch prepares the index and indexes messages stored before it
// existed; it runs before the writer starts.
func openSearch(ctx context.Context, db *sql.DB) (*searchIndex, error) {
	x, err := prepareSearch(ctx, db)
	if err != nil {
		return nil, err
	}
	for {
		more, err := x.backfill(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("index older messages: %w", err)
		}
		if !more {
			return x, nil
		}
	}
}

// backfill indexes one chunk of the messages stored before the index, in
// its own transaction; more reports whether any are left.
func (x *searchIndex) backfill(ctx context.Context, db *sql.DB) (more bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var done, upto int64
	err = tx.QueryRowContext(ctx, `SELECT done, upto FROM search_backfill`).Scan(&done, &upto)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	next := min(done+backfillChunk, upto)
	msgs, err := sqlitedb.Rows(ctx, tx, "read older messages", func(r *sql.Rows) (*Message, error) { return scanMessage(r) },
		`SELECT `+msgCols+` FROM messages WHERE rowid > ? AND rowid <= ?`, done, next)
	if err != nil {
		return false, err
	}
	if err := x.index(ctx, tx, msgs, nil); err != nil {
		return false, err
	}
	if next >= upto {
		_, err = tx.ExecContext(ctx, `DELETE FROM search_backfill`)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE search_backfill SET done = ?`, next)
	}
	if err != nil {
		return false, err
	}
	return next < upto, tx.Commit()
}

// indexMessages adds stored messages (Seq set, rows inserted in tx) to
// the search index, in the same transaction.
// terms[i], when there, are msgs[i]'s messageTerms, worked out by the
// sender's goroutine: the writer is one goroutine for everyone.
func (s *SQLiteStore) indexMessages(ctx context.Context, tx *sql.Tx, msgs []*Message, terms [][]string) error {
	return s.search.index(ctx, tx, msgs, terms)
}

func (x *searchIndex) index(ctx context.Context, tx *sql.Tx, msgs []*Message, given [][]string) error {
	if len(msgs) == 0 {
		return nil
	}
	// who may read the batch's direct conversations: one query
	readers := map[string][]string{}
	var args []any
	for _, m := range msgs {
		if _, ok := readers[m.ConversationID]; !ok && m.ConversationID != wire.LobbyID {
			readers[m.ConversationID] = nil
			args = append(args, m.ConversationID)
		}
	}
	err := x.members.query(ctx, tx, args, func(rows *sql.Rows) error {
		var id, a, b string
		if err := rows.Scan(&id, &a, &b); err != nil {
			return err
		}
		readers[id] = []string{a, b}
		return nil
	})
	if err != nil {
		return fmt.Errorf("search index: readers: %w", err)
	}

	next := map[int64]int64{} // millisecond → its next free key
	keys := make([]any, 0, 3*len(msgs))
	docs := make([]any, 0, 2*len(msgs))
	for i, m := range msgs {
		ms := m.CreatedAt.UnixMilli()
		if ms < minKeyMS || ms > maxKeyMS {
			return fmt.Errorf("search index: message %s: created_at %v out of range", m.ID, m.CreatedAt)
		}
		key, ok := next[ms]
		if !ok {
			if key, err = x.freeKey(ctx, tx, ms); err != nil {
				return err
			}
		}
		if key>>keyShift != ms {
			return fmt.Errorf("search index: more than %d messages at %v", 1<<keyShift, m.CreatedAt)
		}
		next[ms] = key + 1
		x.maxKey = max(x.maxKey, key)
		var terms []string
		if i < len(given) && given[i] != nil {
			terms = given[i]
		} else {
			terms = messageTerms(m)
		}
		for _, u := range readers[m.ConversationID] {
			terms = append(terms, fieldTerm(readerTermPrefix, u))
		}
		keys = append(keys, -key, m.ConversationID, m.Seq) // stored negated: see the top of the file
		docs = append(docs, -key, strings.Join(terms, " "))
	}
	var linked int64
	err = x.keys.each(ctx, tx, keys, func(stmt *sql.Stmt, args []any) error {
		res, err := stmt.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		linked += n
		return err
	})
	if err != nil {
		return fmt.Errorf("search index: keys: %w", err)
	}
	if linked != int64(len(msgs)) {
		return fmt.Errorf("search index: %d of %d messages found by conversation and seq", linked, len(msgs))
	}
	if err := x.docs.exec(ctx, tx, docs); err != nil {
		return fmt.Errorf("search index: documents: %w", err)
	}
	return nil
}

// freeKey is the first unused key of millisecond ms. Messages come in
// time order nearly always, so most milliseconds are past every key ever
// given (maxKey) and need no query.
func (x *searchIndex) freeKey(ctx context.Context, tx *sql.Tx, ms int64) (int64, error) {
	if ms<<keyShift > x.maxKey {
		return ms << keyShift, nil
	}
	var newest int64
	err := tx.StmtContext(ctx, x.newest).QueryRowContext(ctx, (ms+1)<<keyShift, ms<<keyShift).Scan(&newest)
	if errors.Is(err, sql.ErrNoRows) {
		return ms << keyShift, nil
	}
	if err != nil {
		return 0, fmt.Errorf("search index: newest key: %w", err)
	}
	return newest + 1, nil
}

// keyAt is the first key (not negated) of the millisecond at or after t,
// clamped.
func keyAt(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++ // created_at has whole milliseconds: ≥ 1.5 ms is ≥ 2 ms, < 1.5 ms is < 2 ms
	}
	return min(max(ms, minKeyMS), maxKeyMS+1) << keyShift
}

// searchSQL reads a page: the index's hits with -key in [?2, ?3) in rowid
// order, newest first, each joined to its message by two primary-key
// lookups.
const searchSQL = `SELECT -k.key, ` + msgCols + ` FROM search s CROSS JOIN search_keys k CROSS JOIN messages m
	WHERE s.search MATCH ?1 AND s.rowid > -?3 AND s.rowid <= -?2 AND k.key = s.rowid AND m.rowid = k.msg
	ORDER BY s.rowid LIMIT ?4`

// Search reads one page from the index. The caller's access is part of
// the index query — lobby messages or those the caller is a reader of —
// so a user whose conversations hold few of a term's hits reads only
// those, never the others'.
func (s *SQLiteStore) Search(ctx context.Context, q SearchQuery) (*SearchPage, error) {
	lo, hi := int64(-math.MaxInt64), int64(math.MaxInt64) // keys, not negated: each can be
	if !q.Since.IsZero() {
		lo = keyAt(q.Since)
	}
	if !q.Until.IsZero() {
		hi = keyAt(q.Until)
	}
	if q.Cursor != "" {
		parts, err := decodeCursor(q.Cursor, 1)
		if err != nil {
			return nil, err
		}
		key, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil {
			return nil, errBadCursor()
		}
		hi = min(hi, key)
	}
	page := &SearchPage{Messages: []*Message{}}
	if lo >= hi || q.Limit <= 0 {
		return page, nil
	}
	var keys []int64
	msgs, err := sqlitedb.Rows(ctx, s.db, "search", func(r *sql.Rows) (*Message, error) {
		var key int64
		m, err := scanMessage(keyedRow{r, &key})
		keys = append(keys, key)
		return m, err
	}, searchSQL, ftsMatch(q), lo, hi, q.Limit+1)
	if err != nil {
		return nil, err
	}
	if len(msgs) > q.Limit {
		msgs = msgs[:q.Limit]
		page.NextCursor = encodeCursor(strconv.FormatInt(keys[q.Limit-1], 10))
	}
	page.Messages = msgs
	return page, nil
}

// keyedRow scans a search key before a message's columns.
type keyedRow struct {
	rows *sql.Rows
	key  *int64
}

func (k keyedRow) Scan(dest ...any) error { return k.rows.Scan(append([]any{k.key}, dest...)...) }

// ftsMatch is the FTS5 query for q: every term (a prefix term: the word
// or a longer one it begins) and every filter's field term, and then the
// lobby or the caller as a reader.
//
// FTS5 flattens nested ANDs into one node that moves every child to each
// candidate in turn, so the readers' OR — dense: the lobby alone is a
// quarter of all messages — would be stepped along at every candidate of
// two rare terms that seldom meet (15 ms instead of 4 ms for one hit in a
// million messages). Wrapping the terms in an OR with noTerm keeps them a
// node of their own: they find their matches among themselves, and only
// those are checked against the readers.
func ftsMatch(q SearchQuery) string {
	var parts []string
	for _, t := range q.Terms {
		p := ftsString(t.Text)
		if t.Prefix {
			p = "(" + p + " OR " + ftsString(t.PrefixTerm()) + ")"
		}
		parts = append(parts, p)
	}
	for _, f := range filterTerms(q) {
		parts = append(parts, ftsString(f))
	}
	readers := "(" + ftsString(fieldTerm(convTermPrefix, wire.LobbyID)) + " OR " + ftsString(fieldTerm(readerTermPrefix, q.UserID)) + ")"
	if len(parts) == 0 {
		return readers
	}
	return "((" + strings.Join(parts, " AND ") + ") OR " + ftsString(noTerm) + ") AND " + readers
}

// noTerm is a term no document has: text terms hold no '-', field terms
// more than it.
const noTerm = "-"

// ftsString quotes s as an FTS5 string.
func ftsString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
