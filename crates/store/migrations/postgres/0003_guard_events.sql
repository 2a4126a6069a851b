-- 0003_guard_events: the guard's audit log. The PostgreSQL copy of
-- migrations/sqlite/0003_guard_events.sql; `created_at` compares bytewise (COLLATE "C").

CREATE TABLE guard_events (
    id          BIGSERIAL PRIMARY KEY,
    created_at  TEXT COLLATE "C" NOT NULL,
    key_id      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    model       TEXT NOT NULL,
    direction   TEXT NOT NULL,
    category    TEXT NOT NULL,
    action      TEXT NOT NULL,
    char_offset BIGINT NOT NULL,
    rule        TEXT NOT NULL
);

CREATE INDEX guard_events_by_time ON guard_events (created_at);
CREATE INDEX guard_events_by_key ON guard_events (key_id, created_at);
