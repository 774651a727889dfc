-- What listeners keep for themselves through Subsonic apps: stars, playlists, and the
-- app password token authentication needs.

-- Sealed with AES-256-GCM under a key kept outside the database (subsonic::keys):
-- base64 of the nonce followed by the ciphertext.
CREATE TABLE music_app_passwords (
    user_id TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE music_stars (
    user_id TEXT NOT NULL,
    -- artist, album or track; item_id is then one of theirs. Rows of deleted items are
    -- left behind harmlessly: every read joins them to what is still public.
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    starred_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind, item_id)
);

CREATE TABLE music_playlists (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX music_playlists_owner ON music_playlists (owner_id);

CREATE TABLE music_playlist_entries (
    playlist_id TEXT NOT NULL REFERENCES music_playlists (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    track_id TEXT NOT NULL REFERENCES music_tracks (id) ON DELETE CASCADE,
    PRIMARY KEY (playlist_id, position)
);
CREATE INDEX music_playlist_entries_track ON music_playlist_entries (track_id);
