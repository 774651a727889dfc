-- The recital studio: campaigns, their texts, recording sessions and what processing
-- makes of them. Times are Unix milliseconds; flags are 0/1 BIGINTs and lists are JSON
-- text, so one dialect serves SQLite and PostgreSQL.

CREATE TABLE recital_campaigns (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    languages TEXT NOT NULL,          -- JSON list of BCP 47 tags, the first is the default
    mode TEXT NOT NULL,               -- long-form | clip
    labels TEXT NOT NULL,             -- JSON list; empty = no labels
    agreement_text TEXT NOT NULL,
    agreement_version BIGINT NOT NULL,
    asks TEXT NOT NULL,               -- JSON list of demographic questions asked
    access TEXT NOT NULL,             -- open | approved | invite
    licence TEXT NOT NULL,
    accepting BIGINT NOT NULL,        -- 1 while it takes recordings
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Emails a reviewer approved to speak in a campaign that is not open to everyone.
CREATE TABLE recital_approved_emails (
    campaign_id TEXT NOT NULL REFERENCES recital_campaigns (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    approved_by TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, email)
);

-- A person's standing in a campaign: consent (version and time), demographics, and
-- whether a reviewer muted them (with the reason they are told).
CREATE TABLE recital_speakers (
    campaign_id TEXT NOT NULL REFERENCES recital_campaigns (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    consent_version BIGINT,
    consent_at BIGINT,
    year_of_birth BIGINT,
    gender TEXT,
    accent TEXT,
    muted_at BIGINT,
    muted_reason TEXT,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX recital_speakers_user ON recital_speakers (user_id);

CREATE TABLE recital_documents (
    id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES recital_campaigns (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    source TEXT NOT NULL,             -- what it was imported from (a file name, a URL, "pasted")
    public BIGINT NOT NULL,
    owner_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX recital_documents_campaign ON recital_documents (campaign_id);

-- Sentences in reading order. A fixed text bumps `revision`: takes keep the text and
-- revision they were read with, so recordings of the old text stay apart.
CREATE TABLE recital_sentences (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES recital_documents (id) ON DELETE CASCADE,
    paragraph BIGINT NOT NULL,
    ordinal BIGINT NOT NULL,
    text TEXT NOT NULL,
    external_id TEXT,
    revision BIGINT NOT NULL,
    retired_at BIGINT,
    UNIQUE (document_id, ordinal)
);

CREATE TABLE recital_reports (
    id TEXT PRIMARY KEY,
    sentence_id TEXT NOT NULL REFERENCES recital_sentences (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT,
    resolution TEXT
);
CREATE INDEX recital_reports_open ON recital_reports (resolved_at, sentence_id);

-- Where a reader stopped in a document.
CREATE TABLE recital_positions (
    user_id TEXT NOT NULL,
    document_id TEXT NOT NULL REFERENCES recital_documents (id) ON DELETE CASCADE,
    sentence_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, document_id)
);

-- One recording: a long-form reading of a document, or one clip-mode take of one
-- sentence (and label). state: recording -> ended -> processed -> published, or discarded.
CREATE TABLE recital_sessions (
    id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES recital_campaigns (id) ON DELETE CASCADE,
    document_id TEXT NOT NULL REFERENCES recital_documents (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    sentence_id TEXT,
    label TEXT,
    state TEXT NOT NULL,
    keep_last BIGINT,
    duration_ms BIGINT,
    verdict TEXT,                     -- JSON quality verdict, once processed
    error TEXT,                       -- why processing failed, while it does
    media TEXT,                       -- JSON: blob keys of what processing made
    created_at BIGINT NOT NULL,
    ended_at BIGINT,
    processed_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX recital_sessions_user ON recital_sessions (user_id, created_at);
CREATE INDEX recital_sessions_campaign ON recital_sessions (campaign_id, state);

-- Chunks as acknowledged: stored under a key that includes their digest, so a different
-- body under the same number can never overwrite an acknowledged one.
CREATE TABLE recital_chunks (
    session_id TEXT NOT NULL REFERENCES recital_sessions (id) ON DELETE CASCADE,
    part BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    media_type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, part, seq)
);

-- The time each sentence ended on the session's timeline; a sentence read again replaces it.
CREATE TABLE recital_segments (
    session_id TEXT NOT NULL REFERENCES recital_sessions (id) ON DELETE CASCADE,
    sentence_id TEXT NOT NULL,
    text TEXT NOT NULL,
    revision BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, sentence_id)
);

-- What validation listens to: one per kept sentence of a processed session.
CREATE TABLE recital_clips (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES recital_sessions (id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sentence_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    text TEXT NOT NULL,
    label TEXT,
    ordinal BIGINT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    audio_key TEXT NOT NULL,
    verdict TEXT NOT NULL,
    up_votes BIGINT NOT NULL,
    down_votes BIGINT NOT NULL,
    reports BIGINT NOT NULL,
    status TEXT NOT NULL,             -- pending | valid | invalid
    created_at BIGINT NOT NULL
);
CREATE INDEX recital_clips_queue ON recital_clips (campaign_id, status, up_votes, down_votes);
CREATE INDEX recital_clips_user ON recital_clips (user_id);

CREATE TABLE recital_votes (
    clip_id TEXT NOT NULL REFERENCES recital_clips (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    valid BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (clip_id, user_id)
);

CREATE TABLE recital_exports (
    id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES recital_campaigns (id) ON DELETE CASCADE,
    format TEXT NOT NULL,
    include_all BIGINT NOT NULL,
    state TEXT NOT NULL,              -- queued | running | done | failed
    done_items BIGINT NOT NULL,
    total_items BIGINT NOT NULL,
    blob_key TEXT,
    size_bytes BIGINT,
    summary TEXT,
    error TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
