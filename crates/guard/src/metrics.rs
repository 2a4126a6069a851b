//! Prometheus counters and histograms for `/metrics`, written in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Histogram bounds in seconds: from 10 µs (the guard's work on a chunk) to 30 s (a whole
/// answer's first token on a loaded machine).
const BOUNDS: [f64; 16] = [
    0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5,
    1.0, 5.0, 30.0,
];

/// A histogram observed on every chunk from many threads: atomic counts, no lock. The sum is
/// kept in nanoseconds.
#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BOUNDS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(first) = BOUNDS.iter().position(|&bound| seconds <= bound) {
            // Cumulative buckets: every bound from the first that holds it.
            for bucket in &self.buckets[first..] {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// The guard's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (name, labels) → value; counted once per request, so a lock is cheap enough.
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    chunk: Histogram,
    first_token: Histogram,
}

const HELP: &[(&str, &str, &str)] = &[
    (
        "assay_guard_requests_total",
        "counter",
        "Chat completion requests by outcome.",
    ),
    (
        "assay_guard_interventions_total",
        "counter",
        "Policy hits acted on or logged, by direction, category and action.",
    ),
    (
        "assay_guard_reloads_total",
        "counter",
        "Policy reloads (SIGHUP) by result: applied, or rejected and the old policy kept.",
    ),
    (
        "assay_guard_chunk_seconds",
        "histogram",
        "Time the guard spends on one upstream chunk (the latency it adds to it).",
    ),
    (
        "assay_guard_first_token_seconds",
        "histogram",
        "Time from a request to the first text sent to the client.",
    ),
];

impl Metrics {
    fn counters(&self) -> std::sync::MutexGuard<'_, BTreeMap<(&'static str, String), u64>> {
        self.counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn histogram(&self, name: &str) -> Option<&Histogram> {
        match name {
            "assay_guard_chunk_seconds" => Some(&self.chunk),
            "assay_guard_first_token_seconds" => Some(&self.first_token),
            _ => None,
        }
    }

    pub fn count(&self, name: &'static str, labels: &[(&str, &str)]) {
        let labels = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect::<Vec<_>>()
            .join(",");
        *self.counters().entry((name, labels)).or_default() += 1;
    }

    /// Records a duration in one of the histograms named in [`HELP`] (others are ignored).
    pub fn observe(&self, name: &'static str, elapsed: Duration) {
        if let Some(h) = self.histogram(name) {
            h.observe(elapsed);
        }
    }

    /// The value of a counter (for tests and the benchmark).
    pub fn counter(&self, name: &str, labels: &str) -> u64 {
        self.counters()
            .iter()
            .filter(|((n, l), _)| *n == name && l == labels)
            .map(|(_, v)| *v)
            .sum()
    }

    /// Everything in Prometheus' text format.
    pub fn render(&self) -> String {
        let counters = self.counters();
        let mut out = String::new();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            let Some(h) = self.histogram(name) else {
                for ((n, labels), value) in counters.iter() {
                    if n == name {
                        let _ = writeln!(out, "{name}{{{labels}}} {value}");
                    }
                }
                continue;
            };
            for (bound, count) in BOUNDS.iter().zip(&h.buckets) {
                let count = count.load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
            }
            let count = h.count.load(Ordering::Relaxed);
            let sum = h.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
            let _ = writeln!(out, "{name}_sum {sum}");
            let _ = writeln!(out, "{name}_count {count}");
        }
        out
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.count("assay_guard_requests_total", &[("outcome", "ok")]);
        m.count("assay_guard_requests_total", &[("outcome", "ok")]);
        m.count(
            "assay_guard_interventions_total",
            &[("category", "a\"b"), ("action", "block")],
        );
        m.observe("assay_guard_chunk_seconds", Duration::from_micros(30));
        m.observe("assay_guard_chunk_seconds", Duration::from_millis(3));
        let text = m.render();
        assert!(text.contains("assay_guard_requests_total{outcome=\"ok\"} 2"));
        assert!(text.contains("category=\"a\\\"b\",action=\"block\"} 1"));
        assert!(text.contains("assay_guard_chunk_seconds_bucket{le=\"0.00005\"} 1"));
        assert!(text.contains("assay_guard_chunk_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("assay_guard_chunk_seconds_count 2"));
        assert_eq!(m.counter("assay_guard_requests_total", "outcome=\"ok\""), 2);
    }
}
