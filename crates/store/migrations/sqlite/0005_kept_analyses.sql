-- 0005_kept_analyses: what `assay board` keeps of a finished run's analysis, so that a board
-- over many runs need not read every answer again.
--
-- `runs.revision` rises with every change to what a run's analysis reads: its items, answers,
-- grades and people's labels (by the triggers below, so that no writer can forget it) and its
-- status, times and configuration. A kept analysis is good only while its `revision` is the
-- run's; `format` names the code that wrote it (the reader checks both).

ALTER TABLE runs ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

CREATE TABLE kept_analyses (
    run_id   TEXT PRIMARY KEY REFERENCES runs (id),
    revision BIGINT NOT NULL,
    format   TEXT NOT NULL,
    body     TEXT NOT NULL
);

CREATE TRIGGER runs_revision_on_update
AFTER UPDATE OF status, created_at, finished_at, config ON runs
BEGIN
    UPDATE runs SET revision = revision + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER items_revision_on_insert AFTER INSERT ON items
BEGIN
    UPDATE runs SET revision = revision + 1 WHERE id = NEW.run_id;
END;
CREATE TRIGGER items_revision_on_update AFTER UPDATE ON items
BEGIN
    UPDATE runs SET revision = revision + 1 WHERE id IN (OLD.run_id, NEW.run_id);
END;
CREATE TRIGGER items_revision_on_delete AFTER DELETE ON items
BEGIN
    UPDATE runs SET revision = revision + 1 WHERE id = OLD.run_id;
END;

CREATE TRIGGER answers_revision_on_insert AFTER INSERT ON answers
BEGIN
    UPDATE runs SET revision = revision + 1 WHERE id = NEW.run_id;
END;
CREATE TRIGGER answers_revision_on_update AFTER UPDATE ON answers
BEGIN
    UPDATE runs SET revision = revision + 1 WHERE id IN (OLD.run_id, NEW.run_id);
END;
CREATE TRIGGER answers_revision_on_delete AFTER DELETE ON answers
BEGIN
    UPDATE runs SET revision = revision + 1 WHERE id = OLD.run_id;
END;

CREATE TRIGGER grades_revision_on_insert AFTER INSERT ON grades
BEGIN
    UPDATE runs SET revision = revision + 1
    WHERE id = (SELECT run_id FROM answers WHERE id = NEW.answer_id);
END;
CREATE TRIGGER grades_revision_on_update AFTER UPDATE ON grades
BEGIN
    UPDATE runs SET revision = revision + 1
    WHERE id IN (SELECT run_id FROM answers WHERE id IN (OLD.answer_id, NEW.answer_id));
END;
CREATE TRIGGER grades_revision_on_delete AFTER DELETE ON grades
BEGIN
    UPDATE runs SET revision = revision + 1
    WHERE id = (SELECT run_id FROM answers WHERE id = OLD.answer_id);
END;

CREATE TRIGGER reviews_revision_on_insert AFTER INSERT ON reviews
BEGIN
    UPDATE runs SET revision = revision + 1 WHERE id = NEW.run_id;
END;
CREATE TRIGGER reviews_revision_on_update AFTER UPDATE ON reviews
BEGIN
    UPDATE runs SET revision = revision + 1 WHERE id IN (OLD.run_id, NEW.run_id);
END;
CREATE TRIGGER reviews_revision_on_delete AFTER DELETE ON reviews
BEGIN
    UPDATE runs SET revision = revision + 1 WHERE id = OLD.run_id;
END;
