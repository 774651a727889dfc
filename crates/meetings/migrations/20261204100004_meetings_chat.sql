-- A meeting's chat, kept with the meeting (it goes when the meeting goes). `at` is the
-- moment the server took the line (RFC 3339, as sent to the pages); `seq` orders lines
-- taken in the same millisecond.
CREATE TABLE meetings_chat (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    -- The account that wrote it; NULL for a guest.
    user_id TEXT,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    at TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    seq BIGINT NOT NULL
);
CREATE INDEX meetings_chat_meeting ON meetings_chat (meeting_id, created_at, seq);
