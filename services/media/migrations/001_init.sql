-- Uploads: pictures and voice recordings, each bound to its uploader and
-- conversation, and once sent to the message that carries it.
CREATE TABLE media (
	id              TEXT PRIMARY KEY,
	owner_id        TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	kind            TEXT NOT NULL,
	mime            TEXT NOT NULL,
	size            INTEGER NOT NULL,
	width           INTEGER NOT NULL DEFAULT 0,
	height          INTEGER NOT NULL DEFAULT 0,
	duration_ms     INTEGER NOT NULL DEFAULT 0,
	waveform        TEXT NOT NULL DEFAULT '', -- JSON array, '' for none
	blob_key        TEXT NOT NULL,
	thumb_key       TEXT NOT NULL DEFAULT '',
	thumb_mime      TEXT NOT NULL DEFAULT '',
	claimed_by      TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL
);
