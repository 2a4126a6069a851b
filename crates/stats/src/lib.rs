//! The statistics behind the reports: Wilson intervals for rates, McNemar's test for paired
//! outcomes, Cohen's kappa for grader agreement and Shannon entropy for sample consistency.
//!
//! Everything is written out here rather than taken from a statistics crate, so each figure in
//! a report can be traced to a few lines of code. Counts in an audit reach the hundreds of
//! thousands at most, but every function stays accurate well beyond that (the exact McNemar
//! test works in log space; the chi-square tail uses W. J. Cody's `erfc`).
//!
//! A leaf crate (serde only) so that crates needing a rate and its interval, such as the
//! corpus screen, do not pull in the audit runner and its store.

use serde::{Deserialize, Serialize};

/// A proportion `k / n` with its Wilson 95% interval; `p`, `lo` and `hi` are 0 when `n` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub k: u64,
    pub n: u64,
    pub p: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The normal quantile for a two-sided 95% interval.
pub const Z95: f64 = 1.959963984540054;

/// `k` of `n` as a [`Rate`] with its Wilson score 95% interval; all zeros when `n` is 0.
///
/// Wilson rather than the normal ("Wald") interval because audit rates often sit at 0 or 1
/// with small `n`, where the Wald interval collapses to a point.
pub fn wilson(k: u64, n: u64) -> Rate {
    if n == 0 {
        return Rate {
            k,
            n,
            p: 0.0,
            lo: 0.0,
            hi: 0.0,
        };
    }
    let (lo, hi) = wilson_z(k, n, Z95);
    Rate {
        k,
        n,
        p: k as f64 / n as f64,
        lo,
        hi,
    }
}

/// The Wilson score interval `(lo, hi)` for `k` of `n` at normal quantile `z`; `(0, 0)` when
/// `n` is 0. `k` above `n` is treated as `n`.
pub fn wilson_z(k: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    let k = k.min(n);
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = z * z;
    let denominator = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    // The bounds are exactly 0 and 1 at the extremes; rounding would otherwise leave e.g.
    // 1e-17 or 0.9999999999999999 there.
    let lo = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if k == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lo, hi)
}

/// Two-sided exact McNemar p-value for the discordant counts of a paired test: twice the
/// smaller binomial tail of `Binomial(a_only + b_only, 1/2)`, capped at 1; 1.0 when there are
/// no discordant pairs.
pub fn mcnemar_exact(a_only: u64, b_only: u64) -> f64 {
    let n = a_only + b_only;
    if n == 0 {
        return 1.0;
    }
    let m = a_only.min(b_only);
    if n <= EXACT_MAX_N {
        return (exact_binomial_half_cdf(m, n) * 2.0).min(1.0);
    }
    (2.0 * binomial_half_cdf(m, n)).min(1.0)
}

/// Up to this many trials the binomial tail is summed in exact integers: `C(120, 60) * 60` is
/// below 2^123, so nothing overflows a `u128`.
const EXACT_MAX_N: u64 = 120;

/// `P(X <= m)` for `X ~ Binomial(n, 1/2)`, `n <= EXACT_MAX_N`, with a single rounding: the
/// integer sum of `C(n, i)` converted to `f64`, times 2^-n (exact in binary).
fn exact_binomial_half_cdf(m: u64, n: u64) -> f64 {
    let (m, n) = (u128::from(m), u128::from(n));
    let mut c: u128 = 1;
    let mut sum: u128 = 1;
    for i in 1..=m {
        c = c * (n - i + 1) / i;
        sum += c;
    }
    // n <= 120, so the exponent fits an i32.
    sum as f64 * 0.5f64.powi(n as i32)
}

/// `P(X <= m)` for `X ~ Binomial(n, 1/2)` with `m <= n / 2`.
///
/// Sums down from the largest term, `P(X = m)`, computed with Loader's saddle-point formula
/// so it keeps full relative precision for `n` in the millions, where `C(n, m)` and `2^-n`
/// each overflow. The terms below `m` shrink geometrically, so the sum stops once they no
/// longer change it.
fn binomial_half_cdf(m: u64, n: u64) -> f64 {
    let mut term = binomial_half_pmf(m, n);
    let mut sum = term;
    let nf = n as f64;
    let mut i = m;
    while i > 0 && term > 0.0 {
        // P(X = i - 1) = P(X = i) * i / (n - i + 1)
        term *= i as f64 / (nf - i as f64 + 1.0);
        let next = sum + term;
        if next == sum {
            break;
        }
        sum = next;
        i -= 1;
    }
    sum
}

/// `P(X = x)` for `X ~ Binomial(n, 1/2)`, accurate to a few ulps (Loader 2000, as in R's
/// `dbinom`).
fn binomial_half_pmf(x: u64, n: u64) -> f64 {
    if x == 0 || x == n {
        // 2^-n is exact in binary until it underflows.
        return match i32::try_from(n) {
            Ok(n) => 0.5f64.powi(n),
            Err(_) => 0.0,
        };
    }
    let (xf, nf) = (x as f64, n as f64);
    let half_n = nf / 2.0;
    let lc = stirling_error(nf)
        - stirling_error(xf)
        - stirling_error(nf - xf)
        - deviance_term(xf, half_n)
        - deviance_term(nf - xf, half_n);
    let lf = (2.0 * std::f64::consts::PI).ln() + xf.ln() + (-xf / nf).ln_1p();
    (lc - 0.5 * lf).exp()
}

/// `ln(n!) - ln(sqrt(2 pi n) (n / e)^n)` for a whole number `n >= 1`.
fn stirling_error(n: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    // ln(n!) - ln(sqrt(2 pi n) (n / e)^n) for n = 1..=15, computed to 60 digits in Python's
    // `decimal`; below 16 the asymptotic series is not accurate enough.
    const SMALL: [f64; 15] = [
        0.08106146679532726,
        0.0413406959554093,
        0.02767792568499834,
        0.020790672103765093,
        0.016644691189821193,
        0.013876128823070748,
        0.01189670994589177,
        0.010411265261972096,
        0.009255462182712733,
        0.00833056343336287,
        0.007573675487951841,
        0.00694284010720953,
        0.006408994188004207,
        0.0059513701127588475,
        0.005554733551962801,
    ];
    if n <= 15.0 {
        // `n` is a whole number from 1 to 15 here.
        return SMALL[(n as usize).clamp(1, 15) - 1];
    }
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// `x ln(x / np) + np - x`, computed without cancellation when `x` is close to `np`.
fn deviance_term(x: f64, np: f64) -> f64 {
    if (x - np).abs() < 0.1 * (x + np) {
        let v = (x - np) / (x + np);
        let mut s = (x - np) * v;
        let mut ej = 2.0 * x * v;
        let v2 = v * v;
        let mut j = 1.0;
        loop {
            ej *= v2;
            let next = s + ej / (2.0 * j + 1.0);
            if next == s {
                return next;
            }
            s = next;
            j += 1.0;
        }
    }
    x * (x / np).ln() + np - x
}

/// McNemar's chi-square test with continuity correction: the statistic
/// `(max(|a - b| - 1, 0))^2 / (a + b)` and its p-value from the chi-square distribution with
/// one degree of freedom. `(0, 1)` when there are no discordant pairs.
///
/// The correction is floored at zero so equal counts give a statistic of 0 (p = 1) rather
/// than a small positive value. Reports use [`mcnemar_exact`]; this is the large-sample
/// approximation many papers quote, kept for comparison.
pub fn mcnemar_chi2(a_only: u64, b_only: u64) -> (f64, f64) {
    let n = a_only + b_only;
    if n == 0 {
        return (0.0, 1.0);
    }
    let diff = (a_only.abs_diff(b_only) as f64 - 1.0).max(0.0);
    let statistic = diff * diff / n as f64;
    (statistic, chi2_df1_survival(statistic))
}

/// `P(X > x)` for `X` chi-square with one degree of freedom: `X = Z^2`, so the tail is
/// `erfc(sqrt(x / 2))`.
pub fn chi2_df1_survival(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    erfc((x / 2.0).sqrt())
}

/// The complementary error function, after W. J. Cody's CALERF (Math. Comp. 1969; netlib
/// `specfun`): rational approximations on three intervals with a maximal relative error near
/// 1e-16 in double precision.
pub fn erfc(x: f64) -> f64 {
    const A: [f64; 5] = [
        3.1611237438705655,
        113.86415415105016,
        377.485237685302,
        3209.3775891384694,
        0.18577770618460315,
    ];
    const B: [f64; 4] = [
        23.601290952344122,
        244.02463793444417,
        1282.6165260773723,
        2844.236833439171,
    ];
    const C: [f64; 9] = [
        0.5641884969886701,
        8.883149794388377,
        66.11919063714163,
        298.6351381974001,
        881.952221241769,
        1712.0476126340707,
        2051.0783778260716,
        1230.3393547979972,
        2.1531153547440383e-8,
    ];
    const D: [f64; 8] = [
        15.744926110709835,
        117.6939508913125,
        537.1811018620099,
        1621.3895745666903,
        3290.7992357334597,
        4362.619090143247,
        3439.3676741437216,
        1230.3393548037495,
    ];
    const P: [f64; 6] = [
        0.30532663496123236,
        0.36034489994980445,
        0.12578172611122926,
        0.016083785148742275,
        0.0006587491615298378,
        0.016315387137302097,
    ];
    const Q: [f64; 5] = [
        2.568520192289822,
        1.8729528499234604,
        0.5279051029514285,
        0.06051834131244132,
        0.0023352049762686918,
    ];
    const FRAC_1_SQRT_PI: f64 = 0.5641895835477563;
    // Beyond this erfc(x) underflows to 0 in double precision.
    const X_BIG: f64 = 26.543;

    if x.is_nan() {
        return f64::NAN;
    }
    let y = x.abs();
    let result = if y <= 0.468_75 {
        // erf by a rational function of x^2; erfc = 1 - erf loses nothing here as
        // erfc(0.46875) is about 0.5.
        let ysq = y * y;
        let mut num = A[4] * ysq;
        let mut den = ysq;
        for i in 0..3 {
            num = (num + A[i]) * ysq;
            den = (den + B[i]) * ysq;
        }
        let erf = x * (num + A[3]) / (den + B[3]);
        return 1.0 - erf;
    } else if y <= 4.0 {
        let mut num = C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + C[i]) * y;
            den = (den + D[i]) * y;
        }
        (num + C[7]) / (den + D[7]) * exp_minus_square(y)
    } else if y >= X_BIG {
        0.0
    } else {
        let ysq = 1.0 / (y * y);
        let mut num = P[5] * ysq;
        let mut den = ysq;
        for i in 0..4 {
            num = (num + P[i]) * ysq;
            den = (den + Q[i]) * ysq;
        }
        let r = ysq * (num + P[4]) / (den + Q[4]);
        (FRAC_1_SQRT_PI - r) / y * exp_minus_square(y)
    };
    if x < 0.0 {
        2.0 - result
    } else {
        result
    }
}

/// `exp(-y^2)`, with `y^2` split so the rounding of the square does not turn into a relative
/// error of `y^2` times machine epsilon (Cody's trick).
fn exp_minus_square(y: f64) -> f64 {
    let ysq = (y * 16.0).trunc() / 16.0;
    let del = (y - ysq) * (y + ysq);
    (-ysq * ysq).exp() * (-del).exp()
}

/// Cohen's kappa of an `N × N` confusion matrix (rows: one rater, columns: the other).
///
/// When the expected agreement is 1 (both raters used a single, identical label throughout)
/// kappa is 0/0; we return 1.0 if the raters also agree on every case and 0.0 otherwise. An
/// empty matrix gives 0.0: there is no evidence of agreement.
pub fn cohen_kappa<const N: usize>(confusion: &[[u64; N]; N]) -> f64 {
    let total: u64 = confusion.iter().flatten().sum();
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    let observed = (0..N).map(|i| confusion[i][i] as f64).sum::<f64>() / total;
    let expected = (0..N)
        .map(|i| {
            let row: u64 = confusion[i].iter().sum();
            let column: u64 = confusion.iter().map(|r| r[i]).sum();
            row as f64 * column as f64
        })
        .sum::<f64>()
        / (total * total);
    if expected >= 1.0 {
        return if observed >= 1.0 { 1.0 } else { 0.0 };
    }
    (observed - expected) / (1.0 - expected)
}

/// Shannon entropy in bits of the distribution given by `counts`; 0 for no counts.
pub fn entropy_bits(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum();
    // A single label gives -1 * log2(1) = -0.0; report it as plain 0.
    entropy.max(0.0)
}

/// Newcombe's hybrid score interval (method 10) for `b.p - a.p` of two independent
/// proportions, from their Wilson intervals: `(difference, lo, hi)`.
pub fn newcombe_diff(a: &Rate, b: &Rate) -> (f64, f64, f64) {
    let d = b.p - a.p;
    let lo = d - ((b.p - b.lo).powi(2) + (a.hi - a.p).powi(2)).sqrt();
    let hi = d + ((b.hi - b.p).powi(2) + (a.p - a.lo).powi(2)).sqrt();
    (d, lo.max(-1.0), hi.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newcombe_difference_contains_the_estimate() {
        let a = wilson(2, 20);
        let b = wilson(12, 20);
        let (d, lo, hi) = newcombe_diff(&a, &b);
        assert!((d - 0.5).abs() < 1e-12);
        assert!(lo > 0.0 && lo < d && hi > d && hi <= 1.0, "{lo} {hi}");
    }

    #[test]
    fn wilson_extremes_are_exact() {
        let r = wilson(0, 10);
        assert_eq!((r.p, r.lo), (0.0, 0.0));
        let r = wilson(10, 10);
        assert_eq!((r.p, r.hi), (1.0, 1.0));
        assert_eq!(wilson(0, 0).hi, 0.0);
    }

    #[test]
    fn small_binomial_pmf_matches_exact() {
        // C(12, 2) / 2^12 = 66 / 4096
        assert!((binomial_half_pmf(2, 12) - 66.0 / 4096.0).abs() < 1e-17);
        assert!((binomial_half_pmf(20, 40) - 0.12537068761957926).abs() < 1e-15);
    }

    #[test]
    fn saddle_point_tail_agrees_with_exact_integers() {
        for n in 2..=EXACT_MAX_N {
            for m in 0..=n / 2 {
                let exact = exact_binomial_half_cdf(m, n);
                let approx = binomial_half_cdf(m, n);
                assert!(
                    ((approx - exact) / exact).abs() < 1e-13,
                    "n={n} m={m}: {approx:e} vs {exact:e}"
                );
            }
        }
    }

    #[test]
    fn erfc_at_zero_and_symmetry() {
        assert_eq!(erfc(0.0), 1.0);
        assert!((erfc(-1.0) - (2.0 - erfc(1.0))).abs() < 1e-16);
        assert_eq!(erfc(30.0), 0.0);
    }

    #[test]
    fn entropy_of_one_label_is_zero() {
        assert_eq!(entropy_bits(&[3, 0, 0]), 0.0);
        assert_eq!(entropy_bits(&[]), 0.0);
    }
}
