//! Battles in progress, held in memory and bounded: at most `max_battles` at once, each at
//! most `max_turns` turns and `max_battle_bytes` of conversation; a battle idle for longer than
//! `idle` is forgotten (its votes, if any, are in the store already).
//!
//! The state machine of a battle lives here, apart from HTTP: a turn starts
//! ([`Battle::can_take_turn`], [`Battle::start_turn`]), ends ([`Battles::finish_turn`]: kept,
//! failed, or undone when the browser left), and a vote claims the battle
//! ([`Battle::claim_for_vote`]). The handlers only word the refusals for the client.

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

/// Why a battle refuses a turn or a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A turn is being generated.
    Busy,
    /// Voted on (or a vote is being written).
    Voted,
    /// A model failed in it.
    Failed,
    /// At its turn or size limit.
    Full,
    /// No turn has completed: nothing to vote on.
    NoAnswers,
}

/// One side's answer at the end of a turn.
pub struct TurnAnswer<'a> {
    pub text: &'a str,
    /// The finish reason; `None` if the answer did not finish.
    pub finish: Option<&'a str>,
    /// Completion tokens the model reported (estimated when it reported none).
    pub tokens: Option<u64>,
    pub failed: bool,
}

/// How long a battle may grow.
#[derive(Debug, Clone, Copy)]
pub struct TurnLimits {
    pub max_turns: u32,
    /// Text of both sides over all turns.
    pub max_bytes: usize,
}

/// What the browser is told when a turn ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnEnd {
    pub can_vote: bool,
    pub can_continue: bool,
    /// The turn's number (1-based).
    pub turn: u32,
}

impl Battle {
    pub fn bytes(&self) -> usize {
        self.conversations
            .iter()
            .flatten()
            .map(|m| m.content.len())
            .sum()
    }

    /// Whether another turn with a prompt of `prompt_bytes` may start.
    pub fn can_take_turn(&self, prompt_bytes: usize, limits: TurnLimits) -> Result<(), Refusal> {
        if self.busy {
            return Err(Refusal::Busy);
        }
        match self.status {
            Status::Open => {}
            Status::Voting | Status::Voted => return Err(Refusal::Voted),
            Status::Failed => return Err(Refusal::Failed),
        }
        if self.turns >= limits.max_turns || self.bytes() + 2 * prompt_bytes > limits.max_bytes {
            return Err(Refusal::Full);
        }
        Ok(())
    }

    /// Starts a turn: both sides get the prompt, and the battle is busy until it ends.
    pub fn start_turn(&mut self, prompt: &str, now: Instant) {
        self.busy = true;
        self.last_active = now;
        for conversation in &mut self.conversations {
            conversation.push(Message::user(prompt.to_string()));
        }
    }

    /// Claims the battle for a vote, so that a second vote at the same moment is refused.
    pub fn claim_for_vote(&mut self, now: Instant) -> Result<(), Refusal> {
        match self.status {
            Status::Open => {}
            Status::Voting | Status::Voted => return Err(Refusal::Voted),
            Status::Failed => return Err(Refusal::Failed),
        }
        if self.busy {
            return Err(Refusal::Busy);
        }
        if self.turns == 0 {
            return Err(Refusal::NoAnswers);
        }
        self.status = Status::Voting;
        self.last_active = now;
        Ok(())
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

    /// Ends the turn of battle `id` with the two answers and the model or vendor each names
    /// (`leaks`). A complete turn is kept; a failed one fails the battle; when the browser has
    /// `gone` before the turn completed, the turn is undone (and a new battle forgotten). Returns
    /// what to tell the browser, unless it is gone or the battle is.
    pub fn finish_turn(
        &mut self,
        id: &str,
        answers: [TurnAnswer<'_>; 2],
        leaks: [Option<String>; 2],
        gone: bool,
        now: Instant,
        limits: TurnLimits,
    ) -> Option<TurnEnd> {
        let battle = self.get_mut(id, now)?;
        battle.busy = false;
        battle.last_active = now;
        let complete = answers.iter().all(|a| a.finish.is_some() && !a.failed);
        if gone && !complete {
            // Undo the turn: the prompt goes, the battle stays as it was (or goes, if new).
            for conversation in &mut battle.conversations {
                conversation.pop();
            }
            if battle.turns == 0 {
                self.remove(id);
            }
            return None;
        }
        if !complete {
            battle.status = Status::Failed;
            return Some(TurnEnd {
                can_vote: false,
                can_continue: false,
                turn: battle.turns + 1,
            });
        }
        for (i, (answer, leak)) in answers.iter().zip(leaks).enumerate() {
            battle.conversations[i].push(Message::assistant(answer.text.to_string()));
            battle.tokens[i] += answer
                .tokens
                .unwrap_or_else(|| assay_core::estimate_tokens(answer.text));
            battle.finish_reasons[i].push(answer.finish.unwrap_or_default().to_string());
            if battle.leak.is_none() {
                battle.leak = leak.map(|name| (i, name));
            }
        }
        battle.turns += 1;
        Some(TurnEnd {
            can_vote: true,
            can_continue: battle.turns < limits.max_turns && battle.bytes() < limits.max_bytes,
            turn: battle.turns,
        })
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

    fn lim(max_turns: u32) -> TurnLimits {
        TurnLimits {
            max_turns,
            max_bytes: 1000,
        }
    }

    fn answer(text: &str) -> TurnAnswer<'_> {
        TurnAnswer {
            text,
            finish: Some("stop"),
            tokens: None,
            failed: false,
        }
    }

    #[test]
    fn a_battle_through_turns_and_a_vote() {
        let t0 = Instant::now();
        let mut b = Battles::new(4, Duration::from_secs(60));
        b.insert(battle("1", t0), t0).unwrap();
        let one = b.get_mut("1", t0).unwrap();
        assert_eq!(one.claim_for_vote(t0), Err(Refusal::NoAnswers));
        assert_eq!(one.can_take_turn(10, lim(2)), Ok(()));
        one.start_turn("hi", t0);
        assert_eq!(one.can_take_turn(10, lim(2)), Err(Refusal::Busy));
        assert_eq!(one.claim_for_vote(t0), Err(Refusal::Busy));
        let end = b.finish_turn(
            "1",
            [answer("a1"), answer("你好")],
            [None, Some("GPT".into())],
            false,
            t0,
            lim(2),
        );
        assert_eq!(
            end,
            Some(TurnEnd {
                can_vote: true,
                can_continue: true,
                turn: 1
            })
        );
        let one = b.get_mut("1", t0).unwrap();
        assert_eq!(one.conversations[1].len(), 2);
        assert_eq!(one.tokens, [1, 2]);
        assert_eq!(one.leak, Some((1, "GPT".to_string())));
        one.start_turn("more", t0);
        let end = b.finish_turn(
            "1",
            [answer("a2"), answer("b2")],
            [None, None],
            false,
            t0,
            lim(2),
        );
        // The second of two turns: vote, no more turns.
        assert_eq!(end.map(|e| (e.can_continue, e.turn)), Some((false, 2)));
        let one = b.get_mut("1", t0).unwrap();
        assert_eq!(one.can_take_turn(1, lim(2)), Err(Refusal::Full));
        assert_eq!(one.claim_for_vote(t0), Ok(()));
        assert_eq!(one.status, Status::Voting);
        assert_eq!(one.claim_for_vote(t0), Err(Refusal::Voted));
        assert_eq!(one.can_take_turn(1, lim(9)), Err(Refusal::Voted));
    }

    #[test]
    fn failed_and_abandoned_turns() {
        let t0 = Instant::now();
        let mut b = Battles::new(4, Duration::from_secs(60));
        // A side failed: the battle cannot be voted on or continued.
        b.insert(battle("f", t0), t0).unwrap();
        b.get_mut("f", t0).unwrap().start_turn("hi", t0);
        let failed = TurnAnswer {
            failed: true,
            finish: None,
            ..answer("")
        };
        let end = b.finish_turn("f", [answer("ok"), failed], [None, None], false, t0, lim(8));
        assert_eq!(
            end,
            Some(TurnEnd {
                can_vote: false,
                can_continue: false,
                turn: 1
            })
        );
        let f = b.get_mut("f", t0).unwrap();
        assert_eq!(f.status, Status::Failed);
        assert_eq!(f.claim_for_vote(t0), Err(Refusal::Failed));
        // The browser left during the first turn: the battle is forgotten.
        b.insert(battle("g", t0), t0).unwrap();
        b.get_mut("g", t0).unwrap().start_turn("hi", t0);
        let unfinished = TurnAnswer {
            finish: None,
            ..answer("par")
        };
        assert_eq!(
            b.finish_turn(
                "g",
                [answer("ok"), unfinished],
                [None, None],
                true,
                t0,
                lim(8)
            ),
            None
        );
        assert!(b.get_mut("g", t0).is_none());
    }
}
