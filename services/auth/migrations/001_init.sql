CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL,
	username_key  TEXT NOT NULL UNIQUE,
	nickname      TEXT NOT NULL,
	nickname_key  TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	avatar        TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE attempts (
	key TEXT NOT NULL,
	at  INTEGER NOT NULL
);
CREATE INDEX attempts_key_at ON attempts(key, at);
CREATE INDEX attempts_at ON attempts(at);
