//! A throwaway PostgreSQL server for the tests: `initdb` into a temporary directory, `pg_ctl
//! start` on a free port of 127.0.0.1 with trust authentication, one fresh database per test.
//!
//! The server binaries are looked up on `PATH`, then in `/usr/lib/postgresql/*/bin` (where
//! Debian's `postgresql` package puts them, the newest version first). Without them the tests
//! that need a server fail, saying how to install it: CI installs it (scripts/setup).
//!
//! PostgreSQL refuses to run as root. When the tests run as root, the server runs as the
//! `postgres` system user (which the Debian package creates) or else as `nobody`, through
//! `runuser` (or `setpriv`), and the temporary directory is given to that user.
//!
//! The server is stopped (`pg_ctl stop -m immediate`) and its directory removed when the
//! [`PgServer`] is dropped — and, for the one shared by a test binary ([`shared`]), which lives
//! in a static that is never dropped, by a watchdog process that does the same as soon as the
//! test process exits, however it exits: it waits on a pipe that only the test process holds.

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// How to install the server binaries, for the failure message.
const INSTALL_HINT: &str = "install PostgreSQL's server (Debian/Ubuntu: `apt-get install \
     postgresql`, which scripts/setup does), or put a directory holding initdb and pg_ctl on PATH";

/// The user the server runs as when the tests run as root.
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

pub struct PgServer {
    /// The temporary directory: the data directory, the socket and the log.
    root: PathBuf,
    bin: PathBuf,
    run_as: Option<RunAs>,
    port: u16,
    next_db: AtomicUsize,
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
}

/// The server shared by every test of this test binary, started by the first that asks.
pub fn shared() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(PgServer::start)
}

impl PgServer {
    /// Starts a new server; panics (failing the test) with what went wrong.
    pub fn start() -> PgServer {
        let bin = find_bin_dir().unwrap_or_else(|| {
            panic!(
                "the PostgreSQL tests need a PostgreSQL server, but initdb and pg_ctl are \
                 neither on PATH nor in /usr/lib/postgresql/*/bin; {INSTALL_HINT}"
            )
        });
        let run_as = if command_output("id", &["-u"]).as_deref() == Some("0") {
            Some(unprivileged_user())
        } else {
            None
        };
        let root = tempfile::Builder::new()
            .prefix("assay-pg-")
            .tempdir()
            .expect("cannot create a temporary directory for PostgreSQL")
            .keep();
        if let Some(user) = &run_as {
            chown(&root, Some(user.uid), Some(user.gid)).unwrap_or_else(|e| {
                panic!("cannot give {} to user {}: {e}", root.display(), user.name)
            });
        }
        let mut server = PgServer {
            root,
            bin,
            run_as,
            port: 0,
            next_db: AtomicUsize::new(0),
            watchdog: Mutex::new(None),
        };
        server.spawn_watchdog();
        server.initdb();
        // The port is free when picked but may be taken before the server binds it: retry.
        let mut failures = Vec::new();
        for _ in 0..5 {
            server.port = free_port();
            match server.pg_ctl_start() {
                Ok(()) => return server,
                Err(e) => failures.push(e),
            }
        }
        panic!(
            "cannot start PostgreSQL from {}:\n{}",
            server.bin.display(),
            failures.join("\n")
        );
    }

    /// Creates a new, empty database and answers its URL.
    pub fn create_database(&self) -> String {
        let name = format!("assay_test_{}", self.next_db.fetch_add(1, Ordering::SeqCst));
        let sql = format!("CREATE DATABASE {name}");
        with_client(&self.url("postgres"), |client| client.batch_execute(&sql))
            .unwrap_or_else(|e| panic!("cannot create database {name}: {e:?}"));
        self.url(&name)
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// A command for one of the server's programs, as the server's user.
    fn command(&self, program: &str) -> Command {
        command_as(self.run_as.as_ref(), &self.bin.join(program), &self.root)
    }

    fn initdb(&self) {
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args(["-U", "postgres", "--auth=trust", "--no-sync"])
            .args(["--encoding=UTF8", "--locale=C"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run initdb from {}: {e}", self.bin.display()));
        if !output.status.success() {
            panic!(
                "initdb failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let log = self.root.join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off",
            self.port,
            self.root.display()
        );
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        Err(format!(
            "pg_ctl start on port {} failed ({}):\n{}{}\nserver log:\n{}",
            self.port,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        ))
    }

    /// `sh -c 'read; pg_ctl stop -m immediate; rm -rf ROOT'` reading a pipe whose writing end
    /// only this process holds (std opens pipes close-on-exec, so neither the server nor any
    /// other child inherits it): EOF comes when this process exits or the server is dropped.
    fn spawn_watchdog(&self) {
        let stop = self.stop_command();
        let mut args = vec![stop.get_program().to_owned()];
        args.extend(stop.get_args().map(ToOwned::to_owned));
        let (child, stdin) = Command::new("sh")
            .arg("-c")
            .arg(r#"read _ignored; root="$1"; shift; "$@" >/dev/null 2>&1; rm -rf "$root""#)
            .arg("assay-pg-watchdog")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(|mut child| {
                let stdin = child.stdin.take().expect("piped stdin");
                (child, stdin)
            })
            .expect("cannot start the PostgreSQL watchdog (sh)");
        *self.watchdog.lock().unwrap() = Some((child, stdin));
    }

    fn stop_command(&self) -> Command {
        let mut command = self.command("pg_ctl");
        command
            .arg("-D")
            .arg(self.data())
            .args(["stop", "-m", "immediate", "-w"]);
        command
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self
            .stop_command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // The watchdog, seeing EOF, finds the server stopped and removes the directory.
        if let Some((mut child, mut stdin)) = self.watchdog.lock().unwrap().take() {
            let _ = stdin.flush();
            drop(stdin);
            let _ = child.wait();
        }
    }
}

/// Runs `f` with a plain `postgres` client connected to `url`, on a thread of its own: the
/// synchronous client cannot run inside a tokio runtime, and some tests are async.
pub fn with_client<T: Send>(
    url: &str,
    f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send,
) -> Result<T, postgres::Error> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut client = postgres::Client::connect(url, postgres::NoTls)?;
                f(&mut client)
            })
            .join()
            .expect("the PostgreSQL client thread panicked")
    })
}

/// The directory holding `initdb` and `pg_ctl`: on PATH, else the newest
/// `/usr/lib/postgresql/VERSION/bin`.
fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| has_both(dir)) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// `postgres` if that user exists (Debian's package creates it), else `nobody`.
fn unprivileged_user() -> RunAs {
    for name in ["postgres", "nobody"] {
        let uid = command_output("id", &["-u", name]).and_then(|s| s.parse().ok());
        let gid = command_output("id", &["-g", name]).and_then(|s| s.parse().ok());
        if let (Some(uid), Some(gid)) = (uid, gid) {
            return RunAs {
                name: name.to_string(),
                uid,
                gid,
            };
        }
    }
    panic!(
        "the tests run as root, which PostgreSQL refuses, and there is neither a `postgres` nor \
         a `nobody` user to run the server as"
    );
}

/// `program` run as `user` when there is one (through runuser, else setpriv), in `dir`.
fn command_as(user: Option<&RunAs>, program: &Path, dir: &Path) -> Command {
    let mut command = match user {
        None => Command::new(program),
        Some(user) if command_output("sh", &["-c", "command -v runuser"]).is_some() => {
            let mut command = Command::new("runuser");
            command.args(["-u", &user.name, "--"]).arg(program);
            command
        }
        Some(user) => {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={}", user.uid))
                .arg(format!("--regid={}", user.gid))
                .args(["--clear-groups", "--"])
                .arg(program);
            command
        }
    };
    // The server's user may not be able to enter the test's working directory.
    command.current_dir(dir);
    command
}

/// The trimmed standard output of a command that succeeded.
fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("cannot find a free port on 127.0.0.1")
}
