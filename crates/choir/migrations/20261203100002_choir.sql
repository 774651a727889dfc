-- Choir rooms and what each keeps between sessions: its backing-track library, its
-- setlist, its scheduled sessions and its recordings. Everything goes with its room
-- (ON DELETE CASCADE). Times are milliseconds since the epoch.

CREATE TABLE choir_rooms (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    -- Argon2 hash of the room's password; NULL: no password.
    password_hash TEXT,
    -- 1: only signed-in people may enter.
    members_only BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX choir_rooms_owner ON choir_rooms (owner_id, created_at);

-- Backing tracks: the upload as it came, and once converted, mono 48 kHz samples
-- (16-bit little-endian) the mixer reads.
CREATE TABLE choir_tracks (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES choir_rooms (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- waiting, ready or failed.
    status TEXT NOT NULL,
    error TEXT,
    upload_key TEXT NOT NULL,
    pcm_key TEXT,
    duration_ms BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX choir_tracks_room ON choir_tracks (room_id, created_at);

CREATE TABLE choir_setlist (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES choir_rooms (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    bpm BIGINT,
    beats_per_repeat BIGINT,
    repeats BIGINT,
    track_id TEXT REFERENCES choir_tracks (id) ON DELETE SET NULL,
    lyrics TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX choir_setlist_room ON choir_setlist (room_id, position);

CREATE TABLE choir_sessions (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES choir_rooms (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX choir_sessions_start ON choir_sessions (starts_at);

-- A song's recording: segments are written to the blob store while it is sung
-- (`choir/recordings/<id>/…`), so a crash keeps them; a job then makes the files.
CREATE TABLE choir_recordings (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES choir_rooms (id) ON DELETE CASCADE,
    -- recording, processing, ready or failed.
    status TEXT NOT NULL,
    error TEXT,
    started_at BIGINT NOT NULL,
    -- Samples at 48 kHz, once known.
    length_samples BIGINT,
    mix_key TEXT,
    -- JSON list of {"singer", "name", "key"} once made.
    stems TEXT NOT NULL DEFAULT '[]',
    progress BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX choir_recordings_room ON choir_recordings (room_id, started_at);
