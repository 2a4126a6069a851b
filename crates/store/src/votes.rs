//! Arena votes: one per battle, read back in time order.

use crate::db::params;
use crate::{Store, StoreError, VoteRecord, VOTE_WINNERS};

/// The columns of `votes`, in the order [`VoteColumns`] holds them.
const VOTE_COLUMNS: &str = "battle_id, created_at, battle_started_at, model_a, model_b, \
     winner, conversation_a, conversation_b, language, voter_id, ip_hash, identity_leak, \
     turns, metadata";

/// A row selected with [`VOTE_COLUMNS`], before its JSON and integers are converted.
type VoteColumns = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
);

impl Store {
    /// Stores a vote, unless its battle already has one: then nothing is written and the
    /// answer is `Ok(false)`. The database enforces one vote per battle (`battle_id` is
    /// unique), so this holds across any number of instances sharing it. The timestamps are
    /// normalised as [`VoteRecord`] says; a timestamp that is not RFC 3339, an empty battle
    /// id or a winner not in [`VOTE_WINNERS`] is refused with [`StoreError::InvalidValue`].
    pub fn record_vote(&self, vote: &VoteRecord) -> Result<bool, StoreError> {
        let battle = vote.battle_id.as_str();
        if battle.is_empty() {
            return Err(self.invalid("a vote".to_string(), "its battle id is empty".to_string()));
        }
        if !VOTE_WINNERS.contains(&vote.winner.as_str()) {
            return Err(self.invalid(
                format!("the vote on battle {battle:?}"),
                format!(
                    "its winner {:?} is not one of {}",
                    vote.winner,
                    VOTE_WINNERS.map(|w| format!("{w:?}")).join(", ")
                ),
            ));
        }
        let what =
            |name: &'static str| move || format!("the {name} of the vote on battle {battle:?}");
        let created_at = self.timestamp(&vote.created_at, what("created_at"))?;
        let started_at = self.timestamp(&vote.battle_started_at, what("battle_started_at"))?;
        let conversation_a = self.encode(&vote.conversation_a, what("conversation_a"))?;
        let conversation_b = self.encode(&vote.conversation_b, what("conversation_b"))?;
        let metadata = self.encode(&vote.metadata, what("metadata"))?;
        let inserted = self
            .session()
            .execute(
                &format!(
                    "INSERT INTO votes ({VOTE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
                     ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT (battle_id) DO NOTHING"
                ),
                params![
                    battle,
                    created_at,
                    started_at,
                    &vote.model_a,
                    &vote.model_b,
                    &vote.winner,
                    conversation_a,
                    conversation_b,
                    &vote.language,
                    &vote.voter_id,
                    &vote.ip_hash,
                    vote.identity_leak,
                    i64::from(vote.turns),
                    metadata,
                ],
            )
            .map_err(self.db_err(|| format!("cannot record the vote on battle {battle:?}")))?;
        Ok(inserted == 1)
    }

    /// Every vote, ordered by `created_at`, then battle id.
    pub fn votes(&self) -> Result<Vec<VoteRecord>, StoreError> {
        let raws: Vec<VoteColumns> = self.read_rows(
            &format!("SELECT {VOTE_COLUMNS} FROM votes"),
            params![],
            || "cannot read the votes".to_string(),
            "votes",
        )?;
        let mut votes = raws
            .into_iter()
            .map(|raw| self.vote(raw))
            .collect::<Result<Vec<_>, _>>()?;
        votes.sort_by(|a, b| (&a.created_at, &a.battle_id).cmp(&(&b.created_at, &b.battle_id)));
        Ok(votes)
    }

    /// How many votes `voter_id` cast at or after `since` (RFC 3339, any offset; normalised as
    /// [`VoteRecord`] says, so compared at millisecond precision).
    pub fn votes_by_voter_since(&self, voter_id: &str, since: &str) -> Result<u64, StoreError> {
        let since = self.timestamp(since, || {
            format!("the start time of a count of {voter_id:?}'s votes")
        })?;
        let counts: Vec<(i64,)> = self.read_rows(
            "SELECT COUNT(*) FROM votes WHERE voter_id = ?1 AND created_at >= ?2",
            params![voter_id, &since],
            || format!("cannot count the votes of {voter_id:?}"),
            "votes",
        )?;
        let count = counts.first().map_or(0, |&(count,)| count);
        self.read_int(count, || format!("the count of {voter_id:?}'s votes"))
    }

    fn vote(&self, raw: VoteColumns) -> Result<VoteRecord, StoreError> {
        let (
            battle_id,
            created_at,
            battle_started_at,
            model_a,
            model_b,
            winner,
            conversation_a,
            conversation_b,
            language,
            voter_id,
            ip_hash,
            identity_leak,
            turns,
            metadata,
        ) = raw;
        let what = |column: &'static str| {
            let battle = &battle_id;
            move || format!("{column} of the vote on battle {battle:?}")
        };
        Ok(VoteRecord {
            conversation_a: self.decode(&conversation_a, what("conversation_a"))?,
            conversation_b: self.decode(&conversation_b, what("conversation_b"))?,
            metadata: self.decode(&metadata, what("metadata"))?,
            turns: self.read_int(turns, what("turns"))?,
            identity_leak: identity_leak != 0,
            battle_id,
            created_at,
            battle_started_at,
            model_a,
            model_b,
            winner,
            language,
            voter_id,
            ip_hash,
        })
    }
}
