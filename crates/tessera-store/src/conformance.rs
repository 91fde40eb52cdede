//! Backend-agnostic conformance checks for [`Store`] implementations.
//!
//! Every check takes a fresh, already migrated store and panics (through its
//! assertions) when the backend breaks the contract documented on [`Store`].
//! A backend's test file runs them all, one `#[tokio::test]` each, with
//! [`store_conformance_tests!`](crate::store_conformance_tests):
//!
//! ```ignore
//! async fn fresh_store() -> Option<Fixture<MyStore>> { /* connect + migrate */ }
//! tessera_store::store_conformance_tests!(fresh_store());
//! ```
//!
//! Times are built at millisecond precision ([`now_ms`]) because that is what
//! every backend keeps exactly.
// This module is test code compiled into the library only behind the
// `conformance` feature: failing loudly is its whole purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::any::Any;
use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

mod admin_users;
mod identifiers;
mod keys_clients;
mod mail;
mod oidc;
mod rbac;
mod sessions;
mod users;

pub use admin_users::*;
pub use identifiers::*;
pub use keys_clients::*;
pub use mail::*;
pub use oidc::*;
pub use rbac::*;
pub use sessions::*;
pub use users::*;

use crate::{
    Client, ClientType, Conflict, GrantType, KeyState, RefreshToken, SecretRotation, Session, SigningKey,
    Store, StoreError, Tenant, TokenEndpointAuthMethod, User, UserProfileUpdate, UserStatus,
};

/// A fresh, migrated store for one test, plus whatever must outlive it (a
/// temporary file, a throw-away database). The store is dropped before the
/// guard.
pub struct Fixture<S> {
    store: S,
    _guard: Box<dyn Any + Send>,
}

impl<S: Store> Fixture<S> {
    /// A fixture that needs nothing kept alive besides the store.
    pub fn new(store: S) -> Self {
        Self::with_guard(store, ())
    }

    /// A fixture that drops `guard` (which may clean up on drop) after the store.
    pub fn with_guard<G: Send + 'static>(store: S, guard: G) -> Self {
        Self {
            store,
            _guard: Box::new(guard),
        }
    }

    /// The store under test.
    pub fn store(&self) -> &S {
        &self.store
    }
}

/// Expands to one `#[tokio::test]` per conformance check.
///
/// The argument is an expression evaluating to a future of
/// `Option<Fixture<S>>`; it is evaluated afresh for every test, and `None`
/// ends the test early (a backend whose server is not configured). With
/// `ignore_unless <cfg>`, the tests are compiled `#[ignore]`d unless the
/// configuration predicate holds, so that a run without the backend's
/// server reports them as ignored rather than passed. The invoking crate
/// needs `tokio` (with `macros` and `rt-multi-thread`) as a dev-dependency.
#[macro_export]
macro_rules! store_conformance_tests {
    ($fixture:expr) => {
        $crate::store_conformance_tests!($fixture, ignore_unless all());
    };
    ($fixture:expr, ignore_unless $cfg:meta) => {
        $crate::store_conformance_tests!(@tests $fixture, $cfg;
            migrate_is_idempotent,
            ping_succeeds,
            a_migrated_store_says_it_is_migrated,
            ensure_tenant_creates_then_returns_existing,
            ensure_tenant_is_race_safe,
            get_tenant_by_slug_finds_only_existing,
            user_round_trips_every_field,
            user_without_optional_fields_round_trips,
            timestamps_are_truncated_to_milliseconds,
            get_unknown_user_is_not_found,
            create_user_conflict_names_the_field,
            email_uniqueness_is_per_tenant,
            users_without_username_do_not_conflict,
            users_of_another_tenant_are_not_found,
            find_user_by_identifier_matches_email_or_username,
            find_user_by_identifier_prefers_email_match,
            canonicalise_identifiers_rewrites_rows_in_place,
            canonicalise_identifiers_reports_collisions_and_merges_nothing,
            canonicalise_identifiers_reads_every_batch,
            update_user_profile_changes_only_given_fields,
            update_user_profile_username_conflict_changes_nothing,
            update_user_profile_of_unknown_user_is_not_found,
            set_password_hash_revokes_other_sessions,
            set_password_hash_without_keep_revokes_every_session,
            set_password_hash_of_unknown_user_is_not_found,
            record_login_failure_counts_and_locks,
            concurrent_login_failures_all_count,
            create_session_stores_session_and_first_token,
            create_session_resets_login_failures,
            create_session_is_atomic,
            create_session_for_user_of_another_tenant_fails,
            get_session_with_user_returns_revoked_sessions_too,
            sessions_of_another_tenant_are_not_found,
            list_active_sessions_skips_revoked_and_expired,
            revoke_session_keeps_the_first_reason,
            revoke_unknown_session_is_not_found,
            revoke_user_sessions_returns_the_revoked_ids,
            get_unknown_refresh_token_is_not_found,
            rotate_refresh_token_spends_old_and_stores_next,
            rotate_refresh_token_twice_reports_reuse,
            rotate_unknown_refresh_token_is_not_found,
            refresh_tokens_of_another_tenant_are_not_found,
            concurrent_rotation_only_one_wins,
            signing_keys_round_trip,
            insert_signing_key_duplicate_kid_conflicts,
            signing_keys_are_listed_per_tenant,
            rotate_signing_key_retires_only_same_alg_keys_without_not_after,
            rotate_signing_key_with_duplicate_kid_changes_nothing,
            clients_round_trip_every_field,
            get_unknown_client_is_not_found,
            create_client_duplicate_id_conflicts,
            client_resources_are_unique_per_tenant,
            clients_are_listed_per_tenant_oldest_first,
            rotate_client_secret_keeps_only_the_previous_secret,
            rotate_unknown_client_secret_is_not_found,
            delete_client_removes_it_only_in_its_tenant,
            revoked_access_tokens_are_listed_until_they_expire,
            revoking_an_access_token_twice_keeps_one_row,
            revoked_access_tokens_are_listed_per_tenant,
            create_session_without_refresh_token_keeps_oauth_fields,
            browser_sessions_round_trip_every_field,
            create_browser_session_resets_login_failures,
            create_browser_session_is_atomic,
            browser_sessions_of_another_tenant_are_not_found,
            end_browser_session_revokes_only_its_sessions,
            browser_sessions_are_listed_and_touched,
            password_change_ends_other_browser_sessions,
            revoking_every_session_ends_browser_sessions,
            authorization_codes_round_trip_every_field,
            redeem_authorization_code_works_once,
            redeem_authorization_code_without_refresh_token,
            redeem_unknown_authorization_code_is_not_found,
            concurrent_redemption_only_one_wins,
            upsert_consent_replaces_scopes_and_keeps_created_at,
            list_consents_is_per_user_and_oldest_first,
            consents_of_another_tenant_are_not_found,
            delete_consent_revokes_only_that_clients_sessions_of_the_user,
            purge_expired_removes_only_expired_rows,
            client_assertion_jti_is_accepted_once_per_client,
            concurrent_client_assertions_only_one_wins,
            tenants_are_created_listed_and_updated,
            seed_rbac_seeds_only_once,
            concurrent_seed_rbac_calls_agree,
            permissions_are_created_and_deleted_from_roles,
            roles_are_created_updated_and_deleted,
            role_permissions_are_granted_and_revoked,
            user_roles_are_assigned_and_removed,
            client_roles_are_assigned_and_removed,
            create_user_with_roles_is_atomic,
            update_user_profile_changes_email,
            list_users_filters_combine,
            list_users_pages_in_every_order,
            set_user_status_revokes_sessions_when_asked,
            soft_delete_hides_users_until_reactivated,
            erase_user_removes_everything_of_the_user,
            keep_last_holder_refuses_to_remove_the_last_holder,
            concurrent_removal_of_two_holders_keeps_one,
            update_client_replaces_registration_and_keeps_secrets,
            mail_is_claimed_once_and_its_delivery_recorded,
            concurrent_claims_never_share_a_mail,
            create_user_with_mail_is_atomic,
            a_new_token_retires_older_ones_and_keeps_their_failures,
            spending_a_token_works_once_and_applies_its_effect,
            concurrent_spends_of_a_token_only_one_wins,
            tokens_go_with_their_user,
            the_cooldown_lets_one_token_through,
            a_new_password_or_address_retires_every_mailed_token,
            purge_removes_old_tokens_and_delivery_records,
        );
    };
    (@tests $fixture:expr, $cfg:meta; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not($cfg), ignore = "its database server is not configured")]
            async fn $name() {
                let Some(fixture) = ($fixture).await else {
                    return;
                };
                $crate::conformance::$name(fixture.store()).await;
            }
        )*
    };
}

// --- helpers -----------------------------------------------------------------

/// Records `n` failed logins of a user, the last one locking until `lock`.
async fn failed_logins<S: Store>(
    store: &S,
    tenant_id: Uuid,
    user_id: Uuid,
    n: i32,
    lock: Option<DateTime<Utc>>,
) {
    for _ in 0..n {
        store
            .record_login_failure(tenant_id, user_id, &move |count| lock.filter(|_| count == n))
            .await
            .expect("record_login_failure");
    }
}

/// "Now" for a check: whole milliseconds (the precision every backend
/// round-trips exactly) from a fixed start, one millisecond later at every
/// call, like a fast clock. Deterministic: no check depends on the wall
/// clock (which only the service's `Clock` port reads).
pub fn now_ms() -> DateTime<Utc> {
    use std::sync::atomic::{AtomicI64, Ordering};
    /// 2026-01-01T00:00:00Z.
    const START_MS: i64 = 1_767_225_600_000;
    static TICKS: AtomicI64 = AtomicI64::new(0);
    let ms = START_MS + TICKS.fetch_add(1, Ordering::Relaxed);
    Utc.timestamp_millis_opt(ms).single().expect("representable")
}

async fn tenant<S: Store>(store: &S, slug: &str) -> Tenant {
    store
        .ensure_tenant(slug, &format!("Tenant {slug}"), now_ms())
        .await
        .expect("ensure_tenant")
}

fn user(tenant_id: Uuid, email: &str, username: Option<&str>, now: DateTime<Utc>) -> User {
    User {
        user_id: Uuid::now_v7(),
        tenant_id,
        email: email.to_owned(),
        email_verified: false,
        username: username.map(str::to_owned),
        display_name: None,
        profile: json!({}),
        status: UserStatus::Active,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        failed_login_count: 0,
        locked_until: None,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    }
}

async fn created_user<S: Store>(store: &S, tenant_id: Uuid, email: &str) -> User {
    let u = user(tenant_id, email, None, now_ms());
    store.create_user(&u, &[]).await.expect("create_user");
    u
}

fn session(tenant_id: Uuid, user_id: Uuid, created_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> Session {
    Session {
        session_id: Uuid::now_v7(),
        tenant_id,
        user_id,
        ip: Some("192.0.2.7".to_owned()),
        user_agent: Some("conformance/1.0".to_owned()),
        created_at,
        last_used_at: created_at,
        expires_at,
        revoked_at: None,
        revoke_reason: None,
        client_id: None,
        scope: None,
        resource: None,
        browser_session_id: None,
        auth_time: created_at,
        amr: vec!["pwd".to_owned()],
    }
}

fn token(session: &Session, parent_hash: Option<&str>, now: DateTime<Utc>) -> RefreshToken {
    RefreshToken {
        token_hash: format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()),
        tenant_id: session.tenant_id,
        session_id: session.session_id,
        parent_hash: parent_hash.map(str::to_owned),
        created_at: now,
        expires_at: now + Duration::days(14),
        used_at: None,
    }
}

/// Creates a session (created at `created_at`, valid for a day) with its first
/// token.
async fn created_session<S: Store>(
    store: &S,
    u: &User,
    created_at: DateTime<Utc>,
) -> (Session, RefreshToken) {
    let s = session(u.tenant_id, u.user_id, created_at, created_at + Duration::days(1));
    let t = token(&s, None, created_at);
    store.create_session(&s, Some(&t)).await.expect("create_session");
    (s, t)
}

async fn get_session<S: Store>(store: &S, s: &Session) -> Session {
    store
        .get_session_with_user(s.tenant_id, s.session_id)
        .await
        .expect("get_session_with_user")
        .session
}

fn signing_key(tenant_id: Uuid, kid: &str, created_at: DateTime<Utc>) -> SigningKey {
    SigningKey {
        kid: kid.to_owned(),
        tenant_id,
        alg: "ES256".to_owned(),
        public_jwk: json!({
            "kty": "EC", "crv": "P-256", "kid": kid,
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        }),
        // Every byte value, to catch text/encoding mix-ups.
        private_key_encrypted: (0..=255u8).collect(),
        state: KeyState::Next,
        created_at,
        activates_at: created_at + Duration::hours(1),
        not_after: None,
    }
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::NotFound) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, field: Conflict) {
    match result {
        Err(StoreError::Conflict(f)) if f == field => {}
        other => panic!("expected Conflict({field:?}), got {other:?}"),
    }
}

// --- migrations and health ----------------------------------------------------

/// Running the migrations again (the store is already migrated) changes
/// nothing and keeps existing data.
pub async fn migrate_is_idempotent<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    store.migrate().await.expect("second migrate");
    store.migrate().await.expect("third migrate");
    assert_eq!(store.get_tenant_by_slug("acme").await.expect("tenant"), t);
}

/// `ping` answers on a healthy database.
pub async fn ping_succeeds<S: Store>(store: &S) {
    store.ping().await.expect("ping");
}

/// A migrated store says so (a database never migrated says not: the
/// admin commands' guard, tested with the binary on empty databases).
pub async fn a_migrated_store_says_it_is_migrated<S: Store>(store: &S) {
    assert!(store.is_migrated().await.expect("is_migrated"));
}

// --- tenants -------------------------------------------------------------------

/// `ensure_tenant` creates the tenant once; later calls return it unchanged.
pub async fn ensure_tenant_creates_then_returns_existing<S: Store>(store: &S) {
    let now = now_ms();
    let created = store.ensure_tenant("acme", "Acme", now).await.expect("create");
    assert_eq!(created.slug, "acme");
    assert_eq!(created.name, "Acme");
    assert_eq!(created.created_at, now);

    let again = store
        .ensure_tenant("acme", "Other name", now + Duration::minutes(5))
        .await
        .expect("again");
    assert_eq!(again, created);

    let other = store.ensure_tenant("globex", "Globex", now).await.expect("other");
    assert_ne!(other.tenant_id, created.tenant_id);
}

/// Concurrent `ensure_tenant` calls for one slug all succeed with one tenant.
pub async fn ensure_tenant_is_race_safe<S: Store>(store: &S) {
    let now = now_ms();
    let (a, b, c, d) = tokio::join!(
        store.ensure_tenant("race", "Race", now),
        store.ensure_tenant("race", "Race", now),
        store.ensure_tenant("race", "Race", now),
        store.ensure_tenant("race", "Race", now),
    );
    let ids: HashSet<Uuid> = [a, b, c, d]
        .into_iter()
        .map(|r| r.expect("ensure_tenant under race").tenant_id)
        .collect();
    assert_eq!(ids.len(), 1, "one tenant for one slug");
}

/// `get_tenant_by_slug` returns the stored tenant and `NotFound` for an unknown
/// slug.
pub async fn get_tenant_by_slug_finds_only_existing<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    assert_eq!(store.get_tenant_by_slug("acme").await.expect("get"), t);
    assert_not_found(store.get_tenant_by_slug("nope").await, "unknown slug");
}

// --- clients (helpers shared by the checks of several modules) ----------------

fn confidential_client(tenant_id: Uuid, created_at: DateTime<Utc>) -> Client {
    Client {
        client_id: Uuid::now_v7(),
        tenant_id,
        name: "Billing backend".to_owned(),
        client_type: ClientType::Confidential,
        redirect_uris: vec![
            "https://billing.example.com/callback".to_owned(),
            "http://127.0.0.1:8080/cb?x=1".to_owned(),
        ],
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ],
        scopes: vec!["openid".to_owned(), "invoices:read".to_owned()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        jwks: None,
        first_party: true,
        access_token_ttl_secs: Some(300),
        refresh_idle_ttl_secs: Some(86_400),
        post_logout_redirect_uris: vec![
            "https://billing.example.com/signed-out".to_owned(),
            "http://127.0.0.1:8080/bye".to_owned(),
        ],
        id_token_signed_response_alg: Some("ES256".to_owned()),
        token_permissions: true,
        pkce_optional: true,
        resource: None,
        resource_scopes: Vec::new(),
        secret_hash: Some("a".repeat(64)),
        previous_secret_hash: None,
        secret_ttl_secs: None,
        secret_expires_at: None,
        previous_secret_expires_at: None,
        disabled_at: None,
        created_at,
        updated_at: created_at,
    }
}

fn public_client(tenant_id: Uuid, created_at: DateTime<Utc>) -> Client {
    Client {
        name: "Mobile app".to_owned(),
        client_type: ClientType::Public,
        redirect_uris: vec!["com.example.app:/oauth2redirect".to_owned()],
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: Vec::new(),
        token_endpoint_auth_method: TokenEndpointAuthMethod::None,
        first_party: false,
        access_token_ttl_secs: None,
        refresh_idle_ttl_secs: None,
        post_logout_redirect_uris: Vec::new(),
        id_token_signed_response_alg: None,
        token_permissions: false,
        secret_hash: None,
        ..confidential_client(tenant_id, created_at)
    }
}
