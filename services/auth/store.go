package auth

import (
	"context"
	"time"
)

// Account is a stored user with the secrets only auth sees.
type Account struct {
	ID           string
	Username     string // as chosen, NFC
	UsernameKey  string // NFKC, lower-case: unique
	Nickname     string
	PasswordHash string    // argon2id in PHC form
	Avatar       string    // "<version>.<ext>" of the stored avatar files
	CreatedAt    time.Time // millisecond precision
}

// Session is a login. The token itself is never stored, only its hash.
type Session struct {
	ID        string
	TokenHash string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store keeps accounts, sessions and throttling attempts. Implementations:
// SQLite (sqlite.go) and MongoDB (mongo.go); store_test.go is the contract
// both pass.
type Store interface {
	// CreateUser stores a new account; a taken username key is "username_taken".
	CreateUser(ctx context.Context, a *Account) error
	// UserByID returns the account or apperr.NotFound.
	UserByID(ctx context.Context, id string) (*Account, error)
	// UserByUsernameKey returns the account or apperr.NotFound.
	UserByUsernameKey(ctx context.Context, key string) (*Account, error)
	// UsersByIDs returns the accounts that exist, in no particular order.
	UsersByIDs(ctx context.Context, ids []string) ([]*Account, error)
	// ListUsers returns up to limit accounts whose username or nickname key
	// contains q (all when q is ""), ordered by username key, after the
	// username key after.
	ListUsers(ctx context.Context, q, after string, limit int) ([]*Account, error)

	// CreateSession stores a session.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByTokenHash returns the session or apperr.NotFound; expiry is the
	// caller's to check.
	SessionByTokenHash(ctx context.Context, hash string) (*Session, error)
	// DeleteSession removes a session; a missing one is not an error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions removes sessions expired at now and returns them.
	DeleteExpiredSessions(ctx context.Context, now time.Time) ([]*Session, error)

	// AddAttempt records one attempt under key at time at.
	AddAttempt(ctx context.Context, key string, at time.Time) error
	// CountAttempts counts attempts under key at or after since.
	CountAttempts(ctx context.Context, key string, since time.Time) (int, error)
	// ClearAttempts forgets every attempt under key.
	ClearAttempts(ctx context.Context, key string) error
	// PruneAttempts forgets attempts before before.
	PruneAttempts(ctx context.Context, before time.Time) error

	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
