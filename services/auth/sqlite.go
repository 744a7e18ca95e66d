package auth

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SQLiteStore is the Store of `chatroom all`: one SQLite file.
type SQLiteStore struct{ db *sqlitedb.DB }

var _ Store = (*SQLiteStore)(nil)

// OpenSQLite opens (and migrates) the auth database at path.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	db, err := sqlitedb.OpenDir(ctx, path, migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db}, nil
}

const userCols = `id, username, username_key, nickname, password_hash, avatar, created_at`

func scanUser(row interface{ Scan(...any) error }) (*Account, error) {
	var a Account
	var created int64
	if err := row.Scan(&a.ID, &a.Username, &a.UsernameKey, &a.Nickname, &a.PasswordHash, &a.Avatar, &created); err != nil {
		return nil, err
	}
	a.CreatedAt = time.UnixMilli(created).UTC()
	return &a, nil
}

// CreateUser inserts the account.
func (s *SQLiteStore) CreateUser(ctx context.Context, a *Account) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO users (`+userCols+`, nickname_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Username, a.UsernameKey, a.Nickname, a.PasswordHash, a.Avatar, a.CreatedAt.UnixMilli(), foldKey(a.Nickname))
	if sqlitedb.IsUnique(err) {
		return errUsernameTaken()
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UserByID looks up one account.
func (s *SQLiteStore) UserByID(ctx context.Context, id string) (*Account, error) {
	return s.oneUser(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id)
}

// UserByUsernameKey looks up one account by its unique key.
func (s *SQLiteStore) UserByUsernameKey(ctx context.Context, key string) (*Account, error) {
	return s.oneUser(ctx, `SELECT `+userCols+` FROM users WHERE username_key = ?`, key)
}

func (s *SQLiteStore) oneUser(ctx context.Context, query string, arg string) (*Account, error) {
	a, err := scanUser(s.db.QueryRowContext(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUserNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return a, nil
}

// UsersByIDs looks up many accounts at once.
func (s *SQLiteStore) UsersByIDs(ctx context.Context, ids []string) ([]*Account, error) {
	if len(ids) == 0 {
		return []*Account{}, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return s.users(ctx, `SELECT `+userCols+` FROM users WHERE id IN (`+sqlitedb.Placeholders(len(ids))+`)`, args...)
}

// ListUsers pages through the directory.
func (s *SQLiteStore) ListUsers(ctx context.Context, q, after string, limit int) ([]*Account, error) {
	if q == "" {
		return s.users(ctx, `SELECT `+userCols+` FROM users WHERE username_key > ? ORDER BY username_key LIMIT ?`, after, limit)
	}
	like := "%" + likeEscaper.Replace(q) + "%"
	return s.users(ctx, `SELECT `+userCols+` FROM users
		WHERE username_key > ? AND (username_key LIKE ? ESCAPE '\' OR nickname_key LIKE ? ESCAPE '\')
		ORDER BY username_key LIMIT ?`, after, like, like, limit)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (s *SQLiteStore) users(ctx context.Context, query string, args ...any) ([]*Account, error) {
	return sqlitedb.Rows(ctx, s.db, "list users", func(r *sql.Rows) (*Account, error) { return scanUser(r) }, query, args...)
}

// CreateSession inserts a session.
func (s *SQLiteStore) CreateSession(ctx context.Context, se *Session) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		se.ID, se.TokenHash, se.UserID, se.CreatedAt.UnixMilli(), se.ExpiresAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByTokenHash looks up a session by the hash of its token.
func (s *SQLiteStore) SessionByTokenHash(ctx context.Context, hash string) (*Session, error) {
	var se Session
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT id, token_hash, user_id, created_at, expires_at FROM sessions WHERE token_hash = ?`, hash).
		Scan(&se.ID, &se.TokenHash, &se.UserID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.Errorf(apperr.NotFound, "session not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	se.CreatedAt, se.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return &se, nil
}

// DeleteSession removes a session.
func (s *SQLiteStore) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.db.W.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes and returns the sessions expired at now.
func (s *SQLiteStore) DeleteExpiredSessions(ctx context.Context, now time.Time) ([]*Session, error) {
	return sqlitedb.Rows(ctx, s.db.W, "delete expired sessions", func(r *sql.Rows) (*Session, error) {
		var se Session
		return &se, r.Scan(&se.ID, &se.UserID)
	}, `DELETE FROM sessions WHERE expires_at <= ? RETURNING id, user_id`, now.UnixMilli())
}

// AddAttempt records an attempt.
func (s *SQLiteStore) AddAttempt(ctx context.Context, key string, at time.Time) error {
	if _, err := s.db.W.ExecContext(ctx, `INSERT INTO attempts (key, at) VALUES (?, ?)`, key, at.UnixMilli()); err != nil {
		return fmt.Errorf("add attempt: %w", err)
	}
	return nil
}

// CountAttempts counts recent attempts.
func (s *SQLiteStore) CountAttempts(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM attempts WHERE key = ? AND at >= ?`, key, since.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count attempts: %w", err)
	}
	return n, nil
}

// ClearAttempts forgets a key's attempts.
func (s *SQLiteStore) ClearAttempts(ctx context.Context, key string) error {
	if _, err := s.db.W.ExecContext(ctx, `DELETE FROM attempts WHERE key = ?`, key); err != nil {
		return fmt.Errorf("clear attempts: %w", err)
	}
	return nil
}

// PruneAttempts forgets old attempts.
func (s *SQLiteStore) PruneAttempts(ctx context.Context, before time.Time) error {
	if _, err := s.db.W.ExecContext(ctx, `DELETE FROM attempts WHERE at < ?`, before.UnixMilli()); err != nil {
		return fmt.Errorf("prune attempts: %w", err)
	}
	return nil
}

// Ping checks the database.
func (s *SQLiteStore) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }
