-- The values an audit entry's detail names (a JSON object), so pages can word it in the
-- reader's language; NULL on entries recorded before.
ALTER TABLE audit_log ADD COLUMN args TEXT;
