-- Whether a speaker shows their name on the public leaderboard (they are anonymous
-- there unless they say so).
CREATE TABLE recital_profiles (
    user_id TEXT PRIMARY KEY,
    public_name BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
