-- Listeners' reports on clips (not the sentence, noise, personal information …): one per
-- person and clip; a clip reported twice leaves the validation queue.
CREATE TABLE recital_clip_reports (
    clip_id TEXT NOT NULL REFERENCES recital_clips (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (clip_id, user_id)
);
