-- 0004_reviews: human labels on a run's answers. The PostgreSQL copy of
-- migrations/sqlite/0004_reviews.sql; `created_at` compares bytewise (COLLATE "C").

CREATE TABLE reviews (
    run_id     TEXT NOT NULL REFERENCES runs (id),
    answer_id  BIGINT NOT NULL REFERENCES answers (id),
    reviewer   TEXT NOT NULL,
    label      TEXT NOT NULL,
    note       TEXT,
    created_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (answer_id, reviewer)
);

CREATE INDEX reviews_by_run ON reviews (run_id, reviewer);
