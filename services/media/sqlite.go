package media

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SQLiteStore is the Store of `chatroom all`: one SQLite file.
type SQLiteStore struct{ db *sqlitedb.DB }

var _ Store = (*SQLiteStore)(nil)

// OpenSQLite opens (and migrates) the media database at path.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	db, err := sqlitedb.OpenDir(ctx, path, migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db}, nil
}

const itemCols = `id, owner_id, conversation_id, kind, mime, size, width, height, duration_ms, waveform, blob_key, thumb_key, thumb_mime, claimed_by, created_at`

// Create inserts the item.
func (s *SQLiteStore) Create(ctx context.Context, it *Item) error {
	wave, err := encodeWaveform(it.Waveform)
	if err != nil {
		return err
	}
	_, err = s.db.W.ExecContext(ctx, `INSERT INTO media (`+itemCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		it.ID, it.OwnerID, it.ConversationID, it.Kind, it.Mime, it.Size, it.Width, it.Height, it.DurationMS, wave,
		it.Key, it.ThumbKey, it.ThumbMime, it.ClaimedBy, it.CreatedAt.UnixMilli())
	if sqlitedb.IsUnique(err) {
		return apperr.Errorf(apperr.Conflict, "media id in use")
	}
	if err != nil {
		return fmt.Errorf("create media: %w", err)
	}
	return nil
}

// Get looks up one item.
func (s *SQLiteStore) Get(ctx context.Context, id string) (*Item, error) {
	it, err := scanItem(s.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM media WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errItemNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get media: %w", err)
	}
	return it, nil
}

// scanItem reads one row of itemCols.
func scanItem(row interface{ Scan(...any) error }) (*Item, error) {
	var it Item
	var wave string
	var created int64
	if err := row.Scan(&it.ID, &it.OwnerID, &it.ConversationID, &it.Kind, &it.Mime, &it.Size, &it.Width, &it.Height,
		&it.DurationMS, &wave, &it.Key, &it.ThumbKey, &it.ThumbMime, &it.ClaimedBy, &created); err != nil {
		return nil, err
	}
	if wave != "" {
		if err := json.Unmarshal([]byte(wave), &it.Waveform); err != nil {
			return nil, fmt.Errorf("media %s waveform: %w", it.ID, err)
		}
	}
	it.CreatedAt = time.UnixMilli(created).UTC()
	return &it, nil
}

// Claim binds the item to a message once.
func (s *SQLiteStore) Claim(ctx context.Context, id, claim string) (*Item, error) {
	res, err := s.db.W.ExecContext(ctx, `UPDATE media SET claimed_by = ?1 WHERE id = ?2 AND claimed_by IN ('', ?1)`, claim, id)
	if err != nil {
		return nil, fmt.Errorf("claim media: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("claim media: %w", err)
	}
	it, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errAlreadySent()
	}
	return it, nil
}

// DeleteUnsent removes old unclaimed items in one statement, so a claim
// runs wholly before it (and keeps its item) or after (and finds none).
func (s *SQLiteStore) DeleteUnsent(ctx context.Context, before time.Time, limit int) ([]*Item, error) {
	return sqlitedb.Rows(ctx, s.db.W, "delete unsent media", func(r *sql.Rows) (*Item, error) { return scanItem(r) },
		`DELETE FROM media WHERE claimed_by = '' AND created_at < ?1
		 AND id IN (SELECT id FROM media WHERE claimed_by = '' AND created_at < ?1 ORDER BY created_at LIMIT ?2)
		 RETURNING `+itemCols, before.UnixMilli(), limit)
}

// Ping checks the database.
func (s *SQLiteStore) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

// encodeWaveform is the stored form of a waveform: a JSON array, "" for none.
func encodeWaveform(w []int) (string, error) {
	if len(w) == 0 {
		return "", nil
	}
	b, err := json.Marshal(w)
	if err != nil {
		return "", fmt.Errorf("encode waveform: %w", err)
	}
	return string(b), nil
}
