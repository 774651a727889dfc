-- Teams, their members and invitation links, meetings (once or weekly) and the secret
-- calendar feeds. Times are milliseconds since the epoch; a meeting's local times are
-- worked out from `time_zone` (an IANA name), so weekly meetings keep their wall-clock
-- time across daylight-saving changes.

CREATE TABLE meetings_teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Exactly one member of a team is its `owner`; `admin`s manage it with the owner.
CREATE TABLE meetings_team_members (
    team_id TEXT NOT NULL REFERENCES meetings_teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    -- owner, admin or member.
    role TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX meetings_team_members_user ON meetings_team_members (user_id);

-- Invitation links: the link's secret is derived from the row's id with a server key
-- (so managers can copy it again), and only its hash is kept for looking it up.
CREATE TABLE meetings_invites (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES meetings_teams (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    accepted BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX meetings_invites_team ON meetings_invites (team_id, created_at);

CREATE TABLE meetings (
    id TEXT PRIMARY KEY,
    -- The unguessable join code, `xxxx-xxxx-xxxx-xxxx`.
    code TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    -- NULL: a meeting of its host alone, open to whoever has the code.
    team_id TEXT REFERENCES meetings_teams (id) ON DELETE CASCADE,
    host_id TEXT NOT NULL,
    -- The first (or only) occurrence.
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    time_zone TEXT NOT NULL,
    -- 1: started on the spot, with no schedule.
    instant BIGINT NOT NULL DEFAULT 0,
    -- Weekly on these days (`MO,WE`, RFC 5545 day codes); empty: once.
    weekdays TEXT NOT NULL DEFAULT '',
    -- The last local date (`YYYY-MM-DD`) a weekly meeting may fall on.
    repeat_until TEXT,
    -- How many times a weekly meeting happens, the first included.
    repeat_count BIGINT,
    guests_allowed BIGINT NOT NULL DEFAULT 0,
    -- Bumped by every change, as calendar apps expect (iCalendar SEQUENCE).
    sequence BIGINT NOT NULL DEFAULT 0,
    -- scheduled or cancelled (kept, so feeds can say so).
    status TEXT NOT NULL DEFAULT 'scheduled',
    -- When the live room actually opened and closed (the latest time).
    started_at BIGINT,
    ended_at BIGINT,
    -- The start of the latest occurrence whose reminders went out.
    reminded_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX meetings_team ON meetings (team_id, starts_at);
CREATE INDEX meetings_host ON meetings (host_id, starts_at);
CREATE INDEX meetings_status ON meetings (status, starts_at);

-- Secret calendar feeds, one per person (`user:<id>`) and per team (`team:<id>`). The
-- token is derived from the owner and the generation with a server key; regenerating
-- bumps the generation, so the old address stops working.
CREATE TABLE meetings_feeds (
    owner TEXT PRIMARY KEY,
    generation BIGINT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- What the studio knows of a person for mail: their time zone and language.
CREATE TABLE meetings_people (
    user_id TEXT PRIMARY KEY,
    time_zone TEXT NOT NULL,
    lang TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
