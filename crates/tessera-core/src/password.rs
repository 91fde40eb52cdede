//! Password policy and argon2id hashing with admission control.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::{Condvar, Mutex, PoisonError};

use rand::RngCore;
use tessera_argon2::Params;
use zxcvbn::matching::patterns::MatchPattern;

use crate::error::{AuthError, AuthResult, FieldViolation};
use crate::identity::Email;
use crate::settings::{HashSettings, PasswordPolicy};

impl PasswordPolicy {
    /// Every rule `password` breaks (empty when acceptable).
    pub fn violations(&self, password: &str, email: Option<&Email>) -> Vec<FieldViolation> {
        let mut violations = Vec::new();
        let mut add = |rule: &'static str, message: String| {
            violations.push(FieldViolation {
                field: "password",
                rule,
                message,
            })
        };
        let length = password.chars().count();
        if length < self.min_length {
            add(
                "too_short",
                format!("password must be at least {} characters", self.min_length),
            );
        }
        if length > self.max_length {
            add(
                "too_long",
                format!("password must be at most {} characters", self.max_length),
            );
        }
        if self.reject_common && length <= 64 && is_common_password(password) {
            add("common_password", "password is too common; choose another".into());
        }
        if self.reject_email_local_part {
            if let Some(email) = email {
                let local = email.local_part();
                if local.chars().count() >= 3 && password.to_lowercase().contains(local) {
                    add(
                        "contains_email",
                        "password must not contain your email address".into(),
                    );
                }
            }
        }
        // zxcvbn's estimate is only meaningful, and only affordable, up to
        // the length its matchers look at; longer passwords are not trivial.
        if self.min_strength > 0 && length <= 100 {
            let user_inputs: Vec<&str> = email.map(|e| e.local_part()).into_iter().collect();
            let score = u8::from(zxcvbn::zxcvbn(password, &user_inputs).score());
            if score < self.min_strength {
                add(
                    "too_weak",
                    format!(
                        "password is too easy to guess (strength {score} of 4, at least {} needed): \
                         avoid repeats, sequences, keyboard patterns and common words",
                        self.min_strength
                    ),
                );
            }
        }
        let classes = character_classes(password);
        if classes < self.min_character_classes {
            add(
                "character_classes",
                format!(
                    "password must mix at least {} of: lowercase, uppercase, digits, symbols",
                    self.min_character_classes
                ),
            );
        }
        violations
    }
}

fn character_classes(password: &str) -> u8 {
    let has = |pred: fn(&char) -> bool| u8::from(password.chars().any(|c| pred(&c)));
    has(|c| c.is_lowercase())
        + has(|c| c.is_uppercase())
        + has(|c| c.is_ascii_digit())
        + has(|c| !c.is_alphanumeric())
}

/// True when the whole password is one entry (possibly with l33t
/// substitutions or capitals) of zxcvbn's bundled list of 30,000 common
/// passwords. zxcvbn keeps the dictionary name's type private, so it is
/// recognised by its `Debug` name.
fn is_common_password(password: &str) -> bool {
    let entropy = zxcvbn::zxcvbn(password, &[]);
    let length = password.chars().count();
    match entropy.sequence() {
        [only] => match &only.pattern {
            MatchPattern::Dictionary(dictionary) => {
                only.i == 0
                    && only.j + 1 == length
                    && format!("{:?}", dictionary.dictionary_name) == "Passwords"
            }
            MatchPattern::Repeat(_) | MatchPattern::Sequence(_) | MatchPattern::Spatial(_) => length <= 12,
            _ => false,
        },
        _ => false,
    }
}

/// Runs argon2id on the blocking pool, at most `max_concurrent` at a time
/// and with at most `max_queued` waiting; beyond that it refuses at once
/// (the caller answers 503 + `Retry-After`) instead of building a backlog.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    slots: Arc<HashSlots>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    dummy_hash: Arc<str>,
    hashes_started: Arc<AtomicU64>,
}

impl PasswordHasher {
    /// Builds the hasher and, once, a dummy hash used to make unknown-user
    /// logins cost the same as real ones.
    pub fn new(settings: &HashSettings) -> AuthResult<PasswordHasher> {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let concurrent = if settings.max_concurrent == 0 {
            cores
        } else {
            settings.max_concurrent
        };
        let queued = if settings.max_queued == 0 {
            concurrent * 4
        } else {
            settings.max_queued
        };
        let params = Params {
            memory_kib: settings.memory_kib,
            iterations: settings.iterations,
            parallelism: settings.parallelism,
        };
        let dummy_hash = hash_blocking(b"tessera-dummy-password", params)?;
        // A fresh server holds no hashing memory until its first login.
        tessera_argon2::release_spare_regions();
        Ok(PasswordHasher {
            params,
            slots: Arc::new(HashSlots::new(concurrent)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: concurrent + queued,
            dummy_hash: dummy_hash.into(),
            hashes_started: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Takes a place in the hash queue now, or refuses at once when it is
    /// full. Login takes its place before it looks the account up, so an
    /// overloaded server answers 503 without touching the database.
    pub fn admit(&self) -> AuthResult<HashTicket> {
        let admitted = self.waiting.fetch_add(1, Ordering::AcqRel) < self.max_waiting;
        let slot = QueueSlot(Arc::clone(&self.waiting));
        metrics::gauge!("tessera_password_hash_queue_depth").set(self.queue_depth() as f64);
        if !admitted {
            metrics::counter!("tessera_password_hash_rejected_total").increment(1);
            return Err(AuthError::Overloaded { retry_after_secs: 1 });
        }
        Ok(HashTicket {
            hasher: self.clone(),
            _slot: slot,
        })
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: &str) -> AuthResult<String> {
        self.admit()?.hash(password).await
    }

    /// Verifies `password` against `stored`; see [`HashTicket::verify`].
    pub async fn verify(&self, stored: Option<&str>, password: &str) -> AuthResult<bool> {
        self.admit()?.verify(stored, password).await
    }

    /// Hashes now waiting or running (exported as a metric).
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Runs forever: every `period` in which no hash started, hands the
    /// hashing memory kept for reuse (one region of `memory_kib` per
    /// concurrent hash) back to the system, so an idle server is small.
    pub async fn release_memory_when_idle(self, period: std::time::Duration) {
        let mut seen = self.hashes_started.load(Ordering::Relaxed);
        loop {
            tokio::time::sleep(period).await;
            let now = self.hashes_started.load(Ordering::Relaxed);
            if now == seen && self.queue_depth() == 0 {
                tessera_argon2::release_spare_regions();
            }
            seen = now;
        }
    }
}

/// A place in the hash queue, good for one hash or verification.
pub struct HashTicket {
    hasher: PasswordHasher,
    _slot: QueueSlot,
}

impl HashTicket {
    /// Hashes a new password.
    pub async fn hash(self, password: &str) -> AuthResult<String> {
        let password = password.as_bytes().to_vec();
        let params = self.hasher.params;
        self.run(move || hash_blocking(&password, params)).await?
    }

    /// Verifies `password` against `stored` (argon2id PHC string). With
    /// `stored = None` it verifies against the dummy hash and returns
    /// `false`, so that a missing account costs the same time.
    pub async fn verify(self, stored: Option<&str>, password: &str) -> AuthResult<bool> {
        let is_real = stored.is_some();
        let encoded = stored
            .map(str::to_owned)
            .unwrap_or_else(|| self.hasher.dummy_hash.to_string());
        let password = password.as_bytes().to_vec();
        let matched = self
            .run(move || tessera_argon2::verify_encoded(&encoded, &password))
            .await?
            .map_err(|err| AuthError::Internal(format!("stored password hash unusable: {err}")))?;
        Ok(is_real && matched)
    }

    /// Runs `work` on the blocking pool once one of the hash slots is free.
    /// The slot is taken on the blocking thread and the queue place travels
    /// with the work, so the queue bound counts hashes that will really run
    /// even when the caller gives up waiting.
    async fn run<T, F>(self, work: F) -> AuthResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let HashTicket {
            hasher,
            _slot: queue_place,
        } = self;
        tokio::task::spawn_blocking(move || {
            let _queue_place = queue_place;
            let _running = hasher.slots.acquire();
            hasher.hashes_started.fetch_add(1, Ordering::Relaxed);
            work()
        })
        .await
        .map_err(|err| AuthError::Internal(format!("hash task failed: {err}")))
    }
}

/// A counting semaphore for blocking threads: at most `cores` hashes run.
///
/// Why not tokio's `Semaphore`: its permits are awaited on the async
/// runtime, so every hand-over from one hash to the next needs a runtime
/// worker to be scheduled first, and those workers compete with the hashing
/// threads for the same cores; the gaps cost about a tenth of the login
/// throughput on two cores. Threads waiting here take over directly.
struct HashSlots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl HashSlots {
    fn new(slots: usize) -> HashSlots {
        HashSlots {
            free: Mutex::new(slots),
            freed: Condvar::new(),
        }
    }

    /// Blocks the calling (blocking-pool) thread until a slot is free.
    fn acquire(&self) -> HashSlotGuard<'_> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        HashSlotGuard(self)
    }
}

/// A taken hash slot, given back on drop.
struct HashSlotGuard<'a>(&'a HashSlots);

impl Drop for HashSlotGuard<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(PoisonError::into_inner);
        *free += 1;
        self.0.freed.notify_one();
    }
}

/// Decrements the waiting count however the hash ends (even if cancelled).
struct QueueSlot(Arc<AtomicUsize>);

impl Drop for QueueSlot {
    fn drop(&mut self) {
        let now = self.0.fetch_sub(1, Ordering::AcqRel).saturating_sub(1);
        metrics::gauge!("tessera_password_hash_queue_depth").set(now as f64);
    }
}

fn hash_blocking(password: &[u8], params: Params) -> AuthResult<String> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    tessera_argon2::hash_encoded(password, &salt, params)
        .map_err(|err| AuthError::Internal(format!("argon2 hashing failed: {err}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rules(policy: &PasswordPolicy, password: &str, email: &str) -> Vec<&'static str> {
        let email = Email::parse(email).unwrap();
        policy
            .violations(password, Some(&email))
            .into_iter()
            .map(|v| v.rule)
            .collect()
    }

    #[test]
    fn policy_lists_every_violated_rule() {
        let policy = PasswordPolicy {
            min_character_classes: 3,
            min_strength: 0,
            ..PasswordPolicy::default()
        };
        assert_eq!(
            rules(&policy, "zq7", "bob@example.com"),
            ["too_short", "character_classes"]
        );
        assert_eq!(
            rules(&policy, "abc", "bob@example.com"),
            ["too_short", "common_password", "character_classes"]
        );
        assert_eq!(
            rules(&policy, "password", "bob@example.com"),
            ["common_password", "character_classes"]
        );
        assert_eq!(
            rules(&policy, "alicewonder", "alicewonder@example.com"),
            ["contains_email", "character_classes"]
        );
        assert!(rules(&policy, "Tr0ub4dor&3-staple", "bob@example.com").is_empty());
        assert_eq!(
            rules(&policy, &"Aa1!".repeat(40), "bob@example.com"),
            ["too_long"]
        );
    }

    #[test]
    fn trivial_passwords_of_any_length_are_too_weak() {
        let policy = PasswordPolicy::default();
        for trivial in [
            "xxxxxxxxxxxxxxxx",
            "abababababababab",
            "1234567890123",
            "passw0rd!",
            "qwertyuiopasdfgh",
        ] {
            assert!(
                rules(&policy, trivial, "bob@example.com").contains(&"too_weak"),
                "{trivial}"
            );
        }
        for strong in [
            "correct horse battery staple 42",
            "Harbor-Lantern-Quartz-2024",
            "plausible-Passphrase-93",
        ] {
            assert!(rules(&policy, strong, "bob@example.com").is_empty(), "{strong}");
        }
        let off = PasswordPolicy {
            min_strength: 0,
            reject_common: false,
            ..PasswordPolicy::default()
        };
        assert!(rules(&off, "xxxxxxxxxxxxxxxx", "bob@example.com").is_empty());
    }

    #[test]
    fn common_passwords_are_recognised_with_variants() {
        for common in [
            "password",
            "Password",
            "p@ssw0rd",
            "qwerty123",
            "letmein",
            "12345678",
            "iloveyou",
        ] {
            assert!(is_common_password(common), "{common} not flagged");
        }
        for fine in [
            "correct horse battery staple",
            "Tr0ub4dor&3-staple",
            "mauve-gazebo-71",
        ] {
            assert!(!is_common_password(fine), "{fine} flagged");
        }
    }

    #[tokio::test]
    async fn verify_against_missing_hash_is_false_but_costs_a_hash() {
        let settings = HashSettings {
            memory_kib: 64,
            iterations: 1,
            ..HashSettings::default()
        };
        let hasher = PasswordHasher::new(&settings).unwrap();
        let stored = hasher.hash("s3cret-enough").await.unwrap();
        assert!(hasher.verify(Some(&stored), "s3cret-enough").await.unwrap());
        assert!(!hasher.verify(Some(&stored), "wrong").await.unwrap());
        assert!(!hasher.verify(None, "tessera-dummy-password").await.unwrap());
    }

    #[tokio::test]
    async fn full_queue_refuses_instead_of_waiting() {
        let settings = HashSettings {
            memory_kib: 64,
            iterations: 1,
            max_concurrent: 1,
            max_queued: 1,
            ..HashSettings::default()
        };
        let hasher = PasswordHasher::new(&settings).unwrap();
        let held = hasher.slots.acquire();
        let first = tokio::spawn({
            let h = hasher.clone();
            async move { h.hash("a-password").await }
        });
        let second = tokio::spawn({
            let h = hasher.clone();
            async move { h.hash("b-password").await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let third = hasher.hash("c-password").await;
        assert!(matches!(third, Err(AuthError::Overloaded { .. })));
        drop(held);
        assert!(first.await.unwrap().is_ok());
        assert!(second.await.unwrap().is_ok());
    }
}
