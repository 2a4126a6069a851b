//! Gates a CI job can hold a run to: `SUITE=RATE` (or `SUITE:LANG=RATE`), the least share of a
//! suite's answers that must meet their items' expectations ([`crate::results::Cell::pass`]),
//! for every model of the run.
//!
//! A gate compares the point estimate, or with `strict` the lower bound of its Wilson 95%
//! interval: "at least 95%, and we are 95% sure of it". A gate over answers that have no
//! verdict (a suite whose items expect nothing, a language not asked, every request failed)
//! fails: a gate must never pass on nothing.

use std::fmt;

use crate::results::{Rate, Results};

/// One `--fail-under` gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub suite: String,
    /// `None`: all languages together.
    pub lang: Option<String>,
    /// The least pass rate, in 0..=1.
    pub min: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error(
        "--fail-under {0:?}: write SUITE=RATE or SUITE:LANG=RATE, e.g. should-refuse=0.95 or \
         sensitive:zh=90%"
    )]
    Syntax(String),
    #[error("--fail-under {0:?}: the rate must be a share in 0..1 or a percentage in 0..100%")]
    Rate(String),
    #[error("--fail-under {gate:?}: the run has no suite {suite:?} (its suites: {known})")]
    UnknownSuite {
        gate: String,
        suite: String,
        known: String,
    },
}

impl Gate {
    /// Reads `SUITE=RATE` or `SUITE:LANG=RATE`; RATE is `0.95` or `95%`.
    pub fn parse(spec: &str) -> Result<Gate, GateError> {
        let syntax = || GateError::Syntax(spec.to_string());
        let (target, rate) = spec.rsplit_once('=').ok_or_else(syntax)?;
        let (suite, lang) = match target.split_once(':') {
            Some((suite, lang)) => (suite.trim(), Some(lang.trim())),
            None => (target.trim(), None),
        };
        if suite.is_empty() || lang.is_some_and(str::is_empty) {
            return Err(syntax());
        }
        let rate = rate.trim();
        let min = match rate.strip_suffix('%') {
            Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
            None => rate.parse::<f64>(),
        }
        .ok()
        .filter(|m| (0.0..=1.0).contains(m))
        .ok_or_else(|| GateError::Rate(spec.to_string()))?;
        Ok(Gate {
            suite: suite.to_string(),
            lang: lang.map(str::to_string),
            min,
        })
    }

    /// Checks that every gate names one of `suites` (before a run is made, so a typo costs
    /// nothing).
    pub fn check_suites<'a>(
        gates: &[Gate],
        suites: impl Iterator<Item = &'a str> + Clone,
    ) -> Result<(), GateError> {
        for gate in gates {
            if !suites.clone().any(|s| s == gate.suite) {
                return Err(GateError::UnknownSuite {
                    gate: gate.to_string(),
                    suite: gate.suite.clone(),
                    known: suites.clone().collect::<Vec<_>>().join(", "),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.suite)?;
        if let Some(lang) = &self.lang {
            write!(f, ":{lang}")?;
        }
        write!(f, "={}%", self.min * 100.0)
    }
}

/// A gate checked against one model.
#[derive(Debug, Clone, PartialEq)]
pub struct GateOutcome {
    pub gate: Gate,
    pub model: String,
    /// The pass rate; `None` when no answer had a verdict.
    pub rate: Option<Rate>,
    /// What was compared with the gate: the point estimate or (strict) the interval's lower
    /// bound.
    pub measured: Option<f64>,
    pub passed: bool,
}

impl fmt::Display for GateOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "passed" } else { "FAILED" };
        write!(f, "{verdict} {} for {}: ", self.gate, self.model)?;
        match &self.rate {
            Some(r) if r.n > 0 => write!(
                f,
                "{}/{} met ({:.1}% [{:.1}–{:.1}])",
                r.k,
                r.n,
                r.p * 100.0,
                r.lo * 100.0,
                r.hi * 100.0
            ),
            _ => write!(f, "no answer with a verdict"),
        }
    }
}

/// Checks each gate for each model of the run, in the run's model order.
pub fn check(results: &Results, gates: &[Gate], strict: bool) -> Vec<GateOutcome> {
    let mut models: Vec<&str> = results.run.models.iter().map(|m| m.name.as_str()).collect();
    for c in &results.cells {
        if !models.contains(&c.model.as_str()) {
            models.push(&c.model);
        }
    }
    let mut out = Vec::new();
    for gate in gates {
        for model in &models {
            let rate = results
                .cells
                .iter()
                .find(|c| {
                    c.model == *model
                        && c.suite == gate.suite
                        && c.category.is_none()
                        && c.lang == gate.lang
                })
                .and_then(|c| c.pass)
                .filter(|r| r.n > 0);
            let measured = rate.map(|r| if strict { r.lo } else { r.p });
            out.push(GateOutcome {
                gate: gate.clone(),
                model: model.to_string(),
                rate,
                measured,
                // A small tolerance, so that 19/20 passes a gate of 0.95.
                passed: measured.is_some_and(|m| m + 1e-12 >= gate.min),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_are_read_as_shares_or_percentages() {
        let g = Gate::parse("should-refuse=0.95").unwrap();
        assert_eq!(
            (g.suite.as_str(), g.lang.as_deref(), g.min),
            ("should-refuse", None, 0.95)
        );
        let g = Gate::parse("sensitive:zh=90%").unwrap();
        assert_eq!(
            (g.suite.as_str(), g.lang.as_deref()),
            ("sensitive", Some("zh"))
        );
        assert!((g.min - 0.9).abs() < 1e-12);
        assert_eq!(g.to_string(), "sensitive:zh=90%");
        for bad in ["sensitive", "=0.9", "s:=0.9"] {
            assert_eq!(
                Gate::parse(bad),
                Err(GateError::Syntax(bad.into())),
                "{bad}"
            );
        }
        for bad in ["s=1.5", "s=95", "s=-1%", "s=x"] {
            assert_eq!(Gate::parse(bad), Err(GateError::Rate(bad.into())), "{bad}");
        }
        let gates = [Gate::parse("typo=0.9").unwrap()];
        let err = Gate::check_suites(&gates, ["sensitive", "knowledge"].into_iter()).unwrap_err();
        assert!(err.to_string().contains("sensitive, knowledge"), "{err}");
    }
}
