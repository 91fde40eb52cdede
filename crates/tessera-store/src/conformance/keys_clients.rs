//! Conformance checks of signing keys, OAuth clients and revoked access
//! tokens.

use super::*;

// --- signing keys ------------------------------------------------------------------

/// Keys read back exactly (JSON, bytes, state, times), oldest first.
pub async fn signing_keys_round_trip<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    assert!(store
        .list_signing_keys(t.tenant_id)
        .await
        .expect("empty")
        .is_empty());

    let newer = SigningKey {
        state: KeyState::Next,
        ..signing_key(t.tenant_id, "a-newer", now)
    };
    let older = SigningKey {
        state: KeyState::Active,
        alg: "EdDSA".to_owned(),
        ..signing_key(t.tenant_id, "z-older", now - Duration::days(30))
    };
    let retired = SigningKey {
        state: KeyState::Retired,
        alg: "RS256".to_owned(),
        private_key_encrypted: Vec::new(),
        not_after: Some(now + Duration::days(1)),
        ..signing_key(t.tenant_id, "m-retired", now - Duration::days(60))
    };
    // Inserted out of order: the listing must sort by age, not by insertion or kid.
    for k in [&newer, &older, &retired] {
        store.insert_signing_key(k).await.expect("insert");
    }
    let keys = store.list_signing_keys(t.tenant_id).await.expect("list");
    assert_eq!(keys, vec![retired, older, newer]);
}

/// A kid that exists already is `Conflict(Kid)`, even in another tenant
/// (kids are published in JWKS and must not be ambiguous).
pub async fn insert_signing_key_duplicate_kid_conflicts<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let key = signing_key(a.tenant_id, "k1", now);
    store.insert_signing_key(&key).await.expect("insert");
    let dup = SigningKey {
        alg: "RS256".to_owned(),
        ..signing_key(a.tenant_id, "k1", now)
    };
    assert_conflict(store.insert_signing_key(&dup).await, Conflict::Kid);
    let dup_elsewhere = signing_key(b.tenant_id, "k1", now);
    assert_conflict(store.insert_signing_key(&dup_elsewhere).await, Conflict::Kid);
    assert_eq!(
        store.list_signing_keys(a.tenant_id).await.expect("list"),
        vec![key]
    );
}

/// A tenant lists only its own keys.
pub async fn signing_keys_are_listed_per_tenant<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let ka = signing_key(a.tenant_id, "ka", now);
    let kb = signing_key(b.tenant_id, "kb", now);
    store.insert_signing_key(&ka).await.expect("insert a");
    store.insert_signing_key(&kb).await.expect("insert b");
    assert_eq!(store.list_signing_keys(a.tenant_id).await.expect("a"), vec![ka]);
    assert_eq!(store.list_signing_keys(b.tenant_id).await.expect("b"), vec![kb]);
}

/// A rotation inserts the new key and gives the keys it replaces (same
/// tenant and algorithm, no `not_after` yet) `retired` and `not_after`;
/// keys of other algorithms or tenants and keys that already have a
/// `not_after` are untouched.
pub async fn rotate_signing_key_retires_only_same_alg_keys_without_not_after<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let old = SigningKey {
        state: KeyState::Active,
        ..signing_key(a.tenant_id, "old", now - Duration::days(2))
    };
    let older = SigningKey {
        state: KeyState::Retired,
        not_after: Some(now + Duration::minutes(5)),
        ..signing_key(a.tenant_id, "older", now - Duration::days(3))
    };
    let other_alg = SigningKey {
        state: KeyState::Active,
        alg: "RS256".to_owned(),
        ..signing_key(a.tenant_id, "rsa", now - Duration::days(1))
    };
    let other_tenant = SigningKey {
        state: KeyState::Active,
        ..signing_key(b.tenant_id, "theirs", now - Duration::days(1))
    };
    for k in [&old, &older, &other_alg, &other_tenant] {
        store.insert_signing_key(k).await.expect("insert");
    }
    let new = signing_key(a.tenant_id, "new", now);
    let retire_at = now + Duration::hours(2);
    store.rotate_signing_key(&new, retire_at).await.expect("rotate");
    let expected_old = SigningKey {
        state: KeyState::Retired,
        not_after: Some(retire_at),
        ..old
    };
    assert_eq!(
        store.list_signing_keys(a.tenant_id).await.expect("list a"),
        vec![older, expected_old, other_alg, new]
    );
    assert_eq!(
        store.list_signing_keys(b.tenant_id).await.expect("list b"),
        vec![other_tenant]
    );
}

/// A rotation whose new kid exists is `Conflict(Kid)` and retires nothing
/// (one transaction).
pub async fn rotate_signing_key_with_duplicate_kid_changes_nothing<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let current = SigningKey {
        state: KeyState::Active,
        ..signing_key(t.tenant_id, "current", now - Duration::days(1))
    };
    store.insert_signing_key(&current).await.expect("insert");
    let dup = signing_key(t.tenant_id, "current", now);
    assert_conflict(
        store.rotate_signing_key(&dup, now + Duration::hours(1)).await,
        Conflict::Kid,
    );
    assert_eq!(
        store.list_signing_keys(t.tenant_id).await.expect("list"),
        vec![current]
    );
}

// --- clients -----------------------------------------------------------------

/// Every field reads back exactly: lists in order, JSON, optional values
/// present and absent.
pub async fn clients_round_trip_every_field<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let full = Client {
        token_endpoint_auth_method: TokenEndpointAuthMethod::PrivateKeyJwt,
        jwks: Some(json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "c1",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})),
        previous_secret_hash: Some("b".repeat(64)),
        secret_ttl_secs: Some(86_400),
        secret_expires_at: Some(now + Duration::days(1)),
        previous_secret_expires_at: Some(now + Duration::hours(1)),
        disabled_at: Some(now),
        resource: Some("https://billing.example.com/api".to_owned()),
        resource_scopes: vec!["invoices:read".to_owned(), "invoices:write".to_owned()],
        ..confidential_client(t.tenant_id, now)
    };
    let public = public_client(t.tenant_id, now);
    store.create_client(&full).await.expect("create full");
    store.create_client(&public).await.expect("create public");
    assert_eq!(
        store
            .get_client(t.tenant_id, full.client_id)
            .await
            .expect("get full"),
        full
    );
    assert_eq!(
        store
            .get_client(t.tenant_id, public.client_id)
            .await
            .expect("get public"),
        public
    );
}

/// A resource identifier names one client per tenant: found by it, a
/// second registration (new or by update) is `Conflict(Resource)`, another
/// tenant may use it, and clients without one do not collide.
pub async fn client_resources_are_unique_per_tenant<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let uri = "https://orders.example.com/api";
    let orders = Client {
        resource: Some(uri.to_owned()),
        resource_scopes: vec!["orders:read".to_owned()],
        ..confidential_client(a.tenant_id, now)
    };
    store.create_client(&orders).await.expect("create");
    store
        .create_client(&confidential_client(a.tenant_id, now))
        .await
        .expect("no resource");
    store
        .create_client(&confidential_client(a.tenant_id, now))
        .await
        .expect("no resource either");
    assert_eq!(
        store
            .get_client_by_resource(a.tenant_id, uri)
            .await
            .expect("found"),
        orders
    );
    assert_not_found(
        store.get_client_by_resource(b.tenant_id, uri).await,
        "other tenant",
    );
    assert_not_found(
        store
            .get_client_by_resource(a.tenant_id, "https://orders.example.com/API")
            .await,
        "compared exactly",
    );
    let twin = Client {
        client_id: Uuid::now_v7(),
        ..orders.clone()
    };
    assert_conflict(store.create_client(&twin).await, Conflict::Resource);
    let other = confidential_client(a.tenant_id, now);
    store.create_client(&other).await.expect("create other");
    let taking_over = Client {
        resource: Some(uri.to_owned()),
        ..other
    };
    assert_conflict(store.update_client(&taking_over).await, Conflict::Resource);
    store
        .create_client(&Client {
            client_id: Uuid::now_v7(),
            tenant_id: b.tenant_id,
            ..orders.clone()
        })
        .await
        .expect("same identifier in another tenant");
}

/// An unknown id, or the id of another tenant's client, is `NotFound`.
pub async fn get_unknown_client_is_not_found<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    assert_not_found(store.get_client(a.tenant_id, Uuid::now_v7()).await, "unknown");
    let c = confidential_client(a.tenant_id, now_ms());
    store.create_client(&c).await.expect("create");
    assert_not_found(store.get_client(b.tenant_id, c.client_id).await, "other tenant");
}

/// Registering an id twice is `Conflict(ClientId)` and keeps the first.
pub async fn create_client_duplicate_id_conflicts<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let first = confidential_client(t.tenant_id, now_ms());
    store.create_client(&first).await.expect("create");
    let dup = Client {
        name: "Impostor".to_owned(),
        ..first.clone()
    };
    assert_conflict(store.create_client(&dup).await, Conflict::ClientId);
    assert_eq!(
        store.get_client(t.tenant_id, first.client_id).await.expect("get"),
        first
    );
}

/// A tenant lists only its own clients, oldest first.
pub async fn clients_are_listed_per_tenant_oldest_first<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    assert!(store.list_clients(a.tenant_id).await.expect("empty").is_empty());
    let newer = confidential_client(a.tenant_id, now);
    let older = public_client(a.tenant_id, now - Duration::days(1));
    let other = confidential_client(b.tenant_id, now);
    for c in [&newer, &older, &other] {
        store.create_client(c).await.expect("create");
    }
    assert_eq!(
        store.list_clients(a.tenant_id).await.expect("a"),
        vec![older, newer]
    );
    assert_eq!(store.list_clients(b.tenant_id).await.expect("b"), vec![other]);
}

/// A rotation makes the new hash current and the current one (with its
/// expiry) previous; the one before that is dropped.
pub async fn rotate_client_secret_keeps_only_the_previous_secret<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let c = Client {
        secret_expires_at: Some(now + Duration::days(1)),
        ..confidential_client(t.tenant_id, now)
    };
    store.create_client(&c).await.expect("create");
    let later = now + Duration::minutes(5);
    let first_expiry = Some(later + Duration::days(2));
    let once = store
        .rotate_client_secret(
            t.tenant_id,
            c.client_id,
            &rotation(&"c".repeat(64), first_expiry, later),
        )
        .await
        .expect("rotate once");
    assert_eq!(once.secret_hash.as_deref(), Some("c".repeat(64).as_str()));
    assert_eq!(once.secret_expires_at, first_expiry);
    assert_eq!(once.previous_secret_hash, c.secret_hash);
    assert_eq!(once.previous_secret_expires_at, c.secret_expires_at);
    assert_eq!(once.updated_at, later);
    assert_eq!(once.created_at, now);
    let twice = store
        .rotate_client_secret(t.tenant_id, c.client_id, &rotation(&"d".repeat(64), None, later))
        .await
        .expect("rotate twice");
    assert_eq!(twice.secret_hash.as_deref(), Some("d".repeat(64).as_str()));
    assert_eq!(twice.secret_expires_at, None);
    assert_eq!(
        twice.previous_secret_hash.as_deref(),
        Some("c".repeat(64).as_str())
    );
    assert_eq!(twice.previous_secret_expires_at, first_expiry);
    assert_eq!(
        store.get_client(t.tenant_id, c.client_id).await.expect("get"),
        twice
    );
}

/// A rotation to the secret with hash `hash`, expiring at `expires_at`.
fn rotation(hash: &str, expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> SecretRotation<'_> {
    SecretRotation {
        secret_hash: hash,
        secret_expires_at: expires_at,
        now,
    }
}

/// Rotating the secret of an unknown client, or of another tenant's, is
/// `NotFound` and changes nothing.
pub async fn rotate_unknown_client_secret_is_not_found<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    assert_not_found(
        store
            .rotate_client_secret(a.tenant_id, Uuid::now_v7(), &rotation(&"c".repeat(64), None, now))
            .await,
        "unknown",
    );
    let c = confidential_client(a.tenant_id, now);
    store.create_client(&c).await.expect("create");
    assert_not_found(
        store
            .rotate_client_secret(b.tenant_id, c.client_id, &rotation(&"c".repeat(64), None, now))
            .await,
        "other tenant",
    );
    assert_eq!(store.get_client(a.tenant_id, c.client_id).await.expect("get"), c);
}

/// Deleting removes the client; another tenant cannot delete it, and a
/// second delete is `NotFound`.
pub async fn delete_client_removes_it_only_in_its_tenant<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let c = confidential_client(a.tenant_id, now_ms());
    store.create_client(&c).await.expect("create");
    assert_not_found(
        store.delete_client(b.tenant_id, c.client_id).await,
        "other tenant",
    );
    store
        .get_client(a.tenant_id, c.client_id)
        .await
        .expect("still there");
    store
        .delete_client(a.tenant_id, c.client_id)
        .await
        .expect("delete");
    assert_not_found(store.get_client(a.tenant_id, c.client_id).await, "deleted");
    assert_not_found(store.delete_client(a.tenant_id, c.client_id).await, "twice");
    assert!(store.list_clients(a.tenant_id).await.expect("list").is_empty());
}

// --- revoked access tokens -------------------------------------------------------

/// A revoked jti is listed while its token could still be presented, and
/// no longer once the token has expired.
pub async fn revoked_access_tokens_are_listed_until_they_expire<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    assert!(store
        .list_revoked_access_tokens(t.tenant_id, now)
        .await
        .expect("empty")
        .is_empty());
    store
        .revoke_access_token(t.tenant_id, "jti-b", now + Duration::minutes(15), now)
        .await
        .expect("revoke b");
    store
        .revoke_access_token(t.tenant_id, "jti-a", now + Duration::minutes(5), now)
        .await
        .expect("revoke a");
    assert_eq!(
        store
            .list_revoked_access_tokens(t.tenant_id, now)
            .await
            .expect("list"),
        vec!["jti-a".to_string(), "jti-b".to_string()]
    );
    assert_eq!(
        store
            .list_revoked_access_tokens(t.tenant_id, now + Duration::minutes(5))
            .await
            .expect("later"),
        vec!["jti-b".to_string()]
    );
    assert!(store
        .list_revoked_access_tokens(t.tenant_id, now + Duration::minutes(15))
        .await
        .expect("after expiry")
        .is_empty());
}

/// Revoking the same jti again succeeds and keeps the first expiry.
pub async fn revoking_an_access_token_twice_keeps_one_row<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    store
        .revoke_access_token(t.tenant_id, "jti", now + Duration::minutes(5), now)
        .await
        .expect("first");
    store
        .revoke_access_token(t.tenant_id, "jti", now + Duration::minutes(50), now)
        .await
        .expect("second");
    assert_eq!(
        store
            .list_revoked_access_tokens(t.tenant_id, now)
            .await
            .expect("list"),
        vec!["jti".to_string()]
    );
    assert!(store
        .list_revoked_access_tokens(t.tenant_id, now + Duration::minutes(5))
        .await
        .expect("first expiry kept")
        .is_empty());
}

/// Revocations of one tenant are invisible to another.
pub async fn revoked_access_tokens_are_listed_per_tenant<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    store
        .revoke_access_token(a.tenant_id, "jti", now + Duration::minutes(5), now)
        .await
        .expect("revoke");
    assert!(store
        .list_revoked_access_tokens(b.tenant_id, now)
        .await
        .expect("other tenant")
        .is_empty());
}
