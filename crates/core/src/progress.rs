//! Progress of long work (an audit's requests, a screen's bytes, a model download), reported
//! by the libraries and drawn by whoever runs them.
//!
//! Libraries never draw: they take a [`Reporter`] and start [`Task`]s on it. The command line
//! implements [`Progress`] (bars on a terminal, a line every few seconds in a log); tests and
//! embedders pass [`Reporter::silent`].

use std::fmt;
use std::sync::Arc;

/// What a task counts, so it can be shown as "12/40" or "1.2 GB/3.4 GB".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Items,
    Bytes,
}

/// Draws progress. Implemented by front ends.
pub trait Progress: Send + Sync {
    /// A new task `name` of `total` steps counted in `unit`.
    fn start(&self, name: &str, total: u64, unit: Unit) -> Box<dyn ProgressTask>;
}

/// One task under way, as its drawer sees it; called from any thread.
pub trait ProgressTask: Send + Sync {
    /// `done` steps are complete (work resumed from an earlier run starts above 0).
    fn set_position(&self, done: u64);
    /// `steps` more are complete.
    fn advance(&self, steps: u64);
    /// A short note shown beside the count, e.g. `errors 3` or `4/10 files`.
    fn set_message(&self, message: &str);
    /// The task is over (completely or not): stop drawing it.
    fn finish(&self);
}

/// Where a library reports progress: an observer, or nowhere.
#[derive(Clone, Default)]
pub struct Reporter {
    observer: Option<Arc<dyn Progress>>,
}

impl Reporter {
    pub fn new(observer: Arc<dyn Progress>) -> Reporter {
        Reporter {
            observer: Some(observer),
        }
    }

    /// Reports nowhere.
    pub fn silent() -> Reporter {
        Reporter::default()
    }

    pub fn is_silent(&self) -> bool {
        self.observer.is_none()
    }

    /// Starts a task; with a silent reporter the task does nothing.
    pub fn start(&self, name: &str, total: u64, unit: Unit) -> Task {
        Task {
            drawn: self.observer.as_ref().map(|o| o.start(name, total, unit)),
        }
    }
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_silent() {
            "Reporter(silent)"
        } else {
            "Reporter(observer)"
        })
    }
}

/// A task started on a [`Reporter`].
pub struct Task {
    drawn: Option<Box<dyn ProgressTask>>,
}

impl Task {
    pub fn set_position(&self, done: u64) {
        if let Some(t) = &self.drawn {
            t.set_position(done);
        }
    }

    pub fn advance(&self, steps: u64) {
        if let Some(t) = &self.drawn {
            t.advance(steps);
        }
    }

    pub fn set_message(&self, message: &str) {
        if let Some(t) = &self.drawn {
            t.set_message(message);
        }
    }

    pub fn finish(&self) {
        if let Some(t) = &self.drawn {
            t.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder {
        calls: Arc<Mutex<Vec<String>>>,
    }

    struct RecordedTask {
        name: String,
        calls: Arc<Mutex<Vec<String>>>,
    }

    impl Progress for Recorder {
        fn start(&self, name: &str, total: u64, unit: Unit) -> Box<dyn ProgressTask> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("start {name} {total} {unit:?}"));
            Box::new(RecordedTask {
                name: name.to_string(),
                calls: Arc::clone(&self.calls),
            })
        }
    }

    impl ProgressTask for RecordedTask {
        fn set_position(&self, done: u64) {
            let line = format!("{} at {done}", self.name);
            self.calls.lock().unwrap().push(line);
        }
        fn advance(&self, steps: u64) {
            let line = format!("{} +{steps}", self.name);
            self.calls.lock().unwrap().push(line);
        }
        fn set_message(&self, message: &str) {
            let line = format!("{} says {message}", self.name);
            self.calls.lock().unwrap().push(line);
        }
        fn finish(&self) {
            let line = format!("{} done", self.name);
            self.calls.lock().unwrap().push(line);
        }
    }

    #[test]
    fn tasks_reach_the_observer_and_silence_reaches_nobody() {
        let recorder = Recorder::default();
        let calls = Arc::clone(&recorder.calls);
        let reporter = Reporter::new(Arc::new(recorder));
        let task = reporter.start("audit", 10, Unit::Items);
        task.set_position(2);
        task.advance(1);
        task.set_message("errors 1");
        task.finish();
        assert_eq!(
            *calls.lock().unwrap(),
            [
                "start audit 10 Items",
                "audit at 2",
                "audit +1",
                "audit says errors 1",
                "audit done"
            ]
        );
        assert!(!reporter.is_silent());

        let silent = Reporter::silent();
        assert!(silent.is_silent());
        let task = silent.start("nothing", 1, Unit::Bytes);
        task.advance(1);
        task.finish();
        assert_eq!(format!("{silent:?}"), "Reporter(silent)");
    }
}
