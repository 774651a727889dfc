-- A test studio's own table: proves a studio's migrations run beside the platform's.
CREATE TABLE rehearsal_notes (
    id TEXT PRIMARY KEY,
    author_email TEXT NOT NULL,
    body TEXT NOT NULL
);
