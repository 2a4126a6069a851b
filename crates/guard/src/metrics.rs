//! Prometheus counters and histograms for `/metrics`, written in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Histogram bounds in seconds: from 10 µs (the guard's work on a chunk) to 30 s (a whole
/// answer's first token on a loaded machine).
const BOUNDS: [f64; 16] = [
    0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5,
    1.0, 5.0, 30.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; BOUNDS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bucket, bound) in self.buckets.iter_mut().zip(BOUNDS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// (name, labels) → value.
    counters: BTreeMap<(&'static str, String), u64>,
    histograms: BTreeMap<&'static str, Histogram>,
}

/// The guard's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
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
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn count(&self, name: &'static str, labels: &[(&str, &str)]) {
        let labels = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect::<Vec<_>>()
            .join(",");
        *self.lock().counters.entry((name, labels)).or_default() += 1;
    }

    pub fn observe(&self, name: &'static str, elapsed: Duration) {
        self.lock()
            .histograms
            .entry(name)
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// The value of a counter (for tests and the benchmark).
    pub fn counter(&self, name: &str, labels: &str) -> u64 {
        self.lock()
            .counters
            .iter()
            .filter(|((n, l), _)| *n == name && l == labels)
            .map(|(_, v)| *v)
            .sum()
    }

    /// Everything in Prometheus' text format.
    pub fn render(&self) -> String {
        let inner = self.lock();
        let mut out = String::new();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            if *kind == "counter" {
                for ((n, labels), value) in &inner.counters {
                    if n == name {
                        let _ = writeln!(out, "{name}{{{labels}}} {value}");
                    }
                }
                continue;
            }
            let h = inner.histograms.get(name).cloned().unwrap_or_default();
            for (bound, count) in BOUNDS.iter().zip(h.buckets) {
                let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum {}", h.sum);
            let _ = writeln!(out, "{name}_count {}", h.count);
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
