//! The rotation schedule: where each key stands at a given instant, and how
//! long replaced keys stay published.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::settings::TokenSettings;

/// Where a key stands at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Published in JWKS; starts signing at `activates_at`.
    Pending,
    /// Signs new tokens of its algorithm.
    Active,
    /// Replaced by a newer key of its algorithm; verifies (and stays in
    /// JWKS) until `not_after`.
    Retired,
}

impl KeyStatus {
    /// The lowercase name (`pending`, `active`, `retired`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Pending => "pending",
            KeyStatus::Active => "active",
            KeyStatus::Retired => "retired",
        }
    }
}

/// The times that decide a key's status.
#[derive(Clone, Copy)]
pub(super) struct Schedule<'a> {
    pub(super) alg: &'a str,
    pub(super) kid: &'a str,
    pub(super) created_at: DateTime<Utc>,
    pub(super) activates_at: DateTime<Utc>,
    pub(super) not_after: Option<DateTime<Utc>>,
}

impl Schedule<'_> {
    pub(super) fn published_at(&self, now: DateTime<Utc>) -> bool {
        self.not_after.is_none_or(|end| end > now)
    }

    /// Order among the keys of one algorithm: later activation wins, then
    /// later creation, then kid (so every node picks the same key).
    fn rank(&self) -> (DateTime<Utc>, DateTime<Utc>, &str) {
        (self.activates_at, self.created_at, self.kid)
    }
}

/// The status of each key at `now`, in the order given.
///
/// Which key signs is decided by the clock, not by the stored `state`, so
/// every node agrees without anyone writing at activation time: per
/// algorithm, of the keys still published (no `not_after`, or a future one)
/// whose `activates_at` has passed, the one activated last signs; keys
/// activating later are pending; all others are retired.
pub(super) fn statuses(keys: &[Schedule<'_>], now: DateTime<Utc>) -> Vec<KeyStatus> {
    let mut active: HashMap<&str, (DateTime<Utc>, DateTime<Utc>, &str)> = HashMap::new();
    for key in keys {
        if key.activates_at <= now && key.published_at(now) {
            let rank = key.rank();
            let best = active.entry(key.alg).or_insert(rank);
            if rank > *best {
                *best = rank;
            }
        }
    }
    keys.iter()
        .map(|key| {
            if key.activates_at > now && key.published_at(now) {
                KeyStatus::Pending
            } else if active.get(key.alg) == Some(&key.rank()) && key.published_at(now) {
                KeyStatus::Active
            } else {
                KeyStatus::Retired
            }
        })
        .collect()
}

/// A key as shown to operators (`tessera keys list`): never private material.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    /// Key id.
    pub kid: String,
    /// JWS algorithm.
    pub alg: String,
    /// Status at the time of listing.
    pub state: KeyStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it signs (or signed) its first token.
    pub activates_at: DateTime<Utc>,
    /// When it leaves JWKS and stops verifying, once it has a successor.
    pub not_after: Option<DateTime<Utc>>,
}

/// How long keys replaced by a rotation stay published after the new key
/// activates: the longest lifetime of any token they may have signed, plus
/// the verification leeway. `client_ttls` are per-client access-token
/// lifetimes that override the default.
pub fn retention_secs(tokens: &TokenSettings, client_ttls: impl IntoIterator<Item = Option<i64>>) -> u64 {
    let longest_client = client_ttls
        .into_iter()
        .flatten()
        .filter_map(|ttl| u64::try_from(ttl).ok())
        .max()
        .unwrap_or(0);
    tokens
        .longest_token_ttl_secs()
        .max(longest_client)
        .saturating_add(tokens.leeway_secs)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn status_follows_the_clock_per_algorithm() {
        use crate::clock::Clock as _;
        let t0 = crate::clock::ManualClock::starting_now().now();
        let key = |alg, kid, activates: i64, not_after: Option<i64>| Schedule {
            alg,
            kid,
            created_at: t0,
            activates_at: t0 + Duration::seconds(activates),
            not_after: not_after.map(|s| t0 + Duration::seconds(s)),
        };
        let keys = [
            key("ES256", "old", 0, Some(100)),
            key("ES256", "new", 10, None),
            key("RS256", "rsa", 0, None),
        ];
        let at = |secs| statuses(&keys, t0 + Duration::seconds(secs));
        use KeyStatus::*;
        assert_eq!(at(0), [Active, Pending, Active]);
        assert_eq!(at(10), [Retired, Active, Active]);
        assert_eq!(at(100), [Retired, Active, Active]);
    }
}
