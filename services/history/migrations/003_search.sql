-- Search (DESIGN §8). Every message is one document of the full-text
-- table `search`: its terms, split in Go (terms.go: words, CJK characters
-- and pairs) and joined by spaces, plus terms for its kind (k:text), its
-- conversation (c:<id>), its sender (s:<id>) and, for a direct
-- conversation, each of the two users who may read it (u:<id>); so every
-- filter and the "only what you may read" rule are answered by the index.
--
-- The table stores no text (content=''), no positions (detail=none) and no
-- lengths (columnsize=0): hits are never ranked, only listed newest first.
-- The 'ascii' tokenizer splits on spaces and ASCII punctuation only and
-- leaves non-ASCII alone, so it keeps the terms as Go made them; ':' and
-- '-' are kept for the field terms.
CREATE VIRTUAL TABLE search USING fts5(
	terms,
	content = '', detail = none, columnsize = 0,
	tokenize = "ascii tokenchars ':-'"
);

-- A document's rowid is minus its search key, created_at in milliseconds
-- times 2^20 plus a counter (sqlite_search.go): ascending rowids, the order
-- FTS5 reads fastest, are newest first, and a date range is a range of
-- rowids. search_keys leads from a rowid to its message's rowid (messages
-- keep theirs: VACUUM may renumber a table without an INTEGER PRIMARY KEY,
-- so this database must never be vacuumed).
CREATE TABLE search_keys (
	key INTEGER PRIMARY KEY,
	msg INTEGER NOT NULL
);

-- Messages stored before this migration are indexed when the store opens:
-- rowids done < r <= upto, a chunk per transaction; the row goes when done.
CREATE TABLE search_backfill (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	done INTEGER NOT NULL,
	upto INTEGER NOT NULL
);
INSERT INTO search_backfill (id, done, upto)
	SELECT 1, 0, max(rowid) FROM messages HAVING max(rowid) IS NOT NULL;
