//! Shared by the command-line tests: a real `assay serve` process with the embedded model.

#![allow(dead_code)] // each test file uses its own part of this

pub mod scripted;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

/// One model process at a time: llama.cpp's compute threads spin at barriers, so two engines
/// sharing the cores slow each other down many times over, not twice.
static ONE_ENGINE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn engine_lock() -> MutexGuard<'static, ()> {
    ONE_ENGINE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `command` to its end; a run that fails fails the test, showing its stderr.
pub fn succeed(command: &mut Command) -> Output {
    let out = command.output().unwrap();
    assert_succeeded(&out);
    out
}

/// Fails the test, showing the exit status and stderr, unless `out` is a success.
pub fn assert_succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "assay failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first `http://` address that `child` (`what`, for messages) prints on its piped stdout.
pub fn printed_address(child: &mut Child, what: &str) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{what} prints its address: {e}"));
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string()
}

/// The body of the response to `request`, as text.
pub async fn text_of(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// The JSON that a GET of `url` answers.
pub async fn get_json(url: String) -> serde_json::Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Starts `command` (`what`, for messages) with its stdout piped and its stderr shown, and
/// waits for the address it prints first.
pub fn start_listening(command: &mut Command, what: &str) -> (Running, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} starts: {e}"));
    let address = printed_address(&mut child, what);
    (Running(child), address)
}

/// A child process, killed (and waited for) when dropped.
pub struct Running(pub Child);

impl std::ops::Deref for Running {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `assay serve`, killed when dropped.
pub struct Server {
    pub child: Running,
    pub base: String,
    _engine: MutexGuard<'static, ()>,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        let engine = engine_lock();
        let (child, address) = start_listening(
            Command::new(env!("CARGO_BIN_EXE_assay"))
                .args(["serve", "--model", "local:smollm2"])
                .args(["--host", "127.0.0.1", "--port", "0"])
                .args(extra),
            "assay serve",
        );
        let base = address.trim_end_matches("/v1").to_string();
        Server {
            child,
            base,
            _engine: engine,
        }
    }
}

/// A running `assay guard` on a free port of 127.0.0.1, killed when dropped.
pub struct GuardProcess {
    pub child: Running,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
}

impl GuardProcess {
    /// `assay guard --port 0 ARGS...`; panics with the guard's message if it does not start.
    pub fn start(args: &[&str]) -> GuardProcess {
        let (child, address) = start_listening(
            Command::new(env!("CARGO_BIN_EXE_assay"))
                .args(["guard", "--host", "127.0.0.1", "--port", "0"])
                .args(args),
            "assay guard",
        );
        let url = address.trim_end_matches("/v1").to_string();
        GuardProcess { child, url }
    }
}

pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

pub fn chromium() -> PathBuf {
    std::env::var_os("ASSAY_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Runs `tests/browser/<script>` in node with `args` and Chromium; fails the test with the
/// script's output unless every check passed; answers what it printed (its "ok - …" lines).
pub fn run_browser_script(script: &str, args: &[&Path]) -> String {
    let run = Command::new("node")
        .arg(browser_dir().join(script))
        .args(args)
        .env("ASSAY_CHROMIUM", chromium())
        .current_dir(browser_dir())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        run.status
    );
    stdout
}

/// Panics with the install steps for whatever the browser test lacks.
pub fn check_browser_prerequisites() {
    let mut missing = Vec::new();
    let node = Command::new("node").arg("--version").output();
    match node {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout);
            let major: u32 = version
                .trim()
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            if major < 20 {
                missing.push(format!(
                    "node ≥ 20 (found {}): apt-get install -y nodejs npm",
                    version.trim()
                ));
            }
        }
        _ => missing.push("node: apt-get install -y nodejs npm".to_string()),
    }
    if !chromium().exists() {
        missing.push(format!(
            "Chromium at {} (or set ASSAY_CHROMIUM): apt-get install -y chromium",
            chromium().display()
        ));
    }
    if !browser_dir()
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        missing.push(format!(
            "playwright-core: npm ci --prefix {}",
            browser_dir().display()
        ));
    }
    assert!(
        missing.is_empty(),
        "the browser tests cannot run; missing:\n  - {}",
        missing.join("\n  - ")
    );
}

/// Runs the `assay` binary with `args` and waits for it.
pub fn assay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .output()
        .expect("assay runs")
}

/// What a successful run printed; fails the test with both streams otherwise.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "assay failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
