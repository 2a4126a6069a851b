//! Attempts at requests, their grades, and the content-addressed answer cache.

use std::collections::{HashMap, HashSet};

use crate::db::{params, DbError, TxKind};
use crate::session::Session;
use crate::{AnswerRecord, CachedAnswer, GradeRecord, RequestKey, Store, StoreError, StoredAnswer};

/// Inserts or replaces one cache entry: ?1 key, ?2 text, ?3 finish reason, ?4 prompt tokens,
/// ?5 completion tokens, ?6 latency, ?7 created at.
const UPSERT_CACHE: &str = "INSERT INTO cache (cache_key, text, finish_reason, prompt_tokens, \
     completion_tokens, latency_ms, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
     ON CONFLICT (cache_key) DO UPDATE SET text = excluded.text, \
     finish_reason = excluded.finish_reason, prompt_tokens = excluded.prompt_tokens, \
     completion_tokens = excluded.completion_tokens, latency_ms = excluded.latency_ms, \
     created_at = excluded.created_at";

/// The columns of `answers`, in the order [`AnswerColumns`] holds them.
const ANSWER_COLUMNS: &str = "a.id, a.run_id, a.model, a.suite, a.item_id, a.lang, a.sample, \
     a.seed, a.cache_key, a.request, a.text, a.error, a.finish_reason, a.prompt_tokens, \
     a.completion_tokens, a.latency_ms, a.cached, a.started_at";

/// [`ANSWER_COLUMNS`] with an empty request and text: the same shape, a fraction of the reading.
const ANSWER_COLUMNS_WITHOUT_TEXTS: &str = "a.id, a.run_id, a.model, a.suite, a.item_id, a.lang, \
     a.sample, a.seed, a.cache_key, '{}', CASE WHEN a.text IS NULL THEN NULL ELSE '' END, \
     a.error, a.finish_reason, a.prompt_tokens, a.completion_tokens, a.latency_ms, a.cached, \
     a.started_at";

/// The ids of the latest attempt of each request key of run `?1`: attempts only ever get
/// higher ids, so the latest is the maximum.
pub(crate) const LATEST_IDS: &str = "SELECT MAX(id) AS id FROM answers WHERE run_id = ?1 \
     GROUP BY model, suite, item_id, lang, sample";

/// A row selected with [`ANSWER_COLUMNS`], before its JSON and integers are converted.
type AnswerColumns = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    String,
);

/// A grade as read: answer id, grader, version, label, rule, detail.
type GradeColumns = (i64, String, String, String, String, Option<String>);

impl Store {
    /// Inserts one attempt and its grades in one committed transaction, so an attempt is either
    /// wholly stored or not at all, even if the process is killed. When the attempt succeeded
    /// (no error, and a text) its answer is also put in the cache under `cache_key`, replacing
    /// any entry there; the entry's `created_at` is the attempt's `started_at`. Grades with
    /// the same grader name replace one another (the last wins). Returns the attempt's id.
    pub fn record_answer(&self, answer: &AnswerRecord) -> Result<i64, StoreError> {
        let run_id = answer.run_id.as_str();
        let key = &answer.key;
        // Everything that can fail without the database is done before taking the connection.
        let what =
            |name: &'static str| move || format!("the {name} of an answer of run {run_id:?}");
        let seed = self.db_int(answer.seed, what("seed"))?;
        let prompt_tokens = self.db_int_opt(answer.prompt_tokens, what("prompt_tokens"))?;
        let completion_tokens =
            self.db_int_opt(answer.completion_tokens, what("completion_tokens"))?;
        let latency_ms = self.db_int_opt(answer.latency_ms, what("latency_ms"))?;
        let request = self.encode(&answer.request, what("request"))?;
        let details: Vec<Option<String>> = answer
            .grades
            .iter()
            .map(|g| {
                self.encode_opt(g.detail.as_ref(), || {
                    format!("the detail of grade {:?} of run {run_id:?}", g.grader)
                })
            })
            .collect::<Result<_, _>>()?;

        let context = || {
            format!(
                "cannot record the answer of run {run_id:?} for model {:?}, item {}/{} ({}), \
                 sample {}",
                key.model, key.suite, key.item_id, key.lang, key.sample
            )
        };
        self.transaction(TxKind::Write, context, |s| {
            self.require_run(s, run_id)?;
            let ids: Vec<(i64,)> = self.select(
                s,
                "INSERT INTO answers (run_id, model, suite, item_id, lang, sample, seed, \
                 cache_key, request, text, error, finish_reason, prompt_tokens, \
                 completion_tokens, latency_ms, cached, started_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                 ?17) RETURNING id",
                params![
                    run_id,
                    &key.model,
                    &key.suite,
                    &key.item_id,
                    &key.lang,
                    i64::from(key.sample),
                    seed,
                    &answer.cache_key,
                    request,
                    answer.text.as_deref(),
                    answer.error.as_deref(),
                    answer.finish_reason.as_deref(),
                    prompt_tokens,
                    completion_tokens,
                    latency_ms,
                    answer.cached,
                    &answer.started_at,
                ],
                context,
                "answers",
            )?;
            let Some(&(id,)) = ids.first() else {
                return Err(self.corrupt(
                    "the new answer's id".to_string(),
                    "the insert returned no row".to_string(),
                ));
            };
            for (grade, detail) in answer.grades.iter().zip(&details) {
                self.upsert_grade(s, id, grade, detail.as_deref())
                    .map_err(self.db_err(context))?;
            }
            if let (None, Some(text)) = (&answer.error, &answer.text) {
                s.execute(
                    UPSERT_CACHE,
                    params![
                        &answer.cache_key,
                        text,
                        answer.finish_reason.as_deref(),
                        prompt_tokens,
                        completion_tokens,
                        latency_ms,
                        &answer.started_at,
                    ],
                )
                .map_err(self.db_err(context))?;
            }
            Ok(id)
        })
    }

    /// Puts an answer in the cache that is not an audit answer of its own (a judge's verdict,
    /// say), replacing any entry under the same key.
    pub fn cache_put(
        &self,
        cache_key: &str,
        answer: &CachedAnswer,
        created_at: &str,
    ) -> Result<(), StoreError> {
        let what = |name: &'static str| move || format!("the {name} of cache entry {cache_key:?}");
        let prompt_tokens = self.db_int_opt(answer.prompt_tokens, what("prompt_tokens"))?;
        let completion_tokens =
            self.db_int_opt(answer.completion_tokens, what("completion_tokens"))?;
        let latency_ms = self.db_int_opt(answer.latency_ms, what("latency_ms"))?;
        self.session()
            .execute(
                UPSERT_CACHE,
                params![
                    cache_key,
                    &answer.text,
                    answer.finish_reason.as_deref(),
                    prompt_tokens,
                    completion_tokens,
                    latency_ms,
                    created_at,
                ],
            )
            .map_err(self.db_err(|| format!("cannot write cache entry {cache_key:?}")))?;
        Ok(())
    }

    /// Adds a grade to an existing answer, or replaces the one by the same grader (e.g. an LLM
    /// judge's verdict added later, or a regrade).
    pub fn put_grade(&self, answer_id: i64, grade: &GradeRecord) -> Result<(), StoreError> {
        let detail = self.encode_opt(grade.detail.as_ref(), || {
            format!(
                "the detail of grade {:?} of answer {answer_id}",
                grade.grader
            )
        })?;
        let context = || {
            format!(
                "cannot store grade {:?} of answer {answer_id}",
                grade.grader
            )
        };
        self.transaction(TxKind::Write, context, |s| {
            let found: Vec<()> = self.select(
                s,
                "SELECT 1 FROM answers WHERE id = ?1",
                params![answer_id],
                context,
                "answers",
            )?;
            if found.is_empty() {
                return Err(StoreError::UnknownAnswer {
                    path: self.path.clone(),
                    id: answer_id,
                });
            }
            self.upsert_grade(s, answer_id, grade, detail.as_deref())
                .map_err(self.db_err(context))?;
            Ok(())
        })
    }

    /// The latest attempt (highest id) of every request key of a run, with its grades
    /// (ordered by grader), ordered by model, suite, item id, language and sample.
    pub fn latest_answers(&self, run_id: &str) -> Result<Vec<StoredAnswer>, StoreError> {
        self.read_latest_answers(run_id, ANSWER_COLUMNS)
    }

    /// [`Store::latest_answers`] without what was sent and said: each request is `{}` and each
    /// text empty (`Some("")` where there was one). For readers of many runs that count grades
    /// (`assay board`), where reading every answer's text would be most of the time.
    pub fn latest_answers_without_texts(
        &self,
        run_id: &str,
    ) -> Result<Vec<StoredAnswer>, StoreError> {
        self.read_latest_answers(run_id, ANSWER_COLUMNS_WITHOUT_TEXTS)
    }

    fn read_latest_answers(
        &self,
        run_id: &str,
        answer_columns: &str,
    ) -> Result<Vec<StoredAnswer>, StoreError> {
        let context = || format!("cannot read the answers of run {run_id:?}");
        // One read transaction so answers and grades are one snapshot.
        let (raws, raw_grades) = self.transaction(TxKind::Read, context, |s| {
            let raws: Vec<AnswerColumns> = self.select(
                s,
                &format!(
                    "SELECT {answer_columns} FROM answers a JOIN ({LATEST_IDS}) l \
                     ON a.id = l.id"
                ),
                params![run_id],
                context,
                "answers",
            )?;
            let raw_grades: Vec<GradeColumns> = self.select(
                s,
                &format!(
                    "SELECT g.answer_id, g.grader, g.version, g.label, g.rule, g.detail \
                     FROM grades g JOIN ({LATEST_IDS}) l ON g.answer_id = l.id"
                ),
                params![run_id],
                context,
                "grades",
            )?;
            Ok((raws, raw_grades))
        })?;

        let mut grades: HashMap<i64, Vec<GradeRecord>> = HashMap::new();
        for (answer_id, grader, version, label, rule, detail) in raw_grades {
            let what = || format!("the detail of grade {grader:?} of answer {answer_id}");
            let grade = GradeRecord {
                detail: self.decode_opt(detail.as_deref(), what)?,
                grader,
                version,
                label,
                rule,
            };
            grades.entry(answer_id).or_default().push(grade);
        }
        let mut answers = raws
            .into_iter()
            .map(|raw| {
                let mut answer_grades = grades.remove(&raw.0).unwrap_or_default();
                answer_grades.sort_by(|a, b| a.grader.cmp(&b.grader));
                self.stored_answer(raw, answer_grades)
            })
            .collect::<Result<Vec<_>, _>>()?;
        answers.sort_by(|a, b| request_order(&a.answer.key).cmp(&request_order(&b.answer.key)));
        Ok(answers)
    }

    /// The request keys of a run that have at least one successful attempt (`error IS NULL`),
    /// whatever their latest attempt — what a resumed run need not ask again.
    pub fn answered_keys(&self, run_id: &str) -> Result<HashSet<RequestKey>, StoreError> {
        let raws: Vec<(String, String, String, String, i64)> = self.read_rows(
            "SELECT DISTINCT model, suite, item_id, lang, sample FROM answers \
             WHERE run_id = ?1 AND error IS NULL",
            params![run_id],
            || format!("cannot read the answered requests of run {run_id:?}"),
            "answers",
        )?;
        raws.into_iter()
            .map(|(model, suite, item_id, lang, sample)| {
                Ok(RequestKey {
                    sample: self.read_int(sample, || format!("a sample of run {run_id:?}"))?,
                    model,
                    suite,
                    item_id,
                    lang,
                })
            })
            .collect()
    }

    /// The cached answer for a cache key, if a successful attempt stored one.
    pub fn cache_get(&self, cache_key: &str) -> Result<Option<CachedAnswer>, StoreError> {
        type CacheColumns = (
            String,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let raws: Vec<CacheColumns> = self.read_rows(
            "SELECT text, finish_reason, prompt_tokens, completion_tokens, latency_ms \
             FROM cache WHERE cache_key = ?1",
            params![cache_key],
            || format!("cannot read cache entry {cache_key:?}"),
            "cache",
        )?;
        let Some((text, finish_reason, prompt, completion, latency)) = raws.into_iter().next()
        else {
            return Ok(None);
        };
        let what = |column: &'static str| move || format!("{column} of cache entry {cache_key:?}");
        Ok(Some(CachedAnswer {
            text,
            finish_reason,
            prompt_tokens: self.read_int_opt(prompt, what("prompt_tokens"))?,
            completion_tokens: self.read_int_opt(completion, what("completion_tokens"))?,
            latency_ms: self.read_int_opt(latency, what("latency_ms"))?,
        }))
    }

    fn upsert_grade(
        &self,
        session: &mut Session<'_>,
        answer_id: i64,
        grade: &GradeRecord,
        detail: Option<&str>,
    ) -> Result<u64, DbError> {
        session.execute(
            "INSERT INTO grades (answer_id, grader, version, label, rule, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (answer_id, grader) DO UPDATE SET version = excluded.version, \
             label = excluded.label, rule = excluded.rule, detail = excluded.detail",
            params![
                answer_id,
                &grade.grader,
                &grade.version,
                &grade.label,
                &grade.rule,
                detail
            ],
        )
    }

    fn stored_answer(
        &self,
        raw: AnswerColumns,
        grades: Vec<GradeRecord>,
    ) -> Result<StoredAnswer, StoreError> {
        let (
            id,
            run_id,
            model,
            suite,
            item_id,
            lang,
            sample,
            seed,
            cache_key,
            request,
            text,
            error,
            finish_reason,
            prompt_tokens,
            completion_tokens,
            latency_ms,
            cached,
            started_at,
        ) = raw;
        let what = |column: &'static str| move || format!("{column} of answer {id}");
        Ok(StoredAnswer {
            id,
            answer: AnswerRecord {
                key: RequestKey {
                    sample: self.read_int(sample, what("sample"))?,
                    model,
                    suite,
                    item_id,
                    lang,
                },
                seed: self.read_int(seed, what("seed"))?,
                request: self.decode(&request, what("request"))?,
                prompt_tokens: self.read_int_opt(prompt_tokens, what("prompt_tokens"))?,
                completion_tokens: self
                    .read_int_opt(completion_tokens, what("completion_tokens"))?,
                latency_ms: self.read_int_opt(latency_ms, what("latency_ms"))?,
                cached: cached != 0,
                run_id,
                cache_key,
                text,
                error,
                finish_reason,
                started_at,
                grades,
            },
        })
    }
}

fn request_order(key: &RequestKey) -> (&str, &str, &str, &str, u32) {
    (&key.model, &key.suite, &key.item_id, &key.lang, key.sample)
}
