-- Artist profiles: one person may own several; the slug is the page's address.
CREATE TABLE music_artists (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '',
    -- JSON array of {"label", "url"}.
    links TEXT NOT NULL DEFAULT '[]',
    -- Blob key prefix of the profile picture's variants, when there is one.
    picture_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX music_artists_owner ON music_artists (owner_id);

-- Slugs an artist or album had before a rename: the old address answers 301.
CREATE TABLE music_old_slugs (
    kind TEXT NOT NULL,
    -- The artist an album slug is scoped to; '' for artist slugs.
    scope TEXT NOT NULL,
    slug TEXT NOT NULL,
    target_id TEXT NOT NULL,
    PRIMARY KEY (kind, scope, slug)
);

-- Albums and singles (a single is a release of one track).
CREATE TABLE music_albums (
    id TEXT PRIMARY KEY,
    artist_id TEXT NOT NULL REFERENCES music_artists (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    licence TEXT NOT NULL,
    -- The release time (milliseconds since the epoch); a scheduled release appears then.
    release_at BIGINT NOT NULL,
    visibility TEXT NOT NULL,
    cover_key TEXT,
    -- What listeners may download without a code: none, original or renditions.
    downloads TEXT NOT NULL DEFAULT 'none',
    taken_down_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (artist_id, slug)
);
CREATE INDEX music_albums_release ON music_albums (release_at);

CREATE TABLE music_tracks (
    id TEXT PRIMARY KEY,
    album_id TEXT NOT NULL REFERENCES music_albums (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    credits TEXT NOT NULL DEFAULT '',
    -- JSON of domain::Lyrics, or NULL.
    lyrics TEXT,
    -- 0 to 3: the track's place among its artist's featured tracks (0: not featured).
    featured BIGINT NOT NULL DEFAULT 0,
    -- Processing of the current audio: waiting, processing, ready, failed.
    status TEXT NOT NULL,
    -- Percent of the current processing done (for the artist's progress bar).
    progress BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    original_key TEXT,
    original_name TEXT,
    original_type TEXT,
    original_bytes BIGINT,
    -- Bumped on every replacement of the audio, so rendition keys and ETags change.
    audio_version BIGINT NOT NULL DEFAULT 0,
    duration_ms BIGINT,
    sample_rate BIGINT,
    channels BIGINT,
    bit_depth BIGINT,
    -- ReplayGain 2.0 values (dB and linear peak), from EBU R128 loudness.
    track_gain_db DOUBLE PRECISION,
    track_peak DOUBLE PRECISION,
    -- JSON peaks for the player's waveform.
    waveform TEXT,
    taken_down_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX music_tracks_album ON music_tracks (album_id, position);

-- Streaming copies of a track's current audio.
CREATE TABLE music_renditions (
    track_id TEXT NOT NULL REFERENCES music_tracks (id) ON DELETE CASCADE,
    format TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    bitrate_kbps BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (track_id, format)
);

-- Plays per track and day (UTC): counts only, nothing about who listened.
CREATE TABLE music_plays (
    track_id TEXT NOT NULL REFERENCES music_tracks (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    plays BIGINT NOT NULL,
    PRIMARY KEY (track_id, day)
);
