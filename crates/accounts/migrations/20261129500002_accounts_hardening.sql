-- API tokens may expire (delegate tokens do by default); NULL never expires.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;

-- An outgoing message keeps the hash of the one-time link it carries, so its copy of
-- the link is removed as soon as the link is used or expires.
ALTER TABLE outbox ADD COLUMN link_hash TEXT;
CREATE INDEX outbox_link_hash ON outbox (link_hash);

-- At most one first-admin setup link is open: it carries the key 'setup' here (a unique
-- column allows any number of NULLs, which every other link has).
ALTER TABLE one_time_links ADD COLUMN singleton TEXT;
CREATE UNIQUE INDEX one_time_links_singleton ON one_time_links (singleton);

-- What the periodic sweep looks for.
CREATE INDEX one_time_links_expires ON one_time_links (expires_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX oidc_logins_created ON oidc_logins (created_at);

-- Every earlier start made a setup link of its own; they all stop working, and the next
-- start makes the one that is kept.
DELETE FROM one_time_links WHERE purpose = 'setup';

-- Messages that no longer wait keep no working link.
UPDATE outbox SET body = COALESCE(REPLACE(body, link, '[link removed]'), body), link = NULL
WHERE link IS NOT NULL AND status NOT IN ('held', 'queued');
