//! Caches whose entries expire by the service's [`Clock`], not by wall
//! time: a test moves a manual clock past the lifetime instead of sleeping,
//! and production behaves the same with the system clock.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::error::{AuthError, AuthResult};

/// A bounded cache of `V` by `K`, each entry good for `ttl` after it was
/// stored, by the clock. (Entries also leave after `ttl` of wall time, so
/// memory is bounded even while a test's manual clock stands still; an
/// entry may leave early, never late.)
pub struct TtlCache<K, V> {
    entries: moka::future::Cache<K, (V, DateTime<Utc>)>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
}

impl<K, V> TtlCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// An empty cache of at most `capacity` entries, each good for `ttl`.
    pub fn new(clock: Arc<dyn Clock>, capacity: u64, ttl: StdDuration) -> TtlCache<K, V> {
        let mut builder = moka::future::Cache::builder().max_capacity(capacity);
        if !ttl.is_zero() {
            builder = builder.time_to_live(ttl);
        }
        TtlCache {
            entries: builder.support_invalidation_closures().build(),
            clock,
            ttl: Duration::from_std(ttl).unwrap_or(Duration::MAX),
        }
    }

    /// The live entry for `key`, if there is one.
    pub async fn get(&self, key: &K) -> Option<V> {
        let (value, expires_at) = self.entries.get(key).await?;
        if expires_at > self.clock.now() {
            Some(value)
        } else {
            self.entries.invalidate(key).await;
            None
        }
    }

    /// Stores `value` for `key`, good for the cache's lifetime from now.
    pub async fn insert(&self, key: K, value: V) {
        let expires_at = self.clock.now() + self.ttl;
        self.entries.insert(key, (value, expires_at)).await;
    }

    /// The live entry for `key`, or the one `load` produces (stored).
    /// Concurrent callers missing the same key share one `load`.
    pub async fn get_or_load<F>(&self, key: K, load: F) -> AuthResult<V>
    where
        F: Future<Output = AuthResult<V>>,
    {
        if let Some(value) = self.get(&key).await {
            return Ok(value);
        }
        let clock = self.clock.clone();
        let ttl = self.ttl;
        self.entries
            .try_get_with(
                key,
                async move { load.await.map(|value| (value, clock.now() + ttl)) },
            )
            .await
            .map(|(value, _)| value)
            .map_err(|err: Arc<AuthError>| unshare(&err))
    }

    /// Drops the entry for `key`.
    pub async fn invalidate(&self, key: &K) {
        self.entries.invalidate(key).await;
    }

    /// Drops every entry whose value matches `predicate`.
    pub fn invalidate_where(&self, predicate: impl Fn(&V) -> bool + Send + Sync + 'static) {
        // Fails only when invalidation closures are not enabled, which `new`
        // does.
        let _ = self
            .entries
            .invalidate_entries_if(move |_, (value, _)| predicate(value));
    }

    /// Drops everything.
    pub fn invalidate_all(&self) {
        self.entries.invalidate_all();
    }
}

/// Turns the shared error of a cache loader back into an owned one (the
/// kinds a loader fails with keep their kind; anything else is internal).
pub(crate) fn unshare(err: &AuthError) -> AuthError {
    match err {
        AuthError::Unavailable(msg) => AuthError::Unavailable(msg.clone()),
        AuthError::NotFound => AuthError::NotFound,
        AuthError::InvalidToken(why) => AuthError::InvalidToken(why),
        AuthError::InvalidGrant => AuthError::InvalidGrant,
        other => AuthError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn entries_expire_when_the_clock_passes_their_lifetime() {
        let clock = Arc::new(ManualClock::starting_now());
        let cache: TtlCache<u8, &str> = TtlCache::new(clock.clone(), 10, StdDuration::from_secs(5));
        cache.insert(1, "one").await;
        clock.advance(Duration::seconds(4));
        assert_eq!(cache.get(&1).await, Some("one"));
        clock.advance(Duration::seconds(1));
        assert_eq!(cache.get(&1).await, None);
    }

    #[tokio::test]
    async fn a_loader_runs_only_on_a_miss_and_its_errors_are_not_cached() {
        let clock = Arc::new(ManualClock::starting_now());
        let cache: TtlCache<u8, u32> = TtlCache::new(clock.clone(), 10, StdDuration::from_secs(5));
        let failed = cache
            .get_or_load(1, async { Err(AuthError::Unavailable("down".into())) })
            .await;
        assert!(matches!(failed, Err(AuthError::Unavailable(_))));
        assert_eq!(cache.get_or_load(1, async { Ok(7) }).await.unwrap(), 7);
        assert_eq!(cache.get_or_load(1, async { Ok(8) }).await.unwrap(), 7, "cached");
        cache.invalidate_where(|v| *v == 7);
        assert_eq!(cache.get_or_load(1, async { Ok(9) }).await.unwrap(), 9);
    }
}
