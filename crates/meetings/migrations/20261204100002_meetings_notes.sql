-- A meeting's live notes, a Yjs document kept as the updates its writers sent. Each
-- update is appended before the server acknowledges or forwards it; now and then the
-- updates are folded into one snapshot (the whole state as a single update) and dropped.
-- The document is the snapshot followed by the updates after its seq. Rows are keyed by
-- the meeting's id without a foreign key, so notes can land before or after the meetings
-- table; deleting a meeting removes them through the notes module.

CREATE TABLE meeting_note_updates (
    meeting_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    -- One Yjs update, lib0 v1 encoding, as the client sent it.
    data BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, seq)
);

CREATE TABLE meeting_note_snapshots (
    meeting_id TEXT PRIMARY KEY,
    -- The last update folded in: updates with seq <= this one are in `data`.
    seq BIGINT NOT NULL,
    data BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
