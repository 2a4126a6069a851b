//! The statistics behind the reports live in `assay-stats`; re-exported here so
//! `assay_eval::stats::wilson` and friends keep working.
//!
//! What only the audit needs and `assay-stats` lacks, the interval for a mean, is here.

pub use assay_stats::*;

/// The 0.975 quantile of Student's t distribution for 1 to 30 degrees of freedom (bisected on
/// the closed-form distribution function for whole degrees of freedom, Abramowitz & Stegun
/// 26.7.3-4; within 1e-10 of the exact values).
const T975: [f64; 30] = [
    12.706204736175,
    4.302652729749,
    3.182446305284,
    2.776445105198,
    2.570581835636,
    2.446911851145,
    2.364624251593,
    2.306004135204,
    2.262157162798,
    2.228138851986,
    2.200985160092,
    2.178812829667,
    2.160368656463,
    2.144786687918,
    2.131449545560,
    2.119905299221,
    2.109815577833,
    2.100922040241,
    2.093024054408,
    2.085963447266,
    2.079613844728,
    2.073873067904,
    2.068657610419,
    2.063898561628,
    2.059538552753,
    2.055529438643,
    2.051830516480,
    2.048407141795,
    2.045229642133,
    2.042272456301,
];

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom: the table above up
/// to 30, then the Cornish-Fisher expansion around [`Z95`] to the fourth order, within 3e-8 of
/// the exact value from 31 on (and closer as `df` grows). Infinite for `df` 0: no interval.
pub fn t95(df: u64) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[(df - 1) as usize],
        _ => {
            let z = Z95;
            let v = df as f64;
            let z2 = z * z;
            let (z3, z5, z7, z9) = (z * z2, z * z2 * z2, z * z2.powi(3), z * z2.powi(4));
            z + (z3 + z) / (4.0 * v)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v.powi(2))
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v.powi(3))
                + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z)
                    / (92160.0 * v.powi(4))
        }
    }
}

/// Running mean and sum of squared deviations of a sample (Welford's update, which neither
/// overflows nor loses the spread of large counts to cancellation).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MeanTally {
    n: u64,
    mean: f64,
    m2: f64,
}

impl MeanTally {
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    pub fn n(&self) -> u64 {
        self.n
    }

    /// The mean; `None` for an empty sample.
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean)
    }

    /// The 95% interval for the mean, `mean ± t95(n - 1) · s / √n` with `s` the sample standard
    /// deviation; `None` below two values. A t rather than a normal quantile: cells of an audit
    /// often hold a handful of answers, where the normal interval is too narrow.
    pub fn ci95(&self) -> Option<[f64; 2]> {
        if self.n < 2 {
            return None;
        }
        let s = (self.m2.max(0.0) / (self.n - 1) as f64).sqrt();
        let half = t95(self.n - 1) * s / (self.n as f64).sqrt();
        Some([self.mean - half, self.mean + half])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_published_values() {
        // Student's t tables, 0.975 column.
        for (df, t) in [
            (1, 12.706),
            (2, 4.303),
            (5, 2.571),
            (10, 2.228),
            (30, 2.042),
        ] {
            assert!((t95(df) - t).abs() < 5e-4, "df {df}: {}", t95(df));
        }
        // Past the table: exact values 2.039513446396, 2.000297822014, 1.983971518524.
        assert!((t95(31) - 2.039513446396).abs() < 1e-7, "{}", t95(31));
        assert!((t95(60) - 2.000297822014).abs() < 1e-8, "{}", t95(60));
        assert!((t95(100) - 1.983971518524).abs() < 1e-9, "{}", t95(100));
        assert!((t95(1_000_000) - Z95).abs() < 1e-5);
        assert!(t95(0).is_infinite());
    }

    #[test]
    fn mean_and_interval_of_a_sample() {
        let mut t = MeanTally::default();
        assert_eq!((t.mean(), t.ci95()), (None, None));
        t.add(10.0);
        assert_eq!((t.mean(), t.ci95()), (Some(10.0), None));
        for x in [20.0, 30.0] {
            t.add(x);
        }
        // Mean 20, s = 10, half-width t(2) · 10 / √3 = 24.841...
        let [lo, hi] = t.ci95().expect("three values");
        assert_eq!(t.mean(), Some(20.0));
        assert!((lo - (20.0 - 24.841377118)).abs() < 1e-6, "{lo}");
        assert!((hi - (20.0 + 24.841377118)).abs() < 1e-6, "{hi}");
    }
}
