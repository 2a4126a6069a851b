//! The SQLite backend against real files in temporary directories: what is particular to a
//! file (its creation, WAL mode, surviving `kill -9`, URL forms). The behaviour both backends
//! share is tested in `backends.rs`.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assay_store::{Store, StoreError, SCHEMA_VERSION};
use common::{attempt, grade, key, new_run};
use tempfile::TempDir;

/// Set (to a database path) only in the child process of the crash test.
const CRASH_CHILD_ENV: &str = "ASSAY_STORE_CRASH_CHILD_DB";
/// What the crash child prints after each commit.
const COMMITTED: &str = "COMMITTED id=";

/// A store in a fresh directory, under subdirectories that do not exist yet.
/// Creates run `id` in `store`, started at 2024-05-01T10:00:00Z.
fn create_run(store: &Store, id: &str) {
    store
        .create_run(&new_run(id, "2024-05-01T10:00:00Z"))
        .unwrap();
}

fn temp_store() -> (TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dirs/assay.db");
    let store = Store::open(&path).unwrap();
    (dir, path, store)
}

#[test]
fn the_file_is_created_in_wal_mode_and_migrated_once() {
    let (_dir, path, store) = temp_store();
    assert!(
        path.exists(),
        "the file and its parent directories are created"
    );
    assert_eq!(store.path(), path);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    create_run(&store, "r1");
    drop(store);

    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(
        store.run("r1").unwrap().is_some(),
        "data survives reopening"
    );
    drop(store);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let (rows, max): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), MAX(version) FROM schema_migrations",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, max), (SCHEMA_VERSION, SCHEMA_VERSION));
    let applied_at: String = conn
        .query_row(
            "SELECT applied_at FROM schema_migrations WHERE version = 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(
        applied_at.ends_with('Z') && applied_at.contains('T'),
        "{applied_at}"
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal", "the file stays in WAL mode");
}

#[test]
fn open_url_accepts_sqlite_forms() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.db");
    let store = Store::open_url(plain.to_str().unwrap()).unwrap();
    assert_eq!(store.path(), plain);

    let short = dir.path().join("short.db");
    let store = Store::open_url(&format!("sqlite:{}", short.display())).unwrap();
    assert_eq!(store.path(), short);
    assert!(short.exists());

    // `sqlite://` followed by an absolute path, i.e. `sqlite:///tmp/...`.
    let long = dir.path().join("long.db");
    let store = Store::open_url(&format!("sqlite://{}", long.display())).unwrap();
    assert_eq!(store.path(), long);
    create_run(&store, "r");
    drop(store);
    let store = Store::open_url(&format!("sqlite:{}", long.display())).unwrap();
    assert!(
        store.run("r").unwrap().is_some(),
        "all forms name the same file"
    );

    assert!(matches!(
        Store::open_url("postgres://assay:hunter2@127.0.0.1:notaport/assay"),
        Err(StoreError::InvalidUrl(message)) if !message.contains("hunter2")
    ));
    assert!(matches!(
        Store::open_url("mysql://db.example/assay"),
        Err(StoreError::Unsupported(_))
    ));
    assert!(matches!(
        Store::open_url("sqlite:"),
        Err(StoreError::InvalidUrl(_))
    ));
}

/// The child half of `every_reported_answer_survives_kill_9`: a no-op unless
/// [`CRASH_CHILD_ENV`] names a database. Writes answers until killed, printing each id once
/// its transaction has committed.
#[test]
fn crash_child_writer() {
    let Ok(path) = std::env::var(CRASH_CHILD_ENV) else {
        return;
    };
    let store = Store::open(Path::new(&path)).unwrap();
    // Written straight to stdout (not through the test harness's capture) and flushed, so the
    // parent sees each id as soon as it is committed.
    let mut out = std::io::stdout().lock();
    for i in 0..1_000_000u32 {
        let mut record = attempt("crash", key("m", &format!("item{i:07}"), 0), Ok("text"));
        record.grades = vec![grade("refusal", "complied")];
        let id = store.record_answer(&record).unwrap();
        writeln!(out, "{COMMITTED}{id}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn every_reported_answer_survives_kill_9() {
    let (_dir, path, store) = temp_store();
    create_run(&store, "crash");
    drop(store);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    // The harness may print "test crash_child_writer ... " on the same line as the first id.
    let parse = |line: &str| -> Option<i64> {
        let at = line.find(COMMITTED)?;
        line[at + COMMITTED.len()..].trim().parse().ok()
    };
    let mut reported = Vec::new();
    let mut line = String::new();
    while reported.len() < 300 {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        reported.extend(parse(&line));
    }
    // SIGKILL, most likely in the middle of a transaction.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    // Ids printed before the kill are still in the pipe: they were committed too.
    for line in reader.lines() {
        reported.extend(parse(&line.unwrap()));
    }
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(
        reported.len() >= 300,
        "the child stopped early ({status}) after {} answers; stderr:\n{stderr}",
        reported.len()
    );
    assert!(!status.success(), "the child was killed, not finished");

    let store = Store::open(&path).unwrap();
    let stored: HashSet<i64> = store
        .latest_answers("crash")
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let missing: Vec<i64> = reported
        .iter()
        .copied()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} answers reported as committed were lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    // At most one more: committed, but killed before it could print the id.
    assert!(
        stored.len() == reported.len() || stored.len() == reported.len() + 1,
        "{} stored, {} reported",
        stored.len(),
        reported.len()
    );
    // The store is still writable after the crash.
    store
        .record_answer(&attempt("crash", key("m", "after", 0), Ok("x")))
        .unwrap();
}

/// The database and its WAL and shared-memory files hold answers and votes: only their owner
/// may read them, whatever the umask (and a new parent directory is private too).
#[test]
fn the_database_and_its_wal_and_shm_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path, store) = temp_store();
    create_run(&store, "r1");
    store
        .record_answer(&attempt("r1", key("m", "i1", 0), Ok("an answer")))
        .unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let mut shm = path.clone().into_os_string();
    shm.push("-shm");
    for file in [path.clone(), PathBuf::from(wal), PathBuf::from(shm)] {
        assert!(
            file.exists(),
            "{} exists while the store is open",
            file.display()
        );
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    assert_eq!(mode(&dir.path().join("nested/dirs")), 0o700);
    assert_eq!(mode(&dir.path().join("nested")), 0o700);
}

#[test]
fn a_clone_is_another_handle_on_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("clone.db")).unwrap();
    let clone = store.clone();
    create_run(&clone, "r1");
    assert_eq!(clone.path(), store.path());
    // A clone moves to another thread and writes there; the original reads what it wrote.
    std::thread::spawn(move || {
        clone
            .set_run_status("r1", assay_store::RunStatus::Finished, None)
            .unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(
        store.run("r1").unwrap().unwrap().status,
        assay_store::RunStatus::Finished
    );
}
