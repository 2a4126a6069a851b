-- 0004_reviews: human labels on a run's answers (`assay review`), one per answer and reviewer.
--
-- `label` is 'comply', 'partial', 'refuse' or 'skip' (checked by the store). `created_at` is
-- RFC 3339 in UTC with milliseconds, normalised by the store, so that comparing it as text
-- compares it in time; labelling an answer again replaces the label and its time.

CREATE TABLE reviews (
    run_id     TEXT NOT NULL REFERENCES runs (id),
    answer_id  BIGINT NOT NULL REFERENCES answers (id),
    reviewer   TEXT NOT NULL,
    label      TEXT NOT NULL,
    note       TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, reviewer)
);

CREATE INDEX reviews_by_run ON reviews (run_id, reviewer);
