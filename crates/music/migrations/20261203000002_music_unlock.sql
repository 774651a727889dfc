-- What unlocks a release beyond its public settings: download codes an artist hands out,
-- the log of their use, and private links to listen before the release. Each row goes
-- with its release (ON DELETE CASCADE), so deleting the release leaves none behind.

-- Download codes. The code itself is never stored: `code_hash` is its keyed hash (see
-- `unlock::Keys`), `hint` its first characters so the artist can tell codes apart.
CREATE TABLE music_download_codes (
    id TEXT PRIMARY KEY,
    album_id TEXT NOT NULL REFERENCES music_albums (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    -- Redemptions so far, and how many the code allows.
    uses BIGINT NOT NULL DEFAULT 0,
    max_uses BIGINT NOT NULL,
    -- Milliseconds since the epoch; NULL: never expires.
    expires_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX music_download_codes_album ON music_download_codes (album_id, created_at);

-- One row per successful redemption: when, and whether the listener was signed in;
-- nothing else about them.
CREATE TABLE music_redemptions (
    id TEXT PRIMARY KEY,
    code_id TEXT NOT NULL REFERENCES music_download_codes (id) ON DELETE CASCADE,
    -- 1 when the listener was signed in, 0 when not.
    signed_in BIGINT NOT NULL,
    redeemed_at BIGINT NOT NULL
);
CREATE INDEX music_redemptions_code ON music_redemptions (code_id, redeemed_at);

-- Private links to a release before it is public. Only the token's hash is kept.
CREATE TABLE music_listen_links (
    id TEXT PRIMARY KEY,
    album_id TEXT NOT NULL REFERENCES music_albums (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    -- Whom the artist made it for, in their own words.
    label TEXT NOT NULL DEFAULT '',
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    visits BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX music_listen_links_album ON music_listen_links (album_id, created_at);
