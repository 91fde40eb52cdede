//! Password policy and argon2id hashing with admission control.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rand::RngCore;
use tessera_argon2::Params;
use tokio::sync::Semaphore;
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
    running: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    dummy_hash: Arc<str>,
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
        Ok(PasswordHasher {
            params,
            running: Arc::new(Semaphore::new(concurrent)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: concurrent + queued,
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: &str) -> AuthResult<String> {
        let password = password.as_bytes().to_vec();
        let params = self.params;
        self.run(move || hash_blocking(&password, params)).await?
    }

    /// Verifies `password` against `stored` (argon2id PHC string). With
    /// `stored = None` it verifies against the dummy hash and returns
    /// `false`, so that a missing account costs the same time.
    pub async fn verify(&self, stored: Option<&str>, password: &str) -> AuthResult<bool> {
        let is_real = stored.is_some();
        let encoded = stored
            .map(str::to_owned)
            .unwrap_or_else(|| self.dummy_hash.to_string());
        let password = password.as_bytes().to_vec();
        let matched = self
            .run(move || tessera_argon2::verify_encoded(&encoded, &password))
            .await?
            .map_err(|err| AuthError::Internal(format!("stored password hash unusable: {err}")))?;
        Ok(is_real && matched)
    }

    /// Hashes now waiting or running (exported as a metric).
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    async fn run<T, F>(&self, work: F) -> AuthResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let admitted = self.waiting.fetch_add(1, Ordering::AcqRel) < self.max_waiting;
        let _leave = QueueSlot(&self.waiting);
        metrics::gauge!("tessera_password_hash_queue_depth").set(self.queue_depth() as f64);
        if !admitted {
            metrics::counter!("tessera_password_hash_rejected_total").increment(1);
            return Err(AuthError::Overloaded { retry_after_secs: 1 });
        }
        let _permit = self
            .running
            .acquire()
            .await
            .map_err(|_| AuthError::Internal("hash semaphore closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|err| AuthError::Internal(format!("hash task failed: {err}")))
    }
}

/// Decrements the waiting count however the hash ends (even if cancelled).
struct QueueSlot<'a>(&'a AtomicUsize);

impl Drop for QueueSlot<'_> {
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
        let permit = hasher.running.clone().acquire_owned().await.unwrap();
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
        drop(permit);
        assert!(first.await.unwrap().is_ok());
        assert!(second.await.unwrap().is_ok());
    }
}
