-- Conversations: the lobby (seeded here) and direct conversations, whose two
-- members are stored sorted (user_a < user_b) so a pair has one row.
CREATE TABLE conversations (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	title      TEXT NOT NULL DEFAULT '',
	user_a     TEXT,
	user_b     TEXT,
	created_at INTEGER NOT NULL,
	last_seq   INTEGER NOT NULL DEFAULT 0, -- the seq counter: next message is last_seq + 1
	last_at    INTEGER NOT NULL,           -- newest message's time, or created_at
	UNIQUE (user_a, user_b)
);
CREATE INDEX conversations_b ON conversations(user_b); -- user_a: the UNIQUE index
INSERT INTO conversations (id, kind, title, created_at, last_at) VALUES ('lobby', 'room', 'Lobby', 0, 0);

-- Messages keep their integer rowid so a full-text index can point at them.
-- Only the two indexes appends need: every index with random keys costs a
-- random page per message in each group commit (the id, random, has none).
CREATE TABLE messages (
	id              TEXT NOT NULL,
	conversation_id TEXT NOT NULL REFERENCES conversations(id),
	seq             INTEGER NOT NULL,
	sender_id       TEXT NOT NULL,
	kind            TEXT NOT NULL,
	text            TEXT NOT NULL DEFAULT '',
	media_id        TEXT NOT NULL DEFAULT '',
	client_id       TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	UNIQUE (conversation_id, seq),
	UNIQUE (sender_id, client_id)
);

-- Read markers: the highest seq a user has read in a conversation.
CREATE TABLE reads (
	user_id         TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	seq             INTEGER NOT NULL,
	PRIMARY KEY (user_id, conversation_id)
) WITHOUT ROWID;
