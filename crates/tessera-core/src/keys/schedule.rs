//! The rotation schedule: where each key stands at a given instant, and how
//! long replaced keys stay published.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::error::{AuthError, AuthResult, FieldViolation};
use crate::settings::TokenSettings;

/// The longest delay a rotation may put between publishing a key and its
/// first signature: 30 days. Verifiers re-read JWKS within minutes, so a
/// longer delay buys nothing, and an unbounded one leaves the calendar
/// (chrono cannot represent it; MariaDB stores `0000-00-00`, which breaks
/// JWKS and logins afterwards).
pub const MAX_ACTIVATION_DELAY_SECS: u64 = 30 * 24 * 3600;

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

/// A duration of `secs` seconds, saturating at the longest duration chrono
/// represents (configured TTLs are `u64` and may exceed it).
pub(super) fn seconds(secs: u64) -> Duration {
    i64::try_from(secs)
        .ok()
        .and_then(Duration::try_seconds)
        .unwrap_or(Duration::MAX)
}

/// When a key rotated at `now` starts signing, and when the keys it
/// replaces leave JWKS: its activation plus `cache_ttl` (nodes that have not
/// re-read the keys yet keep signing with the old key that long) plus
/// `retain_secs`.
///
/// The activation delay is operator input: above
/// [`MAX_ACTIVATION_DELAY_SECS`] it is a validation error. The arithmetic is
/// checked, so no input panics; a retention beyond the calendar (only
/// reachable by configuration) is an internal error.
pub(super) fn rotation_times(
    now: DateTime<Utc>,
    activation_delay_secs: u64,
    cache_ttl: Duration,
    retain_secs: u64,
) -> AuthResult<(DateTime<Utc>, DateTime<Utc>)> {
    if activation_delay_secs > MAX_ACTIVATION_DELAY_SECS {
        return Err(AuthError::Validation(vec![FieldViolation {
            field: "activation_delay_secs",
            rule: "out_of_range",
            message: format!("between 0 and {MAX_ACTIVATION_DELAY_SECS} seconds"),
        }]));
    }
    let beyond = |what: &str| AuthError::Internal(format!("signing key {what} is beyond the calendar"));
    let activates_at = now
        .checked_add_signed(seconds(activation_delay_secs))
        .ok_or_else(|| beyond("activation"))?;
    let not_after = activates_at
        .checked_add_signed(cache_ttl)
        .and_then(|at| at.checked_add_signed(seconds(retain_secs)))
        .ok_or_else(|| beyond("retention (check the token TTLs and keys.cache_ttl_secs)"))?;
    Ok((activates_at, not_after))
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
    #![allow(clippy::unwrap_used, clippy::panic)]
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

    fn at() -> DateTime<Utc> {
        use crate::clock::Clock as _;
        crate::clock::ManualClock::starting_now().now()
    }

    #[test]
    fn activation_delay_above_the_bound_is_a_validation_error_not_a_panic() {
        // i64::MAX is what schemathesis sent; 253e9 s stayed within chrono
        // but stored `0000-00-00` on MariaDB.
        for delay in [
            MAX_ACTIVATION_DELAY_SECS + 1,
            253_000_000_000,
            i64::MAX as u64,
            u64::MAX,
        ] {
            match rotation_times(at(), delay, Duration::seconds(60), 3600) {
                Err(AuthError::Validation(violations)) => {
                    assert_eq!(violations.len(), 1);
                    assert_eq!(violations[0].field, "activation_delay_secs");
                    assert_eq!(violations[0].rule, "out_of_range");
                }
                other => panic!("{delay}: expected a validation error, got {other:?}"),
            }
        }
    }

    #[test]
    fn activation_delay_at_the_bound_is_accepted() {
        let now = at();
        let (activates_at, not_after) =
            rotation_times(now, MAX_ACTIVATION_DELAY_SECS, Duration::seconds(60), 3600).unwrap();
        assert_eq!(activates_at, now + Duration::days(30));
        assert_eq!(not_after, activates_at + Duration::seconds(60 + 3600));
    }

    #[test]
    fn retention_beyond_the_calendar_is_an_error_not_a_panic() {
        let now = at();
        assert!(matches!(
            rotation_times(now, 0, Duration::MAX, u64::MAX),
            Err(AuthError::Internal(_))
        ));
        assert_eq!(seconds(u64::MAX), Duration::MAX);
    }
}
