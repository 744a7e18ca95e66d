package history

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/webchatroom/chatroom/internal/sqlitedb"
	"github.com/webchatroom/chatroom/internal/wire"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SQLiteStore is the Store of `chatroom all`: one SQLite file, every write
// through the group-commit writer (sqlite_writer.go).
type SQLiteStore struct {
	db *sqlitedb.DB
	w  *writer
	st *statements
	ap *appendStatements

	search *searchIndex // sqlite_search.go
}

var _ Store = (*SQLiteStore)(nil)

// OpenSQLite opens (and migrates) the history database at path and starts
// its writer; Close stops it.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	db, err := sqlitedb.OpenDir(ctx, path, migrations, "migrations")
	if err != nil {
		return nil, err
	}
	st, err := prepare(ctx, db.W)
	if err != nil {
		db.Close()
		return nil, err
	}
	ap, err := prepareAppends(ctx, db.W)
	if err != nil {
		db.Close()
		return nil, err
	}
	search, err := openSearch(ctx, db.W)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &SQLiteStore{db: db, st: st, ap: ap, search: search}
	if s.w, err = startWriter(ctx, db.W, s.appendAll); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// statements are the writer's statements, prepared once on the write
// connection: parsing them each time cost a third of an append's CPU.
type statements struct {
	markRead, createDirect *sql.Stmt
}

func prepare(ctx context.Context, db *sql.DB) (*statements, error) {
	st := &statements{}
	for dst, query := range map[**sql.Stmt]string{
		// a marker moves forward only, and never past the newest message
		&st.markRead: `INSERT INTO reads (user_id, conversation_id, seq)
			SELECT ?, id, min(?, last_seq) FROM conversations WHERE id = ?
			ON CONFLICT (user_id, conversation_id) DO UPDATE SET seq = max(seq, excluded.seq)`,
		&st.createDirect: `INSERT INTO conversations (id, kind, user_a, user_b, created_at, last_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
	} {
		stmt, err := db.PrepareContext(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", query, err)
		}
		*dst = stmt
	}
	return st, nil
}

// WriteStats reports how many transactions carried how many writes.
func (s *SQLiteStore) WriteStats() WriteStats { return s.w.stats() }

type scanner interface{ Scan(...any) error }

const msgCols = `id, conversation_id, seq, sender_id, kind, text, media_id, client_id, created_at, media`

func scanMessage(row scanner) (*Message, error) {
	var m Message
	var created int64
	var media string
	if err := row.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.SenderID, &m.Kind, &m.Text, &m.MediaID, &m.ClientID, &created, &media); err != nil {
		return nil, err
	}
	m.CreatedAt = time.UnixMilli(created).UTC()
	var err error
	m.Media, err = decodeMedia(media)
	return &m, err
}

// encodeMedia is the stored form of a media snapshot: JSON, "" for none.
func encodeMedia(m *wire.Media) (string, error) {
	if m == nil {
		return "", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode media: %w", err)
	}
	return string(b), nil
}

func decodeMedia(s string) (*wire.Media, error) {
	if s == "" {
		return nil, nil
	}
	var m wire.Media
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode media: %w", err)
	}
	return &m, nil
}

const convCols = `c.id, c.kind, c.title, c.user_a, c.user_b, c.created_at, c.last_seq, c.last_at`

// convDest returns scan targets for convCols and a function that finishes c
// once they are filled.
func convDest(c *Conversation) ([]any, func()) {
	var a, b sql.NullString
	var created, last int64
	return []any{&c.ID, &c.Kind, &c.Title, &a, &b, &created, &c.LastSeq, &last}, func() {
		c.CreatedAt, c.LastAt = time.UnixMilli(created).UTC(), time.UnixMilli(last).UTC()
		if a.Valid && b.Valid {
			c.Members = []string{a.String, b.String}
		}
	}
}

// Conversation looks up one conversation.
func (s *SQLiteStore) Conversation(ctx context.Context, id string) (*Conversation, error) {
	var c Conversation
	dest, finish := convDest(&c)
	err := s.db.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversations c WHERE c.id = ?`, id).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errConversationNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get conversation: %w", err)
	}
	finish()
	return &c, nil
}

// Direct gets or creates the pair's conversation.
func (s *SQLiteStore) Direct(ctx context.Context, a, b string, now time.Time) (*Conversation, bool, error) {
	id := directID(a, b)
	if c, err := s.Conversation(ctx, id); err == nil {
		return c, false, nil
	} else if !isNotFound(err) {
		return nil, false, err
	}
	lo, hi := sortedPair(a, b)
	var created bool
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.st.createDirect).ExecContext(ctx, id, wire.ConversationDirect, lo, hi, now.UnixMilli(), now.UnixMilli())
		if err != nil {
			return fmt.Errorf("create direct: %w", err)
		}
		n, err := res.RowsAffected()
		created = n == 1
		return err
	})
	if err != nil {
		return nil, false, err
	}
	c, err := s.Conversation(ctx, id)
	return c, created, err
}

// Append stores a message in the next group commit, with every other
// append of that commit (appendAll).
func (s *SQLiteStore) Append(ctx context.Context, m *Message) (*Message, bool, error) {
	return s.w.append(ctx, m, messageTerms(m)) // split here, beside the other senders, not in the one writer
}

// MessageByClientID looks up a sender's message by its client ID.
func (s *SQLiteStore) MessageByClientID(ctx context.Context, senderID, clientID string) (*Message, error) {
	m, err := scanMessage(s.db.QueryRowContext(ctx, `SELECT `+msgCols+` FROM messages WHERE sender_id = ? AND client_id = ?`, senderID, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errMessageNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find client id: %w", err)
	}
	return m, nil
}

// markRead moves a marker forward to seq, clamped to the newest message.
func (s *SQLiteStore) markRead(ctx context.Context, tx *sql.Tx, userID, conversationID string, seq int64) error {
	if _, err := tx.StmtContext(ctx, s.st.markRead).ExecContext(ctx, userID, seq, conversationID); err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	return nil
}

// MarkRead moves a read marker forward in the next group commit.
func (s *SQLiteStore) MarkRead(ctx context.Context, userID, conversationID string, seq int64) error {
	return s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.markRead(ctx, tx, userID, conversationID, seq)
	})
}

// Messages reads a page.
func (s *SQLiteStore) Messages(ctx context.Context, conversationID string, p Page) ([]*Message, bool, error) {
	older := func(ctx context.Context, below int64, n int) ([]*Message, error) {
		return s.messages(ctx, `SELECT `+msgCols+` FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, conversationID, below, n)
	}
	newer := func(ctx context.Context, from int64, n int) ([]*Message, error) {
		return s.messages(ctx, `SELECT `+msgCols+` FROM messages WHERE conversation_id = ? AND seq >= ? ORDER BY seq LIMIT ?`, conversationID, from, n)
	}
	return pageWith(ctx, p, older, newer)
}

func (s *SQLiteStore) messages(ctx context.Context, query string, args ...any) ([]*Message, error) {
	return sqlitedb.Rows(ctx, s.db, "list messages", func(r *sql.Rows) (*Message, error) { return scanMessage(r) }, query, args...)
}

// summarySQL selects conversations with the user's read marker and the
// newest message; ?1 is the user. Unread is last_seq minus the marker: an
// append moves its sender's marker in the same transaction, so a user's own
// messages are never after their marker here.
const summarySQL = `SELECT ` + convCols + `, COALESCE(r.seq, 0),
	m.id, m.conversation_id, m.seq, m.sender_id, m.kind, m.text, m.media_id, m.client_id, m.created_at, m.media
	FROM conversations c
	LEFT JOIN reads r ON r.user_id = ?1 AND r.conversation_id = c.id
	LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq`

// Summaries lists the user's conversations.
func (s *SQLiteStore) Summaries(ctx context.Context, userID string) ([]*Summary, error) {
	return s.summaries(ctx, summarySQL+` WHERE c.id = 'lobby' OR c.user_a = ?1 OR c.user_b = ?1
		ORDER BY c.id = 'lobby' DESC, c.last_at DESC, c.id`, userID)
}

// Summary shows one conversation as the user's list would.
func (s *SQLiteStore) Summary(ctx context.Context, userID, conversationID string) (*Summary, error) {
	out, err := s.summaries(ctx, summarySQL+` WHERE c.id = ?2`, userID, conversationID)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errConversationNotFound()
	}
	return out[0], nil
}

func (s *SQLiteStore) summaries(ctx context.Context, query string, args ...any) ([]*Summary, error) {
	return sqlitedb.Rows(ctx, s.db, "list conversations", scanSummary, query, args...)
}

// scanSummary reads a conversation, the user's read marker and the
// conversation's last message (all NULL when it has none).
func scanSummary(rows *sql.Rows) (*Summary, error) {
	var sum Summary
	var readSeq int64
	var id, conv, sender, kind, text, mediaID, client, media sql.NullString
	var seq, created sql.NullInt64
	dest, finish := convDest(&sum.Conversation)
	dest = append(dest, &readSeq, &id, &conv, &seq, &sender, &kind, &text, &mediaID, &client, &created, &media)
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	finish()
	if id.Valid {
		sum.Last = &Message{ID: id.String, ConversationID: conv.String, Seq: seq.Int64, SenderID: sender.String, Kind: kind.String,
			Text: text.String, MediaID: mediaID.String, ClientID: client.String, CreatedAt: time.UnixMilli(created.Int64).UTC()}
		var err error
		if sum.Last.Media, err = decodeMedia(media.String); err != nil {
			return nil, err
		}
	}
	sum.Unread = unread(sum.LastSeq, readSeq, 0)
	return &sum, nil
}

// Ping checks the database.
func (s *SQLiteStore) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close stops the writer and closes the database.
func (s *SQLiteStore) Close() error {
	s.w.close()
	return s.db.Close()
}
