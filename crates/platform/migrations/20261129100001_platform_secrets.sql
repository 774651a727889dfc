-- Keys the server makes for itself on first use (e.g. `ws-guest`, which signs WebSocket
-- guest tokens), shared by every node on this database. Values are base64.
CREATE TABLE IF NOT EXISTS platform_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
