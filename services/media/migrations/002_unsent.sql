-- Uploads never sent, oldest first, for the sweep that deletes them.
CREATE INDEX media_unsent ON media (created_at) WHERE claimed_by = '';
