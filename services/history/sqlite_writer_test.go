package history

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestBatchIsolatesFailedWrites runs one batch in which two writes change
// the database and then fail: their changes are undone, the write between
// them commits, and each caller hears its own outcome.
func TestBatchIsolatesFailedWrites(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	refused := errors.New("refused after writing")
	write := func(user string, fail bool) *writeOp {
		return &writeOp{done: make(chan error, 1), run: func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO reads (user_id, conversation_id, seq) VALUES (?, 'lobby', 1)`, user); err != nil {
				return err
			}
			if fail {
				return refused
			}
			return nil
		}}
	}
	batch := []*writeOp{write("u1", true), write("u2", false), write("u3", true)}
	s.w.commit(batch)
	for i, want := range []error{refused, nil, refused} {
		if err := <-batch[i].done; !errors.Is(err, want) {
			t.Fatalf("write %d answered %v, want %v", i, err, want)
		}
	}
	var users []string
	rows, err := s.db.QueryContext(ctx, `SELECT user_id FROM reads ORDER BY user_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	if len(users) != 1 || users[0] != "u2" {
		t.Fatalf("stored %v; want only u2's write", users)
	}
	if st := s.WriteStats(); st.Transactions != 1 || st.Writes != 3 {
		t.Fatalf("stats %+v, want 1 transaction carrying 3 writes", st)
	}
}

// TestAppendStatementsUseIndexes keeps the batch's lookups off full scans:
// with a million messages a scan per commit would stop the writer.
func TestAppendStatementsUseIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, c := range map[string]struct{ query, search string }{
		"resent": {resentSQL(`('a', 'b'), ('c', 'd')`), "SEARCH messages USING INDEX"},
		"number": {numberSQL(`('lobby', 1, 2), ('x', 1, 2)`), "SEARCH conversations USING INDEX"},
	} {
		rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+c.query)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		searches := false
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN messages") || strings.HasPrefix(step, "SCAN conversations") {
				t.Errorf("%s scans a table: %q", name, plan)
			}
			searches = searches || strings.HasPrefix(step, c.search)
		}
		if !searches {
			t.Errorf("%s does not %s: %q", name, c.search, plan)
		}
	}
}
