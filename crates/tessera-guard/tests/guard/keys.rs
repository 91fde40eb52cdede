//! Key-set caching: lazy fetch, TTL, rotation, bounded refetches, outages.

use std::time::Duration;

use tessera_guard::{Guard, GuardError};

use crate::support::{claims, dead_issuer, Stub, TestKey};

#[tokio::test]
async fn the_key_set_is_fetched_lazily_and_cached() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let guard = stub.guard();
    assert_eq!(stub.hits(), 0, "nothing is fetched before the first token");

    for _ in 0..5 {
        guard.verify(&key.sign(&claims(&stub.url))).await.unwrap();
    }
    let clone = guard.clone();
    clone.verify(&key.sign(&claims(&stub.url))).await.unwrap();

    assert_eq!(stub.hits(), 1);
}

#[tokio::test]
async fn an_unknown_kid_triggers_one_refresh_so_a_rotation_works() {
    let old = TestKey::es256("old");
    let new = TestKey::ed25519("new");
    let stub = Stub::start(&[&old]).await;
    let guard = Guard::new(stub.config().min_refresh_interval(Duration::from_millis(100))).unwrap();
    guard.verify(&old.sign(&claims(&stub.url))).await.unwrap();

    // Tessera rotates: the new key is published beside the retired one.
    stub.publish(&[&old, &new]);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let claims_of_new = guard.verify(&new.sign(&claims(&stub.url))).await.unwrap();

    assert_eq!(claims_of_new.iss, stub.url);
    assert_eq!(stub.hits(), 2, "exactly one refresh for the unknown kid");
    guard.verify(&old.sign(&claims(&stub.url))).await.unwrap();
    guard.verify(&new.sign(&claims(&stub.url))).await.unwrap();
    assert_eq!(stub.hits(), 2, "both keys now come from the cache");
}

#[tokio::test]
async fn an_unknown_kid_within_the_refresh_interval_is_refused_without_a_fetch() {
    let old = TestKey::es256("old");
    let new = TestKey::es256("new");
    let stub = Stub::start(&[&old]).await;
    let guard = stub.guard();
    guard.verify(&old.sign(&claims(&stub.url))).await.unwrap();
    stub.publish(&[&old, &new]);

    let result = guard.verify(&new.sign(&claims(&stub.url))).await;

    assert!(
        matches!(result, Err(GuardError::InvalidToken("unknown key"))),
        "{result:?}"
    );
    assert_eq!(stub.hits(), 1);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_costs_at_most_one_fetch_per_interval() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let guard = Guard::new(stub.config().min_refresh_interval(Duration::from_secs(1))).unwrap();
    guard.verify(&key.sign(&claims(&stub.url))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let mut tasks = Vec::new();
    for n in 0..200 {
        let guard = guard.clone();
        let token = key.with_kid(&format!("random-{n}")).sign(&claims(&stub.url));
        tasks.push(tokio::spawn(async move { guard.verify(&token).await }));
    }
    for task in tasks {
        let result = task.await.unwrap();
        assert!(
            matches!(result, Err(GuardError::InvalidToken("unknown key"))),
            "{result:?}"
        );
    }
    for n in 200..300 {
        let token = key.with_kid(&format!("random-{n}")).sign(&claims(&stub.url));
        assert!(guard.verify(&token).await.is_err());
    }

    assert_eq!(
        stub.hits(),
        2,
        "one initial fetch, one refresh for the whole flood"
    );
    guard.verify(&key.sign(&claims(&stub.url))).await.unwrap();
    assert_eq!(stub.hits(), 2, "the known key is still served from the cache");
}

#[tokio::test]
async fn the_key_set_is_refetched_after_its_ttl() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let guard = Guard::new(
        stub.config()
            .jwks_ttl(Duration::from_millis(100))
            .min_refresh_interval(Duration::from_millis(50)),
    )
    .unwrap();
    guard.verify(&key.sign(&claims(&stub.url))).await.unwrap();

    tokio::time::sleep(Duration::from_millis(150)).await;
    guard.verify(&key.sign(&claims(&stub.url))).await.unwrap();

    assert_eq!(stub.hits(), 2);
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_stops_verifying_after_the_ttl() {
    let retired = TestKey::es256("retired");
    let current = TestKey::es256("current");
    let stub = Stub::start(&[&retired, &current]).await;
    let guard = Guard::new(
        stub.config()
            .jwks_ttl(Duration::from_millis(100))
            .min_refresh_interval(Duration::from_millis(50)),
    )
    .unwrap();
    guard.verify(&retired.sign(&claims(&stub.url))).await.unwrap();

    stub.publish(&[&current]);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let result = guard.verify(&retired.sign(&claims(&stub.url))).await;

    assert!(
        matches!(result, Err(GuardError::InvalidToken("unknown key"))),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_unreachable_jwks_is_unavailable_not_invalid() {
    let key = TestKey::es256("k1");
    let issuer = dead_issuer().await;
    let guard = Guard::new(tessera_guard::GuardConfig::new(issuer.clone())).unwrap();

    let result = guard.verify(&key.sign(&claims(&issuer))).await;

    assert!(
        matches!(result, Err(GuardError::JwksUnavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_failing_jwks_is_unavailable_and_retried_no_more_than_once_per_interval() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    stub.fail(true);
    let guard = Guard::new(stub.config().min_refresh_interval(Duration::from_millis(500))).unwrap();

    for _ in 0..20 {
        let result = guard.verify(&key.sign(&claims(&stub.url))).await;
        assert!(
            matches!(result, Err(GuardError::JwksUnavailable(_))),
            "{result:?}"
        );
    }
    assert_eq!(stub.hits(), 1, "an outage is not hammered");

    stub.fail(false);
    tokio::time::sleep(Duration::from_millis(550)).await;
    guard.verify(&key.sign(&claims(&stub.url))).await.unwrap();
    assert_eq!(stub.hits(), 2, "it recovers once the interval has passed");
}

#[tokio::test]
async fn known_keys_keep_verifying_while_the_jwks_is_down() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let guard = Guard::new(
        stub.config()
            .jwks_ttl(Duration::from_millis(100))
            .min_refresh_interval(Duration::from_millis(50)),
    )
    .unwrap();
    guard.verify(&key.sign(&claims(&stub.url))).await.unwrap();

    stub.fail(true);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let result = guard.verify(&key.sign(&claims(&stub.url))).await;

    assert!(result.is_ok(), "{result:?}");
    assert_eq!(stub.hits(), 2, "a refresh was attempted");
}
