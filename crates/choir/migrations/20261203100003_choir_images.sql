-- Images a leader shows the room during a song (a slide, a page of the score): the
-- upload as it came, once checked to be a picture browsers show. They go with their room.
CREATE TABLE choir_images (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES choir_rooms (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX choir_images_room ON choir_images (room_id, created_at);
