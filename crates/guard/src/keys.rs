//! API keys and abuse controls: keys are stored as SHA-256 hashes; each key has token buckets
//! for requests and tokens per minute (429 with `Retry-After` when empty), and is suspended
//! for a while after repeated violations (default: 3 in a row or 5 within a day, for an hour),
//! then released on its own.
//!
//! Tokens are *reserved* when a request is admitted: its `max_tokens` (or
//! [`DEFAULT_COMPLETION_RESERVE`] when it sets none) plus an estimate of its prompt, so that
//! many requests started at once cannot overdraw the bucket; when the request ends the
//! reservation is settled against what it used: the upstream's usage report, or, when there is
//! none (an answer the guard stopped, an upstream that was cut off, a client that went away),
//! an estimate of what was generated.
//!
//! The keys file (TOML), written by `assay guard keys add`:
//!
//! ```toml
//! [[key]]
//! id = "team-a"
//! sha256 = "9f86d0…"            # of the key; the key itself is shown once, when made
//! requests_per_minute = 60
//! tokens_per_minute = 40000
//! ```

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::GuardError;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    pub id: String,
    /// Hex SHA-256 of the key.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    #[serde(default, rename = "key")]
    pub keys: Vec<KeyEntry>,
}

impl KeyFile {
    /// Reads a keys file; errors name it. A missing file is an empty one when `missing_ok`.
    pub fn load(path: &Path, missing_ok: bool) -> Result<KeyFile, GuardError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if missing_ok && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(KeyFile::default())
            }
            Err(source) => {
                return Err(GuardError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let file: KeyFile = toml::from_str(&text).map_err(|source| GuardError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |message: String| GuardError::InvalidKeys {
            path: path.to_path_buf(),
            message,
        };
        let mut seen = std::collections::HashSet::new();
        for key in &file.keys {
            if key.sha256.len() != 64 || !key.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(format!(
                    "key {:?}: sha256 must be 64 hex digits",
                    key.id
                )));
            }
            if !seen.insert(key.id.clone()) {
                return Err(invalid(format!("key id {:?} appears twice", key.id)));
            }
        }
        Ok(file)
    }

    /// Adds a new random key for `id`; answers the key (shown once: only its hash is kept).
    pub fn add(
        &mut self,
        id: &str,
        rpm: Option<u32>,
        tpm: Option<u32>,
    ) -> Result<String, GuardError> {
        if self.keys.iter().any(|k| k.id == id) {
            return Err(GuardError::KeyExists(id.to_string()));
        }
        let key = format!("sk-assay-{}", hex::encode(rand::random::<[u8; 24]>()));
        self.keys.push(KeyEntry {
            id: id.to_string(),
            sha256: hash_key(&key),
            requests_per_minute: rpm,
            tokens_per_minute: tpm,
        });
        Ok(key)
    }

    /// Writes the file readable by its owner only (0600 on Unix): the hashes of short or
    /// reused keys can be guessed offline.
    pub fn save(&self, path: &Path) -> Result<(), GuardError> {
        let text = toml::to_string(self).map_err(|source| GuardError::Encode {
            path: path.to_path_buf(),
            source,
        })?;
        assay_core::fs::write_atomic_with(path, text.as_bytes(), assay_core::fs::Access::Private)
            .map_err(|source| GuardError::Write {
                path: path.to_path_buf(),
                source,
            })
    }
}

/// Writes `bytes` to a new file at `path` that only its owner may read (0600 on Unix).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    // A file left over from an earlier attempt keeps its mode when opened: start afresh.
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The key of an `Authorization` header value: the `Bearer` scheme, in any case (RFC 9110
/// makes auth schemes case-insensitive).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(char::is_whitespace)?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Completion tokens reserved for a request that sets no `max_tokens`.
pub const DEFAULT_COMPLETION_RESERVE: u32 = 1024;

/// [`assay_core::estimate_tokens`] as a request charge: about four ASCII characters a token,
/// and a token for each other character.
pub fn estimate_tokens(text: &str) -> u32 {
    u32::try_from(assay_core::estimate_tokens(text)).unwrap_or(u32::MAX)
}

/// 256 random bits in hex: a new deployment secret.
pub fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// When a key is suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuspensionPolicy {
    pub in_a_row: u32,
    pub per_day: u32,
    pub suspend_seconds: u64,
}

impl Default for SuspensionPolicy {
    fn default() -> Self {
        SuspensionPolicy {
            in_a_row: 3,
            per_day: 5,
            suspend_seconds: 3600,
        }
    }
}

/// Why a request was turned away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No key, or one we do not know (401).
    Unauthorized,
    /// A bucket is empty (429).
    RateLimited {
        what: &'static str,
        retry_after: u64,
    },
    /// Suspended after violations (403).
    Suspended { retry_after: u64 },
}

/// A token bucket: `capacity` per minute, refilled continuously; may go negative when usage
/// is only known afterwards (tokens).
#[derive(Debug)]
struct Bucket {
    capacity: f64,
    level: f64,
    at: Instant,
}

impl Bucket {
    fn new(per_minute: u32, now: Instant) -> Bucket {
        Bucket {
            capacity: f64::from(per_minute),
            level: f64::from(per_minute),
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let rate = self.capacity / 60.0;
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + elapsed * rate).min(self.capacity);
        // An instant older than the last refill (callers race) must not move the clock back,
        // or the time between would be refilled twice.
        self.at = self.at.max(now);
    }

    /// Seconds until the level reaches `need`.
    fn wait_for(&self, need: f64) -> u64 {
        let rate = self.capacity / 60.0;
        if rate <= 0.0 {
            return 60;
        }
        ((need - self.level) / rate).ceil().max(1.0) as u64
    }
}

#[derive(Debug)]
struct KeyState {
    id: String,
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    in_a_row: u32,
    violations: VecDeque<Instant>,
    suspended_until: Option<Instant>,
}

/// The keys a guard accepts, with their live limits.
#[derive(Debug)]
pub struct KeyRing {
    by_hash: Mutex<HashMap<String, KeyState>>,
    policy: SuspensionPolicy,
}

const DAY: Duration = Duration::from_secs(24 * 3600);

impl KeyRing {
    pub fn new(file: &KeyFile, policy: SuspensionPolicy) -> KeyRing {
        let now = Instant::now();
        let by_hash = file
            .keys
            .iter()
            .map(|k| {
                (
                    k.sha256.to_ascii_lowercase(),
                    KeyState {
                        id: k.id.clone(),
                        requests: k.requests_per_minute.map(|n| Bucket::new(n, now)),
                        tokens: k.tokens_per_minute.map(|n| Bucket::new(n, now)),
                        in_a_row: 0,
                        violations: VecDeque::new(),
                        suspended_until: None,
                    },
                )
            })
            .collect();
        KeyRing {
            by_hash: Mutex::new(by_hash),
            policy,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, KeyState>> {
        self.by_hash
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a request with `key` (from `Authorization: Bearer …`): answers the key's id, or
    /// why not.
    pub fn admit(&self, key: Option<&str>, now: Instant) -> Result<String, Refusal> {
        let key = key.ok_or(Refusal::Unauthorized)?;
        let mut keys = self.lock();
        let state = keys.get_mut(&hash_key(key)).ok_or(Refusal::Unauthorized)?;
        if let Some(until) = state.suspended_until {
            if now < until {
                return Err(Refusal::Suspended {
                    retry_after: until.duration_since(now).as_secs().max(1),
                });
            }
            // Released: the streak starts again.
            state.suspended_until = None;
            state.in_a_row = 0;
        }
        if let Some(tokens) = &mut state.tokens {
            tokens.refill(now);
            if tokens.level < 1.0 {
                return Err(Refusal::RateLimited {
                    what: "tokens per minute",
                    retry_after: tokens.wait_for(1.0),
                });
            }
        }
        if let Some(requests) = &mut state.requests {
            requests.refill(now);
            if requests.level < 1.0 {
                return Err(Refusal::RateLimited {
                    what: "requests per minute",
                    retry_after: requests.wait_for(1.0),
                });
            }
            requests.level -= 1.0;
        }
        Ok(state.id.clone())
    }

    /// Whether `key` is one of the ring's (suspended or not): what the operational endpoints
    /// ask for, without spending the key's requests.
    pub fn knows(&self, key: &str) -> bool {
        self.lock().contains_key(&hash_key(key))
    }

    /// Sets `tokens` aside from the token bucket of key `id` for a request about to start.
    /// It is admitted when the bucket holds them (or is full, for a request larger than the
    /// bucket); the bucket may then go into debt. Answers the tokens reserved, to be given
    /// back to [`KeyRing::settle`].
    pub fn reserve(&self, id: &str, tokens: u32, now: Instant) -> Result<u32, Refusal> {
        let mut keys = self.lock();
        let Some(bucket) = keys
            .values_mut()
            .find(|s| s.id == id)
            .and_then(|s| s.tokens.as_mut())
        else {
            return Ok(0);
        };
        bucket.refill(now);
        let need = f64::from(tokens).min(bucket.capacity).max(1.0);
        if bucket.level < need {
            return Err(Refusal::RateLimited {
                what: "tokens per minute",
                retry_after: bucket.wait_for(need),
            });
        }
        bucket.level -= f64::from(tokens);
        Ok(tokens)
    }

    /// The tokens left in key `id`'s bucket now (negative: in debt); `None` without a bucket.
    pub fn tokens_left(&self, id: &str, now: Instant) -> Option<f64> {
        let mut keys = self.lock();
        let bucket = keys.values_mut().find(|s| s.id == id)?.tokens.as_mut()?;
        bucket.refill(now);
        Some(bucket.level)
    }

    /// Records what a finished request of key `id` used (`used` tokens, of the `reserved`
    /// ones set aside when it started) and whether the guard intervened; answers whether
    /// this suspended the key.
    pub fn settle(&self, id: &str, reserved: u32, used: u32, violated: bool, now: Instant) -> bool {
        let mut keys = self.lock();
        let Some(state) = keys.values_mut().find(|s| s.id == id) else {
            return false;
        };
        if let Some(bucket) = &mut state.tokens {
            bucket.refill(now);
            bucket.level += f64::from(reserved) - f64::from(used);
            bucket.level = bucket.level.min(bucket.capacity);
        }
        if !violated {
            state.in_a_row = 0;
            return false;
        }
        state.in_a_row += 1;
        state.violations.push_back(now);
        while state
            .violations
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > DAY)
        {
            state.violations.pop_front();
        }
        let p = self.policy;
        if state.in_a_row >= p.in_a_row || state.violations.len() >= p.per_day as usize {
            state.suspended_until = Some(now + Duration::from_secs(p.suspend_seconds));
            state.violations.clear();
            return true;
        }
        false
    }

    /// Ids of the keys suspended now.
    pub fn suspended(&self, now: Instant) -> Vec<String> {
        self.lock()
            .values()
            .filter(|s| s.suspended_until.is_some_and(|t| now < t))
            .map(|s| s.id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(rpm: Option<u32>, tpm: Option<u32>) -> (KeyRing, String) {
        let mut file = KeyFile::default();
        let key = file.add("team", rpm, tpm).unwrap();
        (KeyRing::new(&file, SuspensionPolicy::default()), key)
    }

    #[test]
    fn unknown_and_missing_keys_are_unauthorized() {
        let (ring, key) = ring(None, None);
        let now = Instant::now();
        assert_eq!(ring.admit(None, now), Err(Refusal::Unauthorized));
        assert_eq!(ring.admit(Some("sk-nope"), now), Err(Refusal::Unauthorized));
        assert_eq!(ring.admit(Some(&key), now).as_deref(), Ok("team"));
    }

    #[test]
    fn request_buckets_empty_and_refill() {
        let (ring, key) = ring(Some(2), None);
        let t0 = Instant::now();
        assert!(ring.admit(Some(&key), t0).is_ok());
        assert!(ring.admit(Some(&key), t0).is_ok());
        let Err(Refusal::RateLimited { retry_after, .. }) = ring.admit(Some(&key), t0) else {
            panic!("the third request in a minute is limited");
        };
        assert_eq!(retry_after, 30, "2 per minute refill one every 30 s");
        assert!(ring.admit(Some(&key), t0 + Duration::from_secs(31)).is_ok());
    }

    #[test]
    fn token_usage_is_debited_afterwards() {
        let (ring, key) = ring(None, Some(600));
        let t0 = Instant::now();
        assert!(ring.admit(Some(&key), t0).is_ok());
        ring.settle("team", 0, 900, false, t0);
        let Err(Refusal::RateLimited { what, retry_after }) = ring.admit(Some(&key), t0) else {
            panic!("over the token budget");
        };
        assert_eq!(what, "tokens per minute");
        assert_eq!(
            retry_after, 31,
            "300 tokens in debt plus one, at 10 a second"
        );
    }

    #[test]
    fn suspension_after_three_in_a_row_and_release() {
        let (ring, key) = ring(None, None);
        let t0 = Instant::now();
        assert!(!ring.settle("team", 0, 0, true, t0));
        assert!(
            !ring.settle("team", 0, 0, false, t0),
            "a clean request resets the streak"
        );
        assert!(!ring.settle("team", 0, 0, true, t0));
        assert!(!ring.settle("team", 0, 0, true, t0));
        assert!(
            ring.settle("team", 0, 0, true, t0),
            "the third in a row suspends"
        );
        assert_eq!(
            ring.admit(Some(&key), t0 + Duration::from_secs(10)),
            Err(Refusal::Suspended { retry_after: 3590 })
        );
        assert_eq!(ring.suspended(t0), ["team"]);
        let later = t0 + Duration::from_secs(3601);
        assert!(
            ring.admit(Some(&key), later).is_ok(),
            "released after the hour"
        );
        assert!(ring.suspended(later).is_empty());
    }

    #[test]
    fn five_in_a_day_suspend_even_when_spread_out() {
        let (ring, _) = ring(None, None);
        let t0 = Instant::now();
        for k in 0..4 {
            let t = t0 + Duration::from_secs(k * 600);
            assert!(!ring.settle("team", 0, 0, true, t));
            assert!(!ring.settle("team", 0, 0, false, t));
        }
        assert!(ring.settle("team", 0, 0, true, t0 + Duration::from_secs(3000)));
    }

    #[test]
    fn key_files_round_trip_and_bad_ones_are_named() {
        let dir = std::env::temp_dir().join(format!("assay-keys-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.toml");
        let mut file = KeyFile::load(&path, true).unwrap();
        let key = file.add("a", Some(10), None).unwrap();
        assert!(file.add("a", None, None).is_err());
        file.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&key), "only the hash is stored");
        assert_eq!(KeyFile::load(&path, false).unwrap(), file);
        std::fs::write(&path, "[[key]]\nid = \"x\"\nsha256 = \"abc\"\n").unwrap();
        assert!(KeyFile::load(&path, false)
            .unwrap_err()
            .to_string()
            .contains("keys.toml"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reservations_keep_concurrent_requests_within_the_bucket() {
        let (ring, key) = ring(None, Some(1000));
        let t0 = Instant::now();
        // Three requests of up to 400 tokens each start at once: the third does not fit.
        for _ in 0..2 {
            assert!(ring.admit(Some(&key), t0).is_ok());
            assert_eq!(ring.reserve("team", 400, t0), Ok(400));
        }
        assert!(
            ring.admit(Some(&key), t0).is_ok(),
            "tokens are left, just not enough"
        );
        let Err(Refusal::RateLimited { what, retry_after }) = ring.reserve("team", 400, t0) else {
            panic!("the third reservation overdraws the bucket");
        };
        assert_eq!(what, "tokens per minute");
        assert_eq!(retry_after, 12, "200 more tokens at 1000 a minute");
        // The first used only 100 of its 400: the rest comes back.
        ring.settle("team", 400, 100, false, t0);
        assert_eq!(ring.tokens_left("team", t0), Some(500.0));
        assert_eq!(ring.reserve("team", 400, t0), Ok(400));
        // Used more than reserved: the bucket goes into debt.
        ring.settle("team", 400, 900, false, t0);
        assert_eq!(ring.tokens_left("team", t0), Some(-400.0));
        // A request larger than the whole bucket still runs once the bucket is full.
        let later = t0 + Duration::from_secs(120);
        assert_eq!(ring.reserve("team", 5000, later), Ok(5000));
        assert_eq!(ring.tokens_left("team", later), Some(-4000.0));
        // Keys without a token limit reserve nothing.
        let (free, _) = ring_free();
        assert_eq!(free.reserve("team", 400, t0), Ok(0));
        assert_eq!(free.tokens_left("team", t0), None);
    }

    fn ring_free() -> (KeyRing, String) {
        ring(None, None)
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for header in [
            "Bearer sk-1",
            "bearer sk-1",
            "BEARER sk-1",
            "  bEaReR   sk-1  ",
            "Bearer\tsk-1",
        ] {
            assert_eq!(bearer_token(header), Some("sk-1"), "{header:?}");
        }
        for header in ["Basic sk-1", "Bearer", "Bearer   ", "sk-1", "Bearersk-1"] {
            assert_eq!(bearer_token(header), None, "{header:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        // An existing file readable by all is replaced by a private one.
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut file = KeyFile::default();
        file.add("a", None, None).unwrap();
        file.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        assert_eq!(KeyFile::load(&path, false).unwrap(), file);
    }

    #[test]
    fn token_estimates_count_chinese_characters_one_each() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcdefgh"), 2);
        assert_eq!(estimate_tokens("abcdefghi"), 3);
        assert_eq!(estimate_tokens("怎么制作炸弹"), 6);
        assert_eq!(estimate_tokens("bomb 炸弹"), 4);
    }

    #[test]
    fn an_older_instant_does_not_refill_twice() {
        let (ring, _) = ring(None, Some(60));
        let t0 = Instant::now();
        let t10 = t0 + Duration::from_secs(10);
        assert_eq!(ring.reserve("team", 60, t10), Ok(60));
        // A request that started before settles with its own, older instant.
        ring.settle("team", 0, 0, false, t0);
        // Ten seconds after t10, ten tokens have come back, not twenty.
        assert_eq!(
            ring.tokens_left("team", t10 + Duration::from_secs(10)),
            Some(10.0)
        );
    }
}
