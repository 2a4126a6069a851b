-- 0002_votes: arena votes, one per battle.
--
-- `created_at` and `battle_started_at` are RFC 3339 in UTC with milliseconds
-- (`2024-05-01T10:00:00.000Z`), normalised by the store, so that comparing them as text (as
-- "votes since" does) compares them in time. JSON columns hold JSON text; `identity_leak` is
-- INTEGER 0/1.

CREATE TABLE votes (
    -- UNIQUE through the primary key: a battle has at most one vote, whichever instance of
    -- the arena records it.
    battle_id         TEXT PRIMARY KEY,
    created_at        TEXT NOT NULL,
    battle_started_at TEXT NOT NULL,
    model_a           TEXT NOT NULL,
    model_b           TEXT NOT NULL,
    -- 'model_a', 'model_b', 'tie' or 'tie (bothbad)'.
    winner            TEXT NOT NULL,
    -- [{"role": ..., "content": ...}, ...]
    conversation_a    TEXT NOT NULL,
    conversation_b    TEXT NOT NULL,
    -- The detected language of the first prompt ("English", "Chinese", ...).
    language          TEXT NOT NULL,
    voter_id          TEXT NOT NULL,
    ip_hash           TEXT NOT NULL,
    identity_leak     INTEGER NOT NULL,
    turns             BIGINT NOT NULL,
    -- Style features, sampler information, ... as a JSON object.
    metadata          TEXT NOT NULL
);

CREATE INDEX votes_by_time ON votes (created_at, battle_id);
CREATE INDEX votes_by_voter ON votes (voter_id, created_at);
