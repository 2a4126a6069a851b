//! The statistics against values computed independently in Python: the Wilson formula in
//! 50-digit `decimal`, exact binomial tails from `math.comb` with exact or 40-digit
//! arithmetic, and `math.erfc`.

use assay_stats::{
    chi2_df1_survival, cohen_kappa, entropy_bits, erfc, mcnemar_chi2, mcnemar_exact, wilson,
    wilson_z, Z95,
};

fn close(actual: f64, expected: f64, relative: f64) -> bool {
    if expected == 0.0 {
        return actual == 0.0;
    }
    ((actual - expected) / expected).abs() <= relative
}

macro_rules! assert_close {
    ($actual:expr, $expected:expr, $relative:expr) => {{
        let (a, e) = ($actual, $expected);
        assert!(
            close(a, e, $relative),
            "{} = {a:e}, expected {e:e}",
            stringify!($actual)
        );
    }};
}

#[test]
fn wilson_intervals() {
    // (k, n, lo, hi)
    let cases = [
        (0, 10, 0.0, 0.2775327998628892),
        (5, 10, 0.236593090512564, 0.763406909487436),
        (10, 10, 0.7224672001371107, 1.0),
        (81, 263, 0.2552885198782742, 0.36620957698280004),
        (1, 3, 0.06149194472039624, 0.7923403991979523),
    ];
    for (k, n, lo, hi) in cases {
        let rate = wilson(k, n);
        assert_eq!((rate.k, rate.n), (k, n));
        assert_close!(rate.p, k as f64 / n as f64, 1e-15);
        assert_close!(rate.lo, lo, 1e-12);
        assert_close!(rate.hi, hi, 1e-12);
        assert_eq!(wilson_z(k, n, Z95), (rate.lo, rate.hi));
    }
    let empty = wilson(0, 0);
    assert_eq!((empty.p, empty.lo, empty.hi), (0.0, 0.0, 0.0));
}

#[test]
fn mcnemar_exact_small_counts() {
    assert_eq!(mcnemar_exact(10, 2), 0.03857421875);
    assert_eq!(mcnemar_exact(2, 10), 0.03857421875);
    assert_eq!(mcnemar_exact(5, 5), 1.0);
    assert_eq!(mcnemar_exact(0, 3), 0.25);
    assert_eq!(mcnemar_exact(1, 0), 1.0);
    assert_eq!(mcnemar_exact(0, 0), 1.0);
}

#[test]
fn mcnemar_exact_large_counts() {
    let cases = [
        (600, 500, 0.0028195449914364275),
        (520, 480, 0.21744829320414094),
        (4000, 3800, 0.024238383243788165),
        (100_000, 99_000, 0.025127217688360945),
        (500_500, 499_500, 0.3177946913633055),
        (501_000, 499_000, 0.04560829986538208),
        (499_000, 501_200, 0.027893509841987244),
    ];
    for (a, b, p) in cases {
        assert_close!(mcnemar_exact(a, b), p, 1e-12);
    }
    // Far in the tail the p-value underflows to 0 rather than turning into NaN.
    assert_eq!(mcnemar_exact(1_000_000, 0), 0.0);
    let tiny = mcnemar_exact(700_000, 300_000);
    assert!((0.0..1e-300).contains(&tiny), "{tiny}");
}

#[test]
fn mcnemar_chi_square() {
    let (statistic, p) = mcnemar_chi2(10, 2);
    assert_close!(statistic, 49.0 / 12.0, 1e-15);
    assert_close!(p, 0.04330814281079198, 1e-12);
    assert_eq!(mcnemar_chi2(0, 0), (0.0, 1.0));
    // Equal counts: the continuity correction stops at zero.
    assert_eq!(mcnemar_chi2(4, 4), (0.0, 1.0));
    assert_eq!(chi2_df1_survival(0.0), 1.0);
}

#[test]
fn erfc_matches_python() {
    let cases = [
        (0.1, 0.8875370839817152),
        (0.46875, 0.507386526782062),
        (0.5, 0.4795001221869535),
        (1.0, 0.15729920705028513),
        (2.0, 0.004677734981047265),
        (3.5, 7.430983723414128e-07),
        (4.0, 1.541725790028002e-08),
        (4.5, 1.9661604415428873e-10),
        (6.0, 2.1519736712498916e-17),
        (10.0, 2.088487583762545e-45),
        (-0.3, 1.3286267594591274),
        (-2.0, 1.9953222650189528),
        (20.0, 5.3958656116079005e-176),
        (26.0, 5.663192408856143e-296),
    ];
    for (x, expected) in cases {
        assert_close!(erfc(x), expected, 1e-13);
    }
}

#[test]
fn kappa() {
    // po = 0.7, pe = 0.5.
    assert_close!(cohen_kappa(&[[20, 5], [10, 15]]), 0.4, 1e-15);
    // Perfect agreement on varied labels.
    assert_eq!(cohen_kappa(&[[3, 0, 0], [0, 2, 0], [0, 0, 5]]), 1.0);
    // One label throughout on both sides: expected agreement 1.
    assert_eq!(cohen_kappa(&[[7, 0], [0, 0]]), 1.0);
    assert_eq!(cohen_kappa(&[[0u64; 3]; 3]), 0.0);
    // Agreement no better than chance.
    assert!(cohen_kappa(&[[25, 25], [25, 25]]).abs() < 1e-15);
}

#[test]
fn entropy() {
    assert_eq!(entropy_bits(&[4, 0, 0]), 0.0);
    assert_close!(entropy_bits(&[2, 2]), 1.0, 1e-15);
    assert_close!(entropy_bits(&[1, 1, 1]), 1.584962500721156, 1e-15);
    assert_close!(entropy_bits(&[2, 1, 0]), 0.9182958340544896, 1e-15);
    assert_eq!(entropy_bits(&[]), 0.0);
}
