//! Battles in progress, held in memory and bounded: at most `max_battles` at once, each at
//! most `max_turns` turns and `max_battle_bytes` of conversation; a battle idle for longer than
//! `idle` is forgotten (its votes, if any, are in the store already).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use assay_core::Message;

/// Where a battle stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Accepting turns and, once a turn is complete, a vote.
    Open,
    /// A vote is being written.
    Voting,
    /// Voted: names revealed, nothing more accepted.
    Voted,
    /// An answer failed; the battle cannot be voted on.
    Failed,
}

#[derive(Debug, Clone)]
pub struct Battle {
    pub id: String,
    /// The voter id of the browser that started it: only it may continue or vote.
    pub owner: String,
    /// Indices of model A and model B in the arena's model list.
    pub models: [usize; 2],
    /// RFC 3339.
    pub started_at: String,
    pub last_active: Instant,
    pub conversations: [Vec<Message>; 2],
    /// Completion tokens of each side over all turns (estimated where a model reports none).
    pub tokens: [u64; 2],
    pub finish_reasons: [Vec<String>; 2],
    /// Completed turns.
    pub turns: u32,
    /// A turn is being generated.
    pub busy: bool,
    pub status: Status,
    /// The first identity leak found in an answer: side (0 = A) and the name.
    pub leak: Option<(usize, String)>,
    /// Language of the first prompt.
    pub language: String,
}

impl Battle {
    pub fn bytes(&self) -> usize {
        self.conversations
            .iter()
            .flatten()
            .map(|m| m.content.len())
            .sum()
    }
}

/// Why a battle could not be created.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    /// Every slot holds a battle that is generating.
    AllBusy,
}

#[derive(Debug)]
pub struct Battles {
    map: HashMap<String, Battle>,
    max: usize,
    idle: Duration,
}

impl Battles {
    pub fn new(max: usize, idle: Duration) -> Battles {
        Battles {
            map: HashMap::new(),
            max: max.max(1),
            idle,
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// The battle `id`, unless it expired (then it is dropped).
    pub fn get_mut(&mut self, id: &str, now: Instant) -> Option<&mut Battle> {
        let expired = self
            .map
            .get(id)
            .is_some_and(|b| !b.busy && now.duration_since(b.last_active) > self.idle);
        if expired {
            self.map.remove(id);
            return None;
        }
        self.map.get_mut(id)
    }

    /// Adds a battle, first dropping expired ones and, when still full, the one idle longest.
    pub fn insert(&mut self, battle: Battle, now: Instant) -> Result<(), Full> {
        if self.map.len() >= self.max {
            let idle = self.idle;
            self.map
                .retain(|_, b| b.busy || now.duration_since(b.last_active) <= idle);
        }
        if self.map.len() >= self.max {
            let oldest = self
                .map
                .values()
                .filter(|b| !b.busy)
                .min_by_key(|b| b.last_active)
                .map(|b| b.id.clone());
            match oldest {
                Some(id) => {
                    self.map.remove(&id);
                }
                None => return Err(Full::AllBusy),
            }
        }
        self.map.insert(battle.id.clone(), battle);
        Ok(())
    }

    pub fn remove(&mut self, id: &str) -> Option<Battle> {
        self.map.remove(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn battle(id: &str, at: Instant) -> Battle {
        Battle {
            id: id.into(),
            owner: "v".into(),
            models: [0, 1],
            started_at: "2024-01-01T00:00:00.000Z".into(),
            last_active: at,
            conversations: [Vec::new(), Vec::new()],
            tokens: [0, 0],
            finish_reasons: [Vec::new(), Vec::new()],
            turns: 0,
            busy: false,
            status: Status::Open,
            leak: None,
            language: "English".into(),
        }
    }

    #[test]
    fn bounded_and_expiring() {
        let t0 = Instant::now();
        let mut b = Battles::new(2, Duration::from_secs(60));
        b.insert(battle("1", t0), t0).unwrap();
        b.insert(battle("2", t0 + Duration::from_secs(1)), t0)
            .unwrap();
        // Full: the longest idle goes.
        b.insert(
            battle("3", t0 + Duration::from_secs(2)),
            t0 + Duration::from_secs(2),
        )
        .unwrap();
        assert_eq!(b.len(), 2);
        assert!(b.get_mut("1", t0 + Duration::from_secs(2)).is_none());
        assert!(b.get_mut("2", t0 + Duration::from_secs(2)).is_some());
        // Idle past the limit: gone.
        assert!(b.get_mut("3", t0 + Duration::from_secs(63)).is_none());
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn busy_battles_are_not_evicted() {
        let t0 = Instant::now();
        let mut b = Battles::new(1, Duration::from_secs(60));
        let mut busy = battle("1", t0);
        busy.busy = true;
        b.insert(busy, t0).unwrap();
        assert_eq!(
            b.insert(battle("2", t0), t0 + Duration::from_secs(600)),
            Err(Full::AllBusy)
        );
        assert!(b.get_mut("1", t0 + Duration::from_secs(600)).is_some());
    }
}
