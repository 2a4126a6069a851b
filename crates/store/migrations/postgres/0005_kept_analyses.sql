-- 0005_kept_analyses: what `assay board` keeps of a finished run's analysis. The PostgreSQL
-- copy of migrations/sqlite/0005_kept_analyses.sql: `runs.revision` rises with every change
-- to a run's items, answers, grades and people's labels (triggers) and to its status, times
-- and configuration; a kept analysis is good only while its `revision` is the run's.

ALTER TABLE runs ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

CREATE TABLE kept_analyses (
    run_id   TEXT PRIMARY KEY REFERENCES runs (id),
    revision BIGINT NOT NULL,
    format   TEXT NOT NULL,
    body     TEXT NOT NULL
);
-- A body is megabytes of JSON read whole by every board: kept uncompressed, since decompressing
-- it cost more than reading it.
ALTER TABLE kept_analyses ALTER COLUMN body SET STORAGE EXTERNAL;

CREATE FUNCTION assay_runs_revision_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.revision := OLD.revision + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER runs_revision_on_update
    BEFORE UPDATE OF status, created_at, finished_at, config ON runs
    FOR EACH ROW EXECUTE FUNCTION assay_runs_revision_on_update();

-- For tables with a run_id column: items, answers, reviews.
CREATE FUNCTION assay_revision_by_run_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE runs SET revision = revision + 1 WHERE id = OLD.run_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE runs SET revision = revision + 1 WHERE id = NEW.run_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION assay_revision_by_answer_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE runs SET revision = revision + 1
        WHERE id = (SELECT run_id FROM answers WHERE id = OLD.answer_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE runs SET revision = revision + 1
        WHERE id = (SELECT run_id FROM answers WHERE id = NEW.answer_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER items_revision AFTER INSERT OR UPDATE OR DELETE ON items
    FOR EACH ROW EXECUTE FUNCTION assay_revision_by_run_id();
CREATE TRIGGER answers_revision AFTER INSERT OR UPDATE OR DELETE ON answers
    FOR EACH ROW EXECUTE FUNCTION assay_revision_by_run_id();
CREATE TRIGGER reviews_revision AFTER INSERT OR UPDATE OR DELETE ON reviews
    FOR EACH ROW EXECUTE FUNCTION assay_revision_by_run_id();
CREATE TRIGGER grades_revision AFTER INSERT OR UPDATE OR DELETE ON grades
    FOR EACH ROW EXECUTE FUNCTION assay_revision_by_answer_id();
