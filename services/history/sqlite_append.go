package history

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Appends are stored a whole group commit at a time: every append the
// writer took for one transaction shares a handful of multi-row statements
// (find resends, number per conversation, insert, move read markers)
// instead of four statements each. In modernc's pure-Go SQLite a statement
// costs ~20 µs however small, so this is what lets one writer keep up with
// tens of thousands of messages a second.

// multiRow prepares one statement per power of two up to maxRows rows,
// so any count is a few executions of already-prepared statements.
type multiRow struct {
	stmts []*sql.Stmt // stmts[k] has 1<<k rows
	cols  int         // parameters per row
}

// multiRowMax is the most rows one execution carries.
const multiRowMax = 64

func prepareMultiRow(ctx context.Context, db *sql.DB, cols int, query func(rows string) string) (*multiRow, error) {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	m := &multiRow{cols: cols}
	for n := 1; n <= multiRowMax; n *= 2 {
		q := query(strings.TrimSuffix(strings.Repeat(row+", ", n), ", "))
		stmt, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		m.stmts = append(m.stmts, stmt)
	}
	return m, nil
}

// each runs fn over args (len(args) = rows × cols) in chunks, each with the
// prepared statement of its size, largest first.
func (m *multiRow) each(ctx context.Context, tx *sql.Tx, args []any, fn func(stmt *sql.Stmt, args []any) error) error {
	rows := len(args) / m.cols
	for rows > 0 {
		k := len(m.stmts) - 1
		for 1<<k > rows {
			k--
		}
		n := (1 << k) * m.cols
		if err := fn(tx.StmtContext(ctx, m.stmts[k]), args[:n]); err != nil {
			return err
		}
		args, rows = args[n:], rows-1<<k
	}
	return nil
}

func (m *multiRow) exec(ctx context.Context, tx *sql.Tx, args []any) error {
	return m.each(ctx, tx, args, func(stmt *sql.Stmt, args []any) error {
		_, err := stmt.ExecContext(ctx, args...)
		return err
	})
}

func (m *multiRow) query(ctx context.Context, tx *sql.Tx, args []any, scan func(*sql.Rows) error) error {
	return m.each(ctx, tx, args, func(stmt *sql.Stmt, args []any) error {
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// appendStatements are the batch's statements, prepared on the write
// connection.
type appendStatements struct {
	resent  *multiRow // (sender_id, client_id) pairs → messages already stored with them
	number  *multiRow // (conversation, count, time) → the conversation's new last_seq
	insert  *multiRow // messages
	markers *multiRow // (user, conversation, seq) read markers, forward only
}

// The batch's statements, given a VALUES list of rows. Each must find its
// rows through an index (TestAppendStatementsUseIndexes).
var (
	resentSQL = func(rows string) string {
		return `SELECT ` + msgCols + ` FROM (VALUES ` + rows + `) AS v
			CROSS JOIN messages ON sender_id = v.column1 AND client_id = v.column2`
	}
	numberSQL = func(rows string) string {
		return `UPDATE conversations SET last_seq = last_seq + v.column2, last_at = max(last_at, v.column3)
			FROM (VALUES ` + rows + `) AS v WHERE conversations.id = v.column1 RETURNING conversations.id, conversations.last_seq`
	}
	insertSQL = func(rows string) string {
		return `INSERT INTO messages (` + msgCols + `) VALUES ` + rows
	}
	// a marker moves forward only; the seq is one just stored, so it is
	// never past the newest message
	markersSQL = func(rows string) string {
		return `INSERT INTO reads (user_id, conversation_id, seq) VALUES ` + rows + `
			ON CONFLICT (user_id, conversation_id) DO UPDATE SET seq = max(seq, excluded.seq)`
	}
)

func prepareAppends(ctx context.Context, db *sql.DB) (*appendStatements, error) {
	var st appendStatements
	var err error
	prep := func(dst **multiRow, cols int, query func(rows string) string) {
		if err == nil {
			*dst, err = prepareMultiRow(ctx, db, cols, query)
		}
	}
	prep(&st.resent, 2, resentSQL)
	prep(&st.number, 3, numberSQL)
	prep(&st.insert, 10, insertSQL)
	prep(&st.markers, 3, markersSQL)
	return &st, err
}

// appendKey is a message's identity for resends.
type appendKey struct{ sender, clientID string }

// appendAll stores the appends of one transaction, in their order. Each op
// ends with stored set (dup when it was stored before, by an earlier
// transaction or earlier in this batch) or err set to a refusal; an error
// returned is the database's and dooms the batch.
func (s *SQLiteStore) appendAll(ctx context.Context, tx *sql.Tx, ops []*writeOp) error {
	// resends: of a message stored before, or of one earlier in this batch
	// (the same client_id is the same message: it gets the first's outcome)
	first := make(map[appendKey]*writeOp, len(ops))
	args := make([]any, 0, 2*len(ops))
	for _, op := range ops {
		k := appendKey{op.msg.SenderID, op.msg.ClientID}
		if f, ok := first[k]; ok {
			op.sameAs = f
			continue
		}
		first[k] = op
		args = append(args, k.sender, k.clientID)
	}
	err := s.ap.resent.query(ctx, tx, args, func(rows *sql.Rows) error {
		m, err := scanMessage(rows)
		if err != nil {
			return err
		}
		f := first[appendKey{m.SenderID, m.ClientID}]
		f.stored, f.dup = m, true
		return nil
	})
	if err != nil {
		return fmt.Errorf("find client ids: %w", err)
	}

	// number the new messages: one UPDATE … RETURNING for every conversation
	type conv struct {
		n, at  int64
		last   int64 // new last_seq; 0 if the conversation does not exist
		stored int64 // messages numbered so far
	}
	convs := map[string]*conv{}
	var order []string
	var fresh []*writeOp
	for _, op := range ops {
		if op.sameAs != nil || op.stored != nil {
			continue
		}
		fresh = append(fresh, op)
		c := convs[op.msg.ConversationID]
		if c == nil {
			c = &conv{}
			convs[op.msg.ConversationID] = c
			order = append(order, op.msg.ConversationID)
		}
		c.n++
		c.at = max(c.at, op.msg.CreatedAt.UnixMilli())
	}
	args = args[:0]
	for _, id := range order {
		args = append(args, id, convs[id].n, convs[id].at)
	}
	err = s.ap.number.query(ctx, tx, args, func(rows *sql.Rows) error {
		var id string
		var last int64
		if err := rows.Scan(&id, &last); err != nil {
			return err
		}
		convs[id].last = last
		return nil
	})
	if err != nil {
		return fmt.Errorf("number messages: %w", err)
	}

	// insert them and move their senders' read markers
	args = args[:0]
	type marker struct{ user, conv string }
	markers := map[marker]int64{}
	var stored []*Message
	var terms [][]string
	for _, op := range fresh {
		m, c := op.msg, convs[op.msg.ConversationID]
		if c.last == 0 {
			op.err = errConversationNotFound()
			continue
		}
		media, err := encodeMedia(m.Media)
		if err != nil {
			return err
		}
		c.stored++
		cp := *m
		cp.Seq, cp.CreatedAt = c.last-c.n+c.stored, time.UnixMilli(m.CreatedAt.UnixMilli()).UTC()
		op.stored = &cp
		stored = append(stored, &cp)
		terms = append(terms, op.terms)
		args = append(args, cp.ID, cp.ConversationID, cp.Seq, cp.SenderID, cp.Kind, cp.Text, cp.MediaID, cp.ClientID, cp.CreatedAt.UnixMilli(), media)
		markers[marker{cp.SenderID, cp.ConversationID}] = cp.Seq // ascending per conversation
	}
	if err := s.ap.insert.exec(ctx, tx, args); err != nil {
		return fmt.Errorf("insert messages: %w", err)
	}
	args = args[:0]
	for k, seq := range markers {
		args = append(args, k.user, k.conv, seq)
	}
	if err := s.ap.markers.exec(ctx, tx, args); err != nil {
		return fmt.Errorf("move read markers: %w", err)
	}

	for _, op := range ops {
		if f := op.sameAs; f != nil {
			op.stored, op.dup, op.err = f.stored, f.stored != nil, f.err
		}
	}
	if err := s.indexMessages(ctx, tx, stored, terms); err != nil {
		return err
	}
	return nil
}
