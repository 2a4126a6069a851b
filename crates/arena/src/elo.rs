//! Online Elo, for comparison with the Bradley–Terry fit.
//!
//! Battles are replayed in the order given (sort by `tstamp` first for the usual chronological
//! Elo). Each model starts at `init`; after a battle with expected score
//! `E_a = 1 / (1 + base^((R_b − R_a) / scale))` and actual score `S_a` (1 win, ½ tie, 0 loss),
//! `R_a += K·(S_a − E_a)` and `R_b −= K·(S_a − E_a)` — FastChat's `compute_elo` with K = 4.
//! Unlike the BT fit, the result depends on the order of the battles and weights recent ones
//! more; a small K makes it a slow running estimate.

use std::collections::HashMap;

use crate::battle::Battle;
use crate::bt::Scores;

/// Online Elo over the battles in order; battles marked `excluded` and self-battles are skipped.
/// Models appear in order of first appearance.
pub fn online_elo(battles: &[Battle], k: f64, scale: f64, base: f64, init: f64) -> Scores {
    online_elo_iter(battles, k, scale, base, init)
}

/// [`online_elo`] over any sequence of battle references (e.g. a sorted view).
pub fn online_elo_iter<'a>(
    battles: impl IntoIterator<Item = &'a Battle>,
    k: f64,
    scale: f64,
    base: f64,
    init: f64,
) -> Scores {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut models: Vec<String> = Vec::new();
    let mut ratings: Vec<f64> = Vec::new();
    for b in battles {
        if b.excluded || b.model_a == b.model_b {
            continue;
        }
        let mut ids = [0; 2];
        for (id, name) in ids.iter_mut().zip([&b.model_a, &b.model_b]) {
            *id = *index.entry(name.as_str()).or_insert_with(|| {
                models.push(name.clone());
                ratings.push(init);
                models.len() - 1
            });
        }
        let [ia, ib] = ids;
        let expected_a = 1.0 / (1.0 + base.powf((ratings[ib] - ratings[ia]) / scale));
        let update = k * (b.winner.score_a() - expected_a);
        ratings[ia] += update;
        ratings[ib] -= update;
    }
    Scores {
        models,
        scores: ratings,
    }
}
