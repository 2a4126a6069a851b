//! How the command line shows the progress the libraries report: indicatif bars when stderr
//! is a terminal, and otherwise (CI logs, `nohup`, a pipe) a plain line per task every few
//! seconds, so a run of many minutes never goes silent.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use assay_core::progress::{Progress, ProgressTask, Reporter, Unit};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Seconds between progress lines when stderr is not a terminal; `ASSAY_PROGRESS_SECONDS`
/// changes it (tests use a fraction of a second).
const DEFAULT_LINE_SECONDS: f64 = 5.0;

/// The reporter for a command: silent when `enabled` is false.
pub fn reporter(enabled: bool) -> Reporter {
    if !enabled {
        return Reporter::silent();
    }
    if std::io::stderr().is_terminal() {
        return Reporter::new(Arc::new(Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        }));
    }
    let seconds = std::env::var("ASSAY_PROGRESS_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(DEFAULT_LINE_SECONDS);
    Reporter::new(Lines::start(Duration::from_secs_f64(seconds)))
}

/// Bars on a terminal, one per task, drawn together.
struct Bars {
    multi: MultiProgress,
}

impl Progress for Bars {
    fn start(&self, name: &str, total: u64, unit: Unit) -> Box<dyn ProgressTask> {
        let template = match unit {
            Unit::Items => "{prefix:.bold} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
            Unit::Bytes => {
                "{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}"
            }
        };
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        Box::new(Bar(bar))
    }
}

struct Bar(ProgressBar);

impl ProgressTask for Bar {
    fn set_position(&self, done: u64) {
        self.0.set_position(done);
    }
    fn advance(&self, steps: u64) {
        self.0.inc(steps);
    }
    fn set_message(&self, message: &str) {
        self.0.set_message(message.to_string());
    }
    fn finish(&self) {
        self.0.finish();
    }
}

/// Lines for a log: every task under way gets a line each interval, and one when it ends.
struct Lines {
    tasks: Arc<Mutex<Vec<Arc<LineTask>>>>,
}

impl Lines {
    /// Starts the printing thread; it ends once the returned observer is dropped.
    fn start(every: Duration) -> Arc<Lines> {
        let lines = Arc::new(Lines {
            tasks: Arc::new(Mutex::new(Vec::new())),
        });
        let tasks = Arc::downgrade(&lines.tasks);
        let spawned = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || print_every(every, tasks));
        if let Err(e) = spawned {
            // Progress is a courtesy: the run goes on without it.
            eprintln!("progress lines are off: cannot start their thread: {e}");
        }
        lines
    }
}

fn print_every(every: Duration, tasks: Weak<Mutex<Vec<Arc<LineTask>>>>) {
    loop {
        std::thread::sleep(every);
        let Some(tasks) = tasks.upgrade() else {
            return;
        };
        let mut tasks = tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.finished.load(Ordering::Relaxed));
        for task in tasks.iter() {
            eprintln!("{}", task.line());
        }
    }
}

impl Progress for Lines {
    fn start(&self, name: &str, total: u64, unit: Unit) -> Box<dyn ProgressTask> {
        let task = Arc::new(LineTask {
            name: name.to_string(),
            unit,
            total,
            done: AtomicU64::new(0),
            done_at_start: AtomicU64::new(0),
            advanced: AtomicBool::new(false),
            message: Mutex::new(String::new()),
            started: Instant::now(),
            finished: AtomicBool::new(false),
        });
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::clone(&task));
        Box::new(SharedLineTask(task))
    }
}

struct LineTask {
    name: String,
    unit: Unit,
    total: u64,
    done: AtomicU64,
    /// Steps done before this run (a resumed audit): they do not count toward the rate.
    done_at_start: AtomicU64,
    advanced: AtomicBool,
    message: Mutex<String>,
    started: Instant,
    finished: AtomicBool,
}

impl LineTask {
    /// `audit m: 12/40 (30%), 1.5/s, eta 19 s, errors 1`
    fn line(&self) -> String {
        let done = self.done.load(Ordering::Relaxed);
        let fresh = done.saturating_sub(self.done_at_start.load(Ordering::Relaxed));
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { fresh as f64 / secs } else { 0.0 };
        let mut line = format!("{}: {}", self.name, self.count(done));
        if self.total > 0 {
            let percent = (done as f64 / self.total as f64 * 100.0).min(100.0);
            line.push_str(&format!(" ({percent:.0}%)"));
        }
        line.push_str(&format!(", {}", self.rate(rate)));
        if rate > 0.0 && self.total > done {
            line.push_str(&format!(", eta {:.0} s", (self.total - done) as f64 / rate));
        }
        let message = self.message.lock().unwrap_or_else(|p| p.into_inner());
        if !message.is_empty() {
            line.push_str(&format!(", {message}"));
        }
        line
    }

    fn count(&self, done: u64) -> String {
        match self.unit {
            Unit::Items => format!("{done}/{}", self.total),
            Unit::Bytes => format!("{:.1}/{:.1} MB", done as f64 / 1e6, self.total as f64 / 1e6),
        }
    }

    fn rate(&self, per_second: f64) -> String {
        match self.unit {
            Unit::Items => format!("{per_second:.2}/s"),
            Unit::Bytes => format!("{:.1} MB/s", per_second / 1e6),
        }
    }
}

struct SharedLineTask(Arc<LineTask>);

impl ProgressTask for SharedLineTask {
    fn set_position(&self, done: u64) {
        self.0.done.store(done, Ordering::Relaxed);
        // A position set before any step is work of an earlier run: it must not make this one
        // look fast.
        if !self.0.advanced.load(Ordering::Relaxed) {
            self.0.done_at_start.store(done, Ordering::Relaxed);
        }
    }
    fn advance(&self, steps: u64) {
        if !self.0.advanced.load(Ordering::Relaxed) {
            self.0.advanced.store(true, Ordering::Relaxed);
        }
        self.0.done.fetch_add(steps, Ordering::Relaxed);
    }
    fn set_message(&self, message: &str) {
        *self.0.message.lock().unwrap_or_else(|p| p.into_inner()) = message.to_string();
    }
    fn finish(&self) {
        if !self.0.finished.swap(true, Ordering::Relaxed) {
            eprintln!(
                "{} (done in {:.1} s)",
                self.0.line(),
                self.0.started.elapsed().as_secs_f64()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_count_share_rate_and_message() {
        let lines = Lines {
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        let task = lines.start("audit m", 40, Unit::Items);
        task.set_position(10);
        task.advance(2);
        task.set_message("errors 1");
        let line = lines.tasks.lock().unwrap()[0].line();
        assert!(line.starts_with("audit m: 12/40 (30%), "), "{line}");
        assert!(line.ends_with(", errors 1"), "{line}");

        let bytes = lines.start("screen", 3_000_000, Unit::Bytes);
        bytes.advance(1_500_000);
        let line = lines.tasks.lock().unwrap()[1].line();
        assert!(line.starts_with("screen: 1.5/3.0 MB (50%), "), "{line}");
        assert!(line.contains(" MB/s"), "{line}");
    }
}
