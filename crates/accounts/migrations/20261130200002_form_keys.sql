-- Keys of forms that create something whose secret is shown once (an API token, an
-- invitation link without mail). A page mints a key into the form; the creation stores it
-- in its own transaction, so a form sent twice (a reload re-posting it) creates nothing
-- the second time. Keys go with the periodic sweep once a form that old is refused.
CREATE TABLE form_keys (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    form_key TEXT NOT NULL,
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, form_key)
);
CREATE INDEX form_keys_created ON form_keys (created_at);
