-- A media message keeps a snapshot of its picture's or recording's
-- metadata (wire.Media as JSON), so pages and deliveries carry it without
-- asking the media service; '' for text messages.
ALTER TABLE messages ADD COLUMN media TEXT NOT NULL DEFAULT '';
