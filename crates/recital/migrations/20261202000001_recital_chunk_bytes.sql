-- A chunk's bytes are staged in its row until the session is processed, so an
-- acknowledgement is one group-committed row instead of a blob-store write per two-second
-- chunk; processing then stores each part's recording as one blob and clears these.
-- Rows written before this column existed keep their bytes in the blob store at blob_key.
ALTER TABLE recital_chunks ADD COLUMN data BYTEA;
