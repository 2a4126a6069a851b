//! The daily vote cap per network address, next to the one per voter cookie: a voter id is a
//! cookie the client keeps, so a client that sends a fresh one with every vote would never
//! reach the per-voter cap. Addresses are counted by their salted hash (an IPv6 address by its
//! /64), in memory: the counts are this process's, and start again when it restarts.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Prune expired counts after this many votes, so the map holds about one window of votes.
const PRUNE_EVERY: usize = 1024;

#[derive(Debug)]
pub struct AddressVotes {
    /// The times of the votes of each address in the window, oldest first.
    by_address: HashMap<String, VecDeque<Instant>>,
    window: Duration,
    since_prune: usize,
}

impl AddressVotes {
    pub fn new(window: Duration) -> AddressVotes {
        AddressVotes {
            by_address: HashMap::new(),
            window,
            since_prune: 0,
        }
    }

    /// Counts a vote from `address` at `now`, unless it has cast `cap` votes in the window
    /// already: then nothing is counted and the answer is that number.
    pub fn reserve(&mut self, address: &str, now: Instant, cap: u64) -> Result<(), u64> {
        self.since_prune += 1;
        if self.since_prune >= PRUNE_EVERY {
            self.since_prune = 0;
            let window = self.window;
            self.by_address.retain(|_, times| {
                times.retain(|t| now.saturating_duration_since(*t) < window);
                !times.is_empty()
            });
        }
        let times = self.by_address.entry(address.to_string()).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        let count = times.len() as u64;
        if count >= cap {
            if times.is_empty() {
                self.by_address.remove(address);
            }
            return Err(count);
        }
        times.push_back(now);
        Ok(())
    }

    /// Takes back the newest vote counted for `address` (it was not recorded after all).
    pub fn release(&mut self, address: &str) {
        if let Some(times) = self.by_address.get_mut(address) {
            times.pop_back();
            if times.is_empty() {
                self.by_address.remove(address);
            }
        }
    }

    #[cfg(test)]
    pub fn addresses(&self) -> usize {
        self.by_address.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_each_address_over_a_sliding_window() {
        let t0 = Instant::now();
        let hour = Duration::from_secs(3600);
        let mut votes = AddressVotes::new(24 * hour);
        for i in 0..3 {
            assert_eq!(votes.reserve("a", t0 + i * hour, 3), Ok(()));
        }
        assert_eq!(votes.reserve("a", t0 + 3 * hour, 3), Err(3));
        assert_eq!(votes.reserve("b", t0 + 3 * hour, 3), Ok(()));
        // A vote that was not recorded does not count.
        votes.release("b");
        assert_eq!(votes.addresses(), 1);
        // The first vote leaves the window after 24 hours: one more fits.
        assert_eq!(votes.reserve("a", t0 + 24 * hour, 3), Ok(()));
        assert_eq!(votes.reserve("a", t0 + 24 * hour, 3), Err(3));
        assert_eq!(votes.reserve("a", t0 + 49 * hour, 0), Err(0));
    }

    #[test]
    fn old_addresses_are_forgotten() {
        let t0 = Instant::now();
        let mut votes = AddressVotes::new(Duration::from_secs(60));
        for i in 1..PRUNE_EVERY {
            votes.reserve(&i.to_string(), t0, 1).unwrap();
        }
        assert_eq!(votes.addresses(), PRUNE_EVERY - 1);
        let later = t0 + Duration::from_secs(61);
        votes.reserve("late", later, 1).unwrap();
        assert_eq!(votes.addresses(), 1);
        assert_eq!(votes.reserve("late", later, 1), Err(1));
    }
}
