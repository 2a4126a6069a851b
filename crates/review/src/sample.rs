//! Which answers a reviewer sees, and in what order: a seeded sample, stratified by model ×
//! language × the refusal grader's label, uncertain grades first.
//!
//! Strata share the sample in proportion to their size (largest remainders), except that every
//! stratum gets at least one answer when the sample has room for one from each: a label the
//! grader gives rarely (a model that refuses once in fifty) is still looked at. Within a stratum
//! the answers are shuffled with the seed and, unless `uniform`, the uncertain ones (see
//! [`Candidate::uncertain`]) are taken first. The sample is shown shuffled, so strata alternate,
//! with the uncertain answers first unless `uniform`.
//!
//! The same candidates, size and seed give the same sample in the same order, on any machine:
//! the generator is Xoshiro256++ (a fixed algorithm, unlike `rand`'s `StdRng`), and candidates
//! are put in one order (by answer id) before anything is drawn.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// An answer that may be sampled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub answer_id: i64,
    pub model: String,
    pub lang: String,
    /// The refusal grader's label.
    pub label: String,
    /// The refusal grade's detail says `"uncertain": true` (grades of older grader versions
    /// never do).
    pub uncertain: bool,
}

/// The answer ids of the sample, in the order they are shown. `size` larger than the number of
/// candidates takes them all.
pub fn draw(candidates: &[Candidate], size: usize, seed: u64, uniform: bool) -> Vec<i64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut strata: BTreeMap<(&str, &str, &str), Vec<&Candidate>> = BTreeMap::new();
    for c in candidates {
        strata
            .entry((c.model.as_str(), c.lang.as_str(), c.label.as_str()))
            .or_default()
            .push(c);
    }
    let mut strata: Vec<Vec<&Candidate>> = strata.into_values().collect();
    for members in &mut strata {
        members.sort_by_key(|c| c.answer_id);
        members.shuffle(&mut rng);
        if !uniform {
            // Stable: the shuffled order stays within the uncertain and the certain.
            members.sort_by_key(|c| !c.uncertain);
        }
    }
    let sizes: Vec<usize> = strata.iter().map(Vec::len).collect();
    let quotas = allocate(&sizes, size, &mut rng);
    let mut chosen: Vec<&Candidate> = strata
        .iter()
        .zip(&quotas)
        .flat_map(|(members, &quota)| members.iter().take(quota).copied())
        .collect();
    chosen.shuffle(&mut rng);
    if !uniform {
        chosen.sort_by_key(|c| !c.uncertain);
    }
    chosen.into_iter().map(|c| c.answer_id).collect()
}

/// How many answers each stratum (of `sizes`) gives to a sample of `size`.
fn allocate(sizes: &[usize], size: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    if size >= total {
        return sizes.to_vec();
    }
    let mut quotas = vec![0; sizes.len()];
    let mut left = size;
    let nonempty: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] > 0).collect();
    if size < nonempty.len() {
        // Too small for one per stratum: one each from `size` strata, drawn with the seed.
        let mut order = nonempty;
        order.shuffle(rng);
        for &i in order.iter().take(size) {
            quotas[i] = 1;
        }
        return quotas;
    }
    for &i in &nonempty {
        quotas[i] = 1;
        left -= 1;
    }
    // The rest in proportion to what each stratum has beyond its first: whole shares first,
    // then one more each for the largest remainders (ties to the earlier stratum).
    let rest: Vec<usize> = sizes.iter().map(|&s| s.saturating_sub(1)).collect();
    let rest_total: usize = rest.iter().sum();
    if rest_total == 0 || left == 0 {
        return quotas;
    }
    let mut remainders = Vec::with_capacity(sizes.len());
    let mut given = 0;
    for (i, &r) in rest.iter().enumerate() {
        // u128: r × left cannot overflow.
        let exact = r as u128 * left as u128;
        let whole = (exact / rest_total as u128) as usize;
        quotas[i] += whole;
        given += whole;
        remainders.push((exact % rest_total as u128, i));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(left - given) {
        quotas[i] += 1;
    }
    quotas
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    /// `n` answers of one stratum, ids from `first`; every `uncertain_every`-th one uncertain
    /// (0: none).
    fn stratum(
        first: i64,
        n: usize,
        model: &str,
        lang: &str,
        label: &str,
        uncertain_every: usize,
    ) -> Vec<Candidate> {
        (0..n)
            .map(|i| Candidate {
                answer_id: first + i as i64,
                model: model.to_string(),
                lang: lang.to_string(),
                label: label.to_string(),
                uncertain: uncertain_every > 0 && i % uncertain_every == 0,
            })
            .collect()
    }

    /// Two models × two languages, mostly comply, some refuse, one partial; 10% uncertain.
    fn run() -> Vec<Candidate> {
        let mut all = Vec::new();
        let mut next = 1;
        for (model, lang, label, n) in [
            ("a", "en", "comply", 300),
            ("a", "en", "refuse", 40),
            ("a", "zh", "comply", 250),
            ("a", "zh", "refuse", 90),
            ("a", "zh", "partial", 1),
            ("b", "en", "comply", 330),
            ("b", "en", "refuse", 10),
            ("b", "zh", "comply", 280),
            ("b", "zh", "refuse", 60),
        ] {
            all.extend(stratum(next, n, model, lang, label, 10));
            next += n as i64;
        }
        all
    }

    fn by_id(candidates: &[Candidate]) -> HashMap<i64, &Candidate> {
        candidates.iter().map(|c| (c.answer_id, c)).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_in_the_same_order_and_another_seed_does_not() {
        let candidates = run();
        let first = draw(&candidates, 200, 0, false);
        assert_eq!(first.len(), 200);
        assert_eq!(first, draw(&candidates, 200, 0, false));
        // The order candidates come in does not matter.
        let mut reversed = candidates.clone();
        reversed.reverse();
        assert_eq!(first, draw(&reversed, 200, 0, false));
        let other = draw(&candidates, 200, 1, false);
        assert_ne!(first, other);
        let distinct: HashSet<i64> = first.iter().copied().collect();
        assert_eq!(distinct.len(), 200, "no answer twice");
        // Pinned, so that a change of generator or algorithm (which would move every
        // reviewer's place in a sample they are halfway through) is noticed.
        assert_eq!(&first[..5], &[922, 631, 511, 391, 1132]);
    }

    #[test]
    fn strata_share_the_sample_in_proportion_and_each_is_represented() {
        let candidates = run();
        let ids = by_id(&candidates);
        let sample = draw(&candidates, 200, 7, true);
        let mut counts: HashMap<(&str, &str, &str), usize> = HashMap::new();
        for id in &sample {
            let c = ids[id];
            *counts
                .entry((c.model.as_str(), c.lang.as_str(), c.label.as_str()))
                .or_default() += 1;
        }
        assert_eq!(counts.len(), 9, "every stratum is represented: {counts:?}");
        assert_eq!(counts[&("a", "zh", "partial")], 1, "the lone partial is in");
        // 1361 answers, 200 sampled: about one in 6.8 of each stratum.
        assert_eq!(counts[&("b", "en", "comply")], 48, "{counts:?}");
        assert_eq!(counts[&("a", "zh", "refuse")], 14, "{counts:?}");
        assert_eq!(counts[&("b", "en", "refuse")], 2, "{counts:?}");
        assert_eq!(counts.values().sum::<usize>(), 200);
    }

    #[test]
    fn uncertain_answers_are_taken_first_and_shown_first_unless_uniform() {
        let candidates = run();
        let ids = by_id(&candidates);
        let total_uncertain = candidates.iter().filter(|c| c.uncertain).count();
        assert_eq!(total_uncertain, 137);

        let sample = draw(&candidates, 200, 3, false);
        let flags: Vec<bool> = sample.iter().map(|id| ids[id].uncertain).collect();
        let uncertain = flags.iter().filter(|&&u| u).count();
        // Every stratum's uncertain answers fit in its quota, so all are taken.
        assert_eq!(uncertain, 137, "{uncertain} of 200 sampled are uncertain");
        assert!(
            flags.iter().skip_while(|&&u| u).all(|&u| !u),
            "uncertain answers come before all others"
        );

        let uniform = draw(&candidates, 200, 3, true);
        let flags: Vec<bool> = uniform.iter().map(|id| ids[id].uncertain).collect();
        let uncertain = flags.iter().filter(|&&u| u).count();
        // About one in ten, as in the run.
        assert!(
            (8..=40).contains(&uncertain),
            "{uncertain} of 200 are uncertain"
        );
        assert!(
            flags.iter().skip_while(|&&u| u).any(|&u| u),
            "a uniform sample is not sorted by uncertainty"
        );
    }

    #[test]
    fn small_and_large_samples() {
        let candidates = run();
        assert!(draw(&candidates, 0, 0, false).is_empty());
        assert!(draw(&[], 200, 0, false).is_empty());
        // Fewer than the strata: one answer each from as many strata.
        let ids = by_id(&candidates);
        let three = draw(&candidates, 3, 5, true);
        let strata: HashSet<_> = three
            .iter()
            .map(|id| (&ids[id].model, &ids[id].lang, &ids[id].label))
            .collect();
        assert_eq!(strata.len(), 3);
        // More than there are: all of them, each once.
        let all = draw(&candidates, 5000, 0, false);
        assert_eq!(all.len(), candidates.len());
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), candidates.len());
    }

    #[test]
    fn allocation_is_proportional_with_one_each() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        assert_eq!(allocate(&[10, 10], 4, &mut rng), vec![2, 2]);
        // One each, then 7 in proportion to 90 and 7 beyond the first: 6.49 and 0.51, whole
        // shares 6 and 0, the one left to the larger remainder.
        assert_eq!(allocate(&[91, 1, 8], 10, &mut rng), vec![7, 1, 2]);
        assert_eq!(allocate(&[3, 0, 5], 100, &mut rng), vec![3, 0, 5]);
        for size in 0..60 {
            let quotas = allocate(&[1, 17, 4, 30, 2], size, &mut rng);
            assert_eq!(quotas.iter().sum::<usize>(), size.min(54), "{size}");
            assert!(quotas.iter().zip([1, 17, 4, 30, 2]).all(|(q, s)| *q <= s));
        }
    }
}
