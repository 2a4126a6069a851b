-- 0003_guard_events: the guard's audit log, one row per intervention (a refused prompt, a
-- stopped or withdrawn answer, or a hit that is only logged).
--
-- `created_at` is RFC 3339 in UTC with milliseconds, normalised by the store, so that
-- comparing it as text compares it in time.

CREATE TABLE guard_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    -- The API key's id ('' without keys).
    key_id      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    -- The model behind the guard.
    model       TEXT NOT NULL,
    -- 'input' or 'output'.
    direction   TEXT NOT NULL,
    category    TEXT NOT NULL,
    -- 'block', 'retract' or 'log'.
    action      TEXT NOT NULL,
    -- Characters into the prompt message or the answer.
    char_offset BIGINT NOT NULL,
    -- The term, or 'sha256:<hex>' of it when terms are not revealed.
    rule        TEXT NOT NULL
);

CREATE INDEX guard_events_by_time ON guard_events (created_at);
CREATE INDEX guard_events_by_key ON guard_events (key_id, created_at);
