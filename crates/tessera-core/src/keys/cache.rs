//! The per-tenant cache of the key ring: the keys read from the store and
//! what they mean (which signs, which verify, the JWKS) at the time read.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::schedule::{statuses, KeyStatus, Schedule};
use super::{LoadedKey, SigningAlg};

/// A key that has been decrypted, with its schedule.
pub(super) struct Entry {
    pub(super) key: Arc<LoadedKey>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) activates_at: DateTime<Utc>,
    pub(super) not_after: Option<DateTime<Utc>>,
}

impl Entry {
    fn schedule(&self) -> Schedule<'_> {
        Schedule {
            alg: self.key.alg.as_str(),
            kid: &self.key.kid,
            created_at: self.created_at,
            activates_at: self.activates_at,
            not_after: self.not_after,
        }
    }
}

/// One tenant's keys as read from the store, and what they mean at the
/// time they were read, valid until `fresh_until`.
pub(super) struct TenantKeys {
    pub(super) entries: Vec<Arc<Entry>>,
    pub(super) signing: HashMap<SigningAlg, Arc<LoadedKey>>,
    pub(super) by_kid: HashMap<String, Arc<LoadedKey>>,
    pub(super) jwks: Arc<serde_json::Value>,
    built_at: DateTime<Utc>,
    fresh_until: DateTime<Utc>,
}

impl TenantKeys {
    /// Derives the signing keys, verification keys and JWKS at `now`. The
    /// result is good until the cache TTL ends or until the next activation
    /// or expiry among the keys, whichever comes first.
    pub(super) fn build(entries: Vec<Arc<Entry>>, now: DateTime<Utc>, ttl: Duration) -> TenantKeys {
        let schedules: Vec<Schedule<'_>> = entries.iter().map(|e| e.schedule()).collect();
        let statuses = statuses(&schedules, now);
        let mut signing = HashMap::new();
        let mut by_kid = HashMap::new();
        let mut published = Vec::new();
        // A TTL beyond the calendar (configuration) means "until the last
        // representable instant", not a panic.
        let mut fresh_until = now.checked_add_signed(ttl).unwrap_or(DateTime::<Utc>::MAX_UTC);
        for (entry, status) in entries.iter().zip(statuses) {
            for boundary in [Some(entry.activates_at), entry.not_after].into_iter().flatten() {
                if boundary > now && boundary < fresh_until {
                    fresh_until = boundary;
                }
            }
            if !entry.schedule().published_at(now) {
                continue;
            }
            if status == KeyStatus::Active {
                signing.insert(entry.key.alg, entry.key.clone());
            }
            published.push(entry.key.jwk.clone());
            by_kid.insert(entry.key.kid.clone(), entry.key.clone());
        }
        TenantKeys {
            entries,
            signing,
            by_kid,
            jwks: Arc::new(json!({ "keys": published })),
            built_at: now,
            fresh_until,
        }
    }

    pub(super) fn fresh_at(&self, now: DateTime<Utc>) -> bool {
        self.built_at <= now && now < self.fresh_until
    }
}
