//! Which two models meet in a battle.
//!
//! As in LMSYS's arena, the first model is a weighted choice over all available models, the
//! second a weighted choice over the others (never the same model twice), and which of them
//! sits on the left (model A) is a coin toss. A model's weight is `weight × (1 + boost)`: a
//! boost (for a newly added model that needs votes) multiplies its chance, `boost = 4.0` makes
//! it five times as likely. A model with weight 0 is never picked.
//!
//! A model whose answer failed can be benched for a while ([`Sampler::bench`]), so that users
//! are not sent into battles that cannot finish; it comes back by itself when its time is up.
//!
//! The sampler holds no randomness and reads no clock: callers pass an RNG (seed it for tests)
//! and the current [`Instant`], so every property is testable deterministically.

use std::time::{Duration, Instant};

use rand::Rng;

/// One model the sampler can pick.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerModel {
    pub name: String,
    /// Relative chance of being picked (default 1.0).
    pub weight: f64,
    /// Extra chance for a new model: the weight is multiplied by `1 + boost` (default 0.0).
    pub boost: f64,
}

impl SamplerModel {
    pub fn new(name: impl Into<String>) -> SamplerModel {
        SamplerModel {
            name: name.into(),
            weight: 1.0,
            boost: 0.0,
        }
    }

    /// `weight × (1 + boost)`.
    pub fn effective_weight(&self) -> f64 {
        self.weight * (1.0 + self.boost)
    }
}

/// Two different models, by their index in the sampler's list: `a` is shown on the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SamplerError {
    #[error("an arena needs at least two models, got {0}")]
    TooFewModels(usize),
    #[error("model {name:?}: weight {weight} and boost {boost} must be finite and not negative")]
    BadWeight {
        name: String,
        weight: f64,
        boost: f64,
    },
    #[error("model {0:?} is listed twice")]
    Duplicate(String),
    #[error("at least two models need a weight above 0")]
    TooFewWeighted,
    /// Too many models are benched after failing (or have weight 0) to form a pair.
    #[error(
        "only {available} model(s) can battle now ({benched} benched after errors); \
         try again in {retry_after:?}"
    )]
    NotEnoughAvailable {
        available: usize,
        benched: usize,
        /// When the first benched model comes back.
        retry_after: Duration,
    },
}

/// Weighted pair sampling with temporary benching of failing models.
#[derive(Debug, Clone)]
pub struct Sampler {
    models: Vec<SamplerModel>,
    bench_for: Duration,
    benched_until: Vec<Option<Instant>>,
}

impl Sampler {
    /// A sampler over `models`; a failing model is benched for `bench_for` (zero: never).
    pub fn new(models: Vec<SamplerModel>, bench_for: Duration) -> Result<Sampler, SamplerError> {
        if models.len() < 2 {
            return Err(SamplerError::TooFewModels(models.len()));
        }
        for (i, m) in models.iter().enumerate() {
            let ok = |x: f64| x.is_finite() && x >= 0.0;
            if !ok(m.weight) || !ok(m.boost) || !ok(m.effective_weight()) {
                return Err(SamplerError::BadWeight {
                    name: m.name.clone(),
                    weight: m.weight,
                    boost: m.boost,
                });
            }
            if models[..i].iter().any(|other| other.name == m.name) {
                return Err(SamplerError::Duplicate(m.name.clone()));
            }
        }
        if models.iter().filter(|m| m.effective_weight() > 0.0).count() < 2 {
            return Err(SamplerError::TooFewWeighted);
        }
        let n = models.len();
        Ok(Sampler {
            models,
            bench_for,
            benched_until: vec![None; n],
        })
    }

    pub fn models(&self) -> &[SamplerModel] {
        &self.models
    }

    pub fn bench_for(&self) -> Duration {
        self.bench_for
    }

    /// The index of the model called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.models.iter().position(|m| m.name == name)
    }

    /// Benches model `index` until `now + bench_for`.
    pub fn bench(&mut self, index: usize, now: Instant) {
        if self.bench_for.is_zero() {
            return;
        }
        if let Some(slot) = self.benched_until.get_mut(index) {
            *slot = Some(now + self.bench_for);
        }
    }

    /// Puts a benched model back at once.
    pub fn unbench(&mut self, index: usize) {
        if let Some(slot) = self.benched_until.get_mut(index) {
            *slot = None;
        }
    }

    pub fn is_benched(&self, index: usize, now: Instant) -> bool {
        self.benched_until
            .get(index)
            .copied()
            .flatten()
            .is_some_and(|until| until > now)
    }

    /// The indices of the models that may be picked now (not benched, weight above 0).
    pub fn available(&self, now: Instant) -> Vec<usize> {
        (0..self.models.len())
            .filter(|&i| !self.is_benched(i, now) && self.models[i].effective_weight() > 0.0)
            .collect()
    }

    /// Picks two different models and their sides.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, now: Instant) -> Result<Pair, SamplerError> {
        let available = self.available(now);
        if available.len() < 2 {
            let benched: Vec<Instant> = self
                .benched_until
                .iter()
                .flatten()
                .copied()
                .filter(|&until| until > now)
                .collect();
            let retry_after = benched
                .iter()
                .min()
                .map_or(Duration::ZERO, |&until| until - now);
            return Err(SamplerError::NotEnoughAvailable {
                available: available.len(),
                benched: benched.len(),
                retry_after,
            });
        }
        let first = self.weighted(rng, &available);
        let others: Vec<usize> = available.into_iter().filter(|&i| i != first).collect();
        let second = self.weighted(rng, &others);
        Ok(if rng.gen_bool(0.5) {
            Pair {
                a: first,
                b: second,
            }
        } else {
            Pair {
                a: second,
                b: first,
            }
        })
    }

    /// A weighted choice among `candidates` (non-empty, all with weight above 0).
    fn weighted<R: Rng + ?Sized>(&self, rng: &mut R, candidates: &[usize]) -> usize {
        let total: f64 = candidates
            .iter()
            .map(|&i| self.models[i].effective_weight())
            .sum();
        let mut x = rng.gen::<f64>() * total;
        for &i in candidates {
            let w = self.models[i].effective_weight();
            if x < w {
                return i;
            }
            x -= w;
        }
        // Rounding can leave x a hair above the last weight.
        candidates[candidates.len() - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn model(name: &str, weight: f64, boost: f64) -> SamplerModel {
        SamplerModel {
            name: name.into(),
            weight,
            boost,
        }
    }

    fn sampler(models: &[(&str, f64, f64)]) -> Sampler {
        Sampler::new(
            models.iter().map(|&(n, w, b)| model(n, w, b)).collect(),
            Duration::from_secs(300),
        )
        .unwrap()
    }

    #[test]
    fn never_the_same_model_twice_and_both_sides() {
        let s = sampler(&[("a", 1.0, 0.0), ("b", 1.0, 0.0), ("c", 1.0, 0.0)]);
        let mut rng = StdRng::seed_from_u64(1);
        let now = Instant::now();
        let mut left = [0u32; 3];
        for _ in 0..3000 {
            let p = s.sample(&mut rng, now).unwrap();
            assert_ne!(p.a, p.b);
            left[p.a] += 1;
        }
        for count in left {
            assert!((800..1200).contains(&count), "left counts {left:?}");
        }
    }

    #[test]
    fn deterministic_with_a_seed() {
        let s = sampler(&[("a", 1.0, 0.0), ("b", 2.0, 0.0), ("c", 3.0, 0.0)]);
        let now = Instant::now();
        let run = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..50)
                .map(|_| s.sample(&mut rng, now).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    /// P(i in the pair) = p_i + Σ_{j≠i} p_j · p_i / (1 − p_j), with p the normalized weights.
    fn appearance_probability(weights: &[f64], i: usize) -> f64 {
        let total: f64 = weights.iter().sum();
        let p: Vec<f64> = weights.iter().map(|w| w / total).collect();
        p[i] + (0..p.len())
            .filter(|&j| j != i)
            .map(|j| p[j] * p[i] / (1.0 - p[j]))
            .sum::<f64>()
    }

    #[test]
    fn weights_and_boosts_are_respected() {
        // Effective weights 1, 1, 2·(1+1) = 4.
        let s = sampler(&[("a", 1.0, 0.0), ("b", 1.0, 0.0), ("new", 2.0, 1.0)]);
        let effective = [1.0, 1.0, 4.0];
        let mut rng = StdRng::seed_from_u64(42);
        let now = Instant::now();
        let n = 20_000;
        let mut seen = [0u32; 3];
        for _ in 0..n {
            let p = s.sample(&mut rng, now).unwrap();
            seen[p.a] += 1;
            seen[p.b] += 1;
        }
        for i in 0..3 {
            let expected = appearance_probability(&effective, i) * n as f64;
            let sd = (expected * (1.0 - expected / n as f64)).sqrt();
            assert!(
                (seen[i] as f64 - expected).abs() < 5.0 * sd,
                "model {i}: seen {} expected {expected:.0} (counts {seen:?})",
                seen[i]
            );
        }
        assert!(seen[2] > seen[0] && seen[2] > seen[1]);
    }

    #[test]
    fn zero_weight_is_never_picked() {
        let s = sampler(&[("a", 1.0, 0.0), ("b", 1.0, 0.0), ("off", 0.0, 3.0)]);
        let mut rng = StdRng::seed_from_u64(3);
        let now = Instant::now();
        for _ in 0..1000 {
            let p = s.sample(&mut rng, now).unwrap();
            assert!(p.a != 2 && p.b != 2);
        }
    }

    #[test]
    fn benched_models_sit_out_until_their_time_is_up() {
        let mut s = sampler(&[("a", 1.0, 0.0), ("b", 1.0, 0.0), ("c", 1.0, 0.0)]);
        let mut rng = StdRng::seed_from_u64(5);
        let t0 = Instant::now();
        s.bench(1, t0);
        assert!(s.is_benched(1, t0));
        assert_eq!(s.available(t0), vec![0, 2]);
        for _ in 0..200 {
            let p = s.sample(&mut rng, t0 + Duration::from_secs(10)).unwrap();
            assert!(p.a != 1 && p.b != 1);
        }
        // Two benched of three: no pair can be formed.
        s.bench(2, t0 + Duration::from_secs(60));
        let err = s
            .sample(&mut rng, t0 + Duration::from_secs(61))
            .unwrap_err();
        assert_eq!(
            err,
            SamplerError::NotEnoughAvailable {
                available: 1,
                benched: 2,
                retry_after: Duration::from_secs(239),
            }
        );
        // After five minutes model 1 is back.
        let later = t0 + Duration::from_secs(301);
        assert!(!s.is_benched(1, later));
        let mut seen_b = false;
        for _ in 0..200 {
            let p = s.sample(&mut rng, later).unwrap();
            seen_b |= p.a == 1 || p.b == 1;
            assert!(p.a != 2 && p.b != 2);
        }
        assert!(seen_b);
        s.unbench(2);
        assert_eq!(s.available(later), vec![0, 1, 2]);
    }

    #[test]
    fn zero_bench_time_never_benches() {
        let mut s = Sampler::new(
            vec![SamplerModel::new("a"), SamplerModel::new("b")],
            Duration::ZERO,
        )
        .unwrap();
        let now = Instant::now();
        s.bench(0, now);
        assert!(!s.is_benched(0, now));
    }

    #[test]
    fn bad_configurations() {
        let d = Duration::from_secs(1);
        assert_eq!(
            Sampler::new(vec![SamplerModel::new("a")], d).unwrap_err(),
            SamplerError::TooFewModels(1)
        );
        assert!(matches!(
            Sampler::new(vec![model("a", -1.0, 0.0), SamplerModel::new("b")], d),
            Err(SamplerError::BadWeight { .. })
        ));
        assert!(matches!(
            Sampler::new(vec![model("a", f64::NAN, 0.0), SamplerModel::new("b")], d),
            Err(SamplerError::BadWeight { .. })
        ));
        assert_eq!(
            Sampler::new(vec![SamplerModel::new("a"), SamplerModel::new("a")], d).unwrap_err(),
            SamplerError::Duplicate("a".into())
        );
        assert_eq!(
            Sampler::new(vec![model("a", 0.0, 0.0), SamplerModel::new("b")], d).unwrap_err(),
            SamplerError::TooFewWeighted
        );
        assert_eq!(
            Sampler::new(vec![SamplerModel::new("a"), SamplerModel::new("b")], d)
                .unwrap()
                .index_of("b"),
            Some(1)
        );
    }
}
