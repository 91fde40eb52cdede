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
mod oidc;
mod rbac;

pub use admin_users::*;
pub use oidc::*;
pub use rbac::*;

use crate::{
    Client, ClientType, GrantType, KeyState, RefreshToken, Session, SigningKey, Store, StoreError, Tenant,
    TokenEndpointAuthMethod, User, UserProfileUpdate, UserStatus,
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
/// skips the test (a backend whose server is not configured). The invoking
/// crate needs `tokio` (with `macros` and `rt-multi-thread`) as a
/// dev-dependency.
#[macro_export]
macro_rules! store_conformance_tests {
    ($fixture:expr) => {
        $crate::store_conformance_tests!(@tests $fixture;
            migrate_is_idempotent,
            ping_succeeds,
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
            update_user_profile_changes_only_given_fields,
            update_user_profile_username_conflict_changes_nothing,
            update_user_profile_of_unknown_user_is_not_found,
            set_password_hash_revokes_other_sessions,
            set_password_hash_without_keep_revokes_every_session,
            set_password_hash_of_unknown_user_is_not_found,
            record_login_failure_sets_count_and_lock,
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
        );
    };
    (@tests $fixture:expr; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

/// The current time truncated to whole milliseconds, the precision every
/// backend round-trips exactly.
pub fn now_ms() -> DateTime<Utc> {
    Utc.timestamp_millis_opt(Utc::now().timestamp_millis())
        .single()
        .expect("current time is representable")
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
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, field: &str) {
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

// --- users ---------------------------------------------------------------------

/// Every field of a user, including JSON, status and lock, reads back equal.
pub async fn user_round_trips_every_field<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    for (i, status) in [UserStatus::Active, UserStatus::Suspended, UserStatus::Disabled]
        .into_iter()
        .enumerate()
    {
        let u = User {
            email_verified: true,
            display_name: Some("Ada Lovelace".to_owned()),
            profile: json!({"locale": "en-GB", "n": 3, "nested": {"list": [1, "two", null]}}),
            status,
            failed_login_count: 3,
            locked_until: Some(now + Duration::minutes(15)),
            updated_at: now + Duration::milliseconds(1),
            ..user(
                t.tenant_id,
                &format!("ada{i}@example.com"),
                Some(&format!("ada{i}")),
                now,
            )
        };
        store.create_user(&u, &[]).await.expect("create_user");
        assert_eq!(store.get_user(t.tenant_id, u.user_id).await.expect("get"), u);
    }
}

/// A user with every optional field empty reads back equal.
pub async fn user_without_optional_fields_round_trips<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let u = User {
        password_hash: None,
        ..user(t.tenant_id, "bare@example.com", None, now_ms())
    };
    store.create_user(&u, &[]).await.expect("create_user");
    assert_eq!(store.get_user(t.tenant_id, u.user_id).await.expect("get"), u);
}

/// Times are kept at millisecond precision on every backend: sub-millisecond
/// digits are dropped (never rounded up), so all backends agree.
pub async fn timestamps_are_truncated_to_milliseconds<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let ms = now_ms();
    let precise = ms + Duration::nanoseconds(999_999);
    let u = user(t.tenant_id, "precise@example.com", None, precise);
    store.create_user(&u, &[]).await.expect("create_user");
    let got = store.get_user(t.tenant_id, u.user_id).await.expect("get");
    assert_eq!(got.created_at, ms);
    assert_eq!(got.updated_at, ms);
}

/// An id that was never stored is `NotFound`.
pub async fn get_unknown_user_is_not_found<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    assert_not_found(store.get_user(t.tenant_id, Uuid::now_v7()).await, "unknown user");
}

/// A duplicate email or username is a conflict naming that field, and nothing
/// is stored.
pub async fn create_user_conflict_names_the_field<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let first = user(t.tenant_id, "ada@example.com", Some("ada"), now);
    store.create_user(&first, &[]).await.expect("first");

    let same_email = user(t.tenant_id, "ada@example.com", Some("other"), now);
    assert_conflict(store.create_user(&same_email, &[]).await, "email");
    assert_not_found(
        store.get_user(t.tenant_id, same_email.user_id).await,
        "same email",
    );

    let same_username = user(t.tenant_id, "other@example.com", Some("ada"), now);
    assert_conflict(store.create_user(&same_username, &[]).await, "username");
    assert_not_found(
        store.get_user(t.tenant_id, same_username.user_id).await,
        "same username",
    );
}

/// The same email and username may exist once in each tenant.
pub async fn email_uniqueness_is_per_tenant<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let ua = user(a.tenant_id, "ada@example.com", Some("ada"), now);
    let ub = user(b.tenant_id, "ada@example.com", Some("ada"), now);
    store.create_user(&ua, &[]).await.expect("tenant a");
    store.create_user(&ub, &[]).await.expect("tenant b");
    assert_eq!(store.get_user(b.tenant_id, ub.user_id).await.expect("get b"), ub);
}

/// Usernames are optional: many users without one coexist.
pub async fn users_without_username_do_not_conflict<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    for i in 0..3 {
        let u = user(t.tenant_id, &format!("u{i}@example.com"), None, now);
        store.create_user(&u, &[]).await.expect("user without username");
    }
}

/// Every user lookup and update scoped to another tenant is `NotFound` and
/// changes nothing.
pub async fn users_of_another_tenant_are_not_found<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let u = user(a.tenant_id, "ada@example.com", Some("ada"), now);
    store.create_user(&u, &[]).await.expect("create_user");
    let other = b.tenant_id;

    assert_not_found(store.get_user(other, u.user_id).await, "get_user");
    assert_not_found(
        store.find_user_by_identifier(other, "ada@example.com").await,
        "find by email",
    );
    assert_not_found(
        store.find_user_by_identifier(other, "ada").await,
        "find by username",
    );
    let update = UserProfileUpdate {
        display_name: Some(Some("Mallory".to_owned())),
        ..UserProfileUpdate::default()
    };
    assert_not_found(
        store.update_user_profile(other, u.user_id, &update, now).await,
        "update_user_profile",
    );
    assert_not_found(
        store
            .set_password_hash(other, u.user_id, "$new", None, "password_changed", now)
            .await,
        "set_password_hash",
    );
    assert_not_found(
        store.record_login_failure(other, u.user_id, 9, Some(now)).await,
        "record_login_failure",
    );

    assert_eq!(
        store.get_user(a.tenant_id, u.user_id).await.expect("unchanged"),
        u
    );
}

/// `find_user_by_identifier` finds a user by normalised email or by username.
pub async fn find_user_by_identifier_matches_email_or_username<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let ada = user(t.tenant_id, "ada@example.com", Some("ada"), now);
    let bob = user(t.tenant_id, "bob@example.com", None, now);
    store.create_user(&ada, &[]).await.expect("ada");
    store.create_user(&bob, &[]).await.expect("bob");

    let by_email = store
        .find_user_by_identifier(t.tenant_id, "ada@example.com")
        .await;
    assert_eq!(by_email.expect("by email"), ada);
    let by_username = store.find_user_by_identifier(t.tenant_id, "ada").await;
    assert_eq!(by_username.expect("by username"), ada);
    let bob_found = store
        .find_user_by_identifier(t.tenant_id, "bob@example.com")
        .await;
    assert_eq!(bob_found.expect("bob"), bob);
    assert_not_found(
        store.find_user_by_identifier(t.tenant_id, "carol").await,
        "unknown identifier",
    );
}

/// When one user's email equals another's username, the email wins: the
/// answer is deterministic.
pub async fn find_user_by_identifier_prefers_email_match<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    // Created first so that an unordered lookup would tend to find it.
    let by_username = user(t.tenant_id, "other@example.com", Some("sam@example.com"), now);
    let by_email = user(t.tenant_id, "sam@example.com", Some("sam"), now);
    store.create_user(&by_username, &[]).await.expect("first");
    store.create_user(&by_email, &[]).await.expect("second");
    let found = store
        .find_user_by_identifier(t.tenant_id, "sam@example.com")
        .await
        .expect("find");
    assert_eq!(found.user_id, by_email.user_id);
}

/// Only the fields given in the update change; `Some(None)` clears a field;
/// `updated_at` becomes `now`; the returned user is what is stored.
pub async fn update_user_profile_changes_only_given_fields<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = User {
        display_name: Some("Ada".to_owned()),
        profile: json!({"locale": "en"}),
        ..user(t.tenant_id, "ada@example.com", Some("ada"), now)
    };
    store.create_user(&u, &[]).await.expect("create_user");

    let later = now + Duration::minutes(1);
    let update = UserProfileUpdate {
        display_name: Some(Some("Ada L.".to_owned())),
        ..UserProfileUpdate::default()
    };
    let updated = store
        .update_user_profile(t.tenant_id, u.user_id, &update, later)
        .await
        .expect("display name");
    let expected = User {
        display_name: Some("Ada L.".to_owned()),
        updated_at: later,
        ..u.clone()
    };
    assert_eq!(updated, expected);
    assert_eq!(
        store.get_user(t.tenant_id, u.user_id).await.expect("get"),
        expected
    );

    let later = later + Duration::minutes(1);
    let update = UserProfileUpdate {
        username: Some(Some("lovelace".to_owned())),
        display_name: Some(None),
        profile: Some(json!({"locale": "fr", "tz": "Europe/Paris"})),
        ..UserProfileUpdate::default()
    };
    let updated = store
        .update_user_profile(t.tenant_id, u.user_id, &update, later)
        .await
        .expect("all fields");
    let expected = User {
        username: Some("lovelace".to_owned()),
        display_name: None,
        profile: json!({"locale": "fr", "tz": "Europe/Paris"}),
        updated_at: later,
        ..u.clone()
    };
    assert_eq!(updated, expected);
    assert_eq!(
        store.get_user(t.tenant_id, u.user_id).await.expect("get"),
        expected
    );
    let found = store.find_user_by_identifier(t.tenant_id, "lovelace").await;
    assert_eq!(found.expect("new username"), expected);
    assert_not_found(
        store.find_user_by_identifier(t.tenant_id, "ada").await,
        "old username",
    );

    let update = UserProfileUpdate {
        username: Some(None),
        ..UserProfileUpdate::default()
    };
    let updated = store
        .update_user_profile(t.tenant_id, u.user_id, &update, later)
        .await
        .expect("clear username");
    assert_eq!(updated.username, None);
    assert_eq!(updated.profile, expected.profile);
}

/// Taking another user's username is `Conflict("username")` and leaves the
/// user unchanged.
pub async fn update_user_profile_username_conflict_changes_nothing<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let ada = user(t.tenant_id, "ada@example.com", Some("ada"), now);
    let bob = user(t.tenant_id, "bob@example.com", Some("bob"), now);
    store.create_user(&ada, &[]).await.expect("ada");
    store.create_user(&bob, &[]).await.expect("bob");

    let update = UserProfileUpdate {
        username: Some(Some("ada".to_owned())),
        display_name: Some(Some("Bob".to_owned())),
        profile: None,
        ..UserProfileUpdate::default()
    };
    let later = now + Duration::minutes(1);
    assert_conflict(
        store
            .update_user_profile(t.tenant_id, bob.user_id, &update, later)
            .await,
        "username",
    );
    assert_eq!(store.get_user(t.tenant_id, bob.user_id).await.expect("bob"), bob);
}

/// Updating a user that does not exist is `NotFound`.
pub async fn update_user_profile_of_unknown_user_is_not_found<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let update = UserProfileUpdate {
        display_name: Some(Some("Nobody".to_owned())),
        ..UserProfileUpdate::default()
    };
    assert_not_found(
        store
            .update_user_profile(t.tenant_id, Uuid::now_v7(), &update, now_ms())
            .await,
        "unknown user",
    );
}

/// A password change stores the hash and revokes every other live session
/// of the user (not the kept one, not other users', not already revoked ones).
pub async fn set_password_hash_revokes_other_sessions<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let other_user = created_user(store, t.tenant_id, "bob@example.com").await;
    let (keep, _) = created_session(store, &u, now).await;
    let (other1, _) = created_session(store, &u, now).await;
    let (other2, _) = created_session(store, &u, now).await;
    let (old, _) = created_session(store, &u, now).await;
    let (bobs, _) = created_session(store, &other_user, now).await;
    let earlier = now + Duration::seconds(1);
    store
        .revoke_session(t.tenant_id, old.session_id, "logout", earlier)
        .await
        .expect("revoke old");

    let later = now + Duration::minutes(1);
    store
        .set_password_hash(
            t.tenant_id,
            u.user_id,
            "$argon2id$new",
            Some(keep.session_id),
            "password_changed",
            later,
        )
        .await
        .expect("set_password_hash");

    let got = store.get_user(t.tenant_id, u.user_id).await.expect("user");
    assert_eq!(got.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(got.updated_at, later);

    assert_eq!(get_session(store, &keep).await.revoked_at, None);
    for s in [&other1, &other2] {
        let s = get_session(store, s).await;
        assert_eq!(s.revoked_at, Some(later));
        assert_eq!(s.revoke_reason.as_deref(), Some("password_changed"));
    }
    let old = get_session(store, &old).await;
    assert_eq!(old.revoked_at, Some(earlier), "already revoked stays as it was");
    assert_eq!(old.revoke_reason.as_deref(), Some("logout"));
    assert_eq!(get_session(store, &bobs).await.revoked_at, None);
}

/// Without a session to keep, a password change revokes all of the user's
/// sessions.
pub async fn set_password_hash_without_keep_revokes_every_session<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let (s1, _) = created_session(store, &u, now).await;
    let (s2, _) = created_session(store, &u, now).await;
    store
        .set_password_hash(t.tenant_id, u.user_id, "$new", None, "password_reset", now)
        .await
        .expect("set_password_hash");
    for s in [&s1, &s2] {
        let s = get_session(store, s).await;
        assert_eq!(s.revoked_at, Some(now));
        assert_eq!(s.revoke_reason.as_deref(), Some("password_reset"));
    }
    assert!(store
        .list_active_sessions(t.tenant_id, u.user_id, now)
        .await
        .expect("list")
        .is_empty());
}

/// Setting the password of a user that does not exist is `NotFound`.
pub async fn set_password_hash_of_unknown_user_is_not_found<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    assert_not_found(
        store
            .set_password_hash(t.tenant_id, Uuid::now_v7(), "$new", None, "x", now_ms())
            .await,
        "unknown user",
    );
}

/// `record_login_failure` stores the count and lock as given (and can clear
/// the lock); an unknown user is `NotFound`.
pub async fn record_login_failure_sets_count_and_lock<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;

    let until = now + Duration::minutes(15);
    store
        .record_login_failure(t.tenant_id, u.user_id, 5, Some(until))
        .await
        .expect("record");
    let got = store.get_user(t.tenant_id, u.user_id).await.expect("get");
    assert_eq!(got.failed_login_count, 5);
    assert_eq!(got.locked_until, Some(until));

    store
        .record_login_failure(t.tenant_id, u.user_id, 6, None)
        .await
        .expect("record again");
    let got = store.get_user(t.tenant_id, u.user_id).await.expect("get");
    assert_eq!(got.failed_login_count, 6);
    assert_eq!(got.locked_until, None);

    assert_not_found(
        store
            .record_login_failure(t.tenant_id, Uuid::now_v7(), 1, None)
            .await,
        "unknown user",
    );
}

// --- sessions ------------------------------------------------------------------

/// `create_session` stores the session and its first token exactly; the
/// session reads back with its user.
pub async fn create_session_stores_session_and_first_token<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let s = Session {
        ip: None,
        user_agent: None,
        ..session(t.tenant_id, u.user_id, now, now + Duration::days(30))
    };
    let first = token(&s, None, now);
    store
        .create_session(&s, Some(&first))
        .await
        .expect("create_session");
    let (s2, t2) = created_session(store, &u, now).await;

    let got = store
        .get_session_with_user(t.tenant_id, s.session_id)
        .await
        .expect("get_session_with_user");
    assert_eq!(got.session, s);
    assert_eq!(got.user, u);
    assert_eq!(get_session(store, &s2).await, s2);

    let tok = store.get_refresh_token(t.tenant_id, &first.token_hash).await;
    assert_eq!(tok.expect("first token"), first);
    let tok = store.get_refresh_token(t.tenant_id, &t2.token_hash).await;
    assert_eq!(tok.expect("second token"), t2);
}

/// A successful login (`create_session`) clears the failure count and lock.
pub async fn create_session_resets_login_failures<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    store
        .record_login_failure(t.tenant_id, u.user_id, 4, Some(now + Duration::minutes(5)))
        .await
        .expect("record");
    created_session(store, &u, now).await;
    let got = store.get_user(t.tenant_id, u.user_id).await.expect("get");
    assert_eq!(got.failed_login_count, 0);
    assert_eq!(got.locked_until, None);
}

/// When the first token cannot be stored, neither is the session and the
/// login failures stay: `create_session` is one transaction.
pub async fn create_session_is_atomic<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let (_, taken) = created_session(store, &u, now).await;
    store
        .record_login_failure(t.tenant_id, u.user_id, 2, None)
        .await
        .expect("record");

    let s = session(t.tenant_id, u.user_id, now, now + Duration::days(1));
    let clash = RefreshToken {
        session_id: s.session_id,
        ..taken.clone()
    };
    let result = store.create_session(&s, Some(&clash)).await;
    assert!(result.is_err(), "duplicate token hash must fail: {result:?}");

    assert_not_found(
        store.get_session_with_user(t.tenant_id, s.session_id).await,
        "session of failed create",
    );
    let got = store.get_user(t.tenant_id, u.user_id).await.expect("get");
    assert_eq!(got.failed_login_count, 2, "failure count rolled back");
    let tok = store.get_refresh_token(t.tenant_id, &taken.token_hash).await;
    assert_eq!(tok.expect("old token"), taken);
}

/// A session cannot be created in a tenant for a user that is not in it.
pub async fn create_session_for_user_of_another_tenant_fails<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let u = created_user(store, a.tenant_id, "ada@example.com").await;
    let s = session(b.tenant_id, u.user_id, now, now + Duration::days(1));
    let first = token(&s, None, now);
    let result = store.create_session(&s, Some(&first)).await;
    assert!(result.is_err(), "cross-tenant session must fail: {result:?}");
    assert_not_found(
        store.get_session_with_user(b.tenant_id, s.session_id).await,
        "session in b",
    );
    assert_not_found(
        store.get_refresh_token(b.tenant_id, &first.token_hash).await,
        "token in b",
    );
}

/// Revoked (and expired) sessions are still returned by
/// `get_session_with_user`, with their revocation: the caller decides.
pub async fn get_session_with_user_returns_revoked_sessions_too<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let (s, _) = created_session(store, &u, now - Duration::days(3)).await;
    store
        .revoke_session(t.tenant_id, s.session_id, "logout", now)
        .await
        .expect("revoke");
    let got = store
        .get_session_with_user(t.tenant_id, s.session_id)
        .await
        .expect("revoked session");
    let expected = Session {
        revoked_at: Some(now),
        revoke_reason: Some("logout".to_owned()),
        ..s
    };
    assert_eq!(got.session, expected);
    assert_eq!(got.user, u);
}

/// Every session lookup and change scoped to another tenant is `NotFound`
/// (or empty) and changes nothing.
pub async fn sessions_of_another_tenant_are_not_found<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let u = created_user(store, a.tenant_id, "ada@example.com").await;
    let (s, _) = created_session(store, &u, now).await;
    let other = b.tenant_id;

    assert_not_found(
        store.get_session_with_user(other, s.session_id).await,
        "get_session_with_user",
    );
    assert_not_found(
        store.revoke_session(other, s.session_id, "x", now).await,
        "revoke_session",
    );
    let listed = store.list_active_sessions(other, u.user_id, now).await;
    assert!(listed.expect("list").is_empty(), "list_active_sessions");
    let revoked = store
        .revoke_user_sessions(other, u.user_id, None, "x", now)
        .await
        .expect("revoke_user_sessions");
    assert!(revoked.is_empty(), "revoke_user_sessions revoked {revoked:?}");

    assert_eq!(get_session(store, &s).await, s, "session unchanged");
}

/// Active sessions exclude revoked ones and those expired at `now` (expiry
/// is exclusive), include only this user's, and come newest first.
pub async fn list_active_sessions_skips_revoked_and_expired<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let bob = created_user(store, t.tenant_id, "bob@example.com").await;

    let (oldest, _) = created_session(store, &u, now - Duration::hours(3)).await;
    let (newest, _) = created_session(store, &u, now - Duration::hours(1)).await;
    let (middle, _) = created_session(store, &u, now - Duration::hours(2)).await;
    let (revoked, _) = created_session(store, &u, now - Duration::minutes(30)).await;
    store
        .revoke_session(t.tenant_id, revoked.session_id, "logout", now)
        .await
        .expect("revoke");
    let expired = session(
        t.tenant_id,
        u.user_id,
        now - Duration::days(2),
        now - Duration::days(1),
    );
    let expiring_now = session(t.tenant_id, u.user_id, now - Duration::days(1), now);
    for s in [&expired, &expiring_now] {
        let first = token(s, None, s.created_at);
        store
            .create_session(s, Some(&first))
            .await
            .expect("create_session");
    }
    created_session(store, &bob, now).await;

    let listed = store
        .list_active_sessions(t.tenant_id, u.user_id, now)
        .await
        .expect("list");
    let ids: Vec<Uuid> = listed.iter().map(|s| s.session_id).collect();
    assert_eq!(ids, vec![newest.session_id, middle.session_id, oldest.session_id]);
    assert_eq!(listed[0], newest);
}

/// Revoking twice keeps the first time and reason and is not an error.
pub async fn revoke_session_keeps_the_first_reason<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let (s, _) = created_session(store, &u, now).await;
    let (untouched, _) = created_session(store, &u, now).await;

    store
        .revoke_session(t.tenant_id, s.session_id, "logout", now)
        .await
        .expect("first revoke");
    store
        .revoke_session(t.tenant_id, s.session_id, "admin", now + Duration::minutes(1))
        .await
        .expect("second revoke");
    let got = get_session(store, &s).await;
    assert_eq!(got.revoked_at, Some(now));
    assert_eq!(got.revoke_reason.as_deref(), Some("logout"));
    assert_eq!(get_session(store, &untouched).await, untouched);
}

/// Revoking a session that does not exist is `NotFound`.
pub async fn revoke_unknown_session_is_not_found<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    assert_not_found(
        store
            .revoke_session(t.tenant_id, Uuid::now_v7(), "logout", now_ms())
            .await,
        "unknown session",
    );
}

/// `revoke_user_sessions` revokes the user's live sessions except the kept
/// one and returns exactly the ids it revoked.
pub async fn revoke_user_sessions_returns_the_revoked_ids<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let bob = created_user(store, t.tenant_id, "bob@example.com").await;
    let (keep, _) = created_session(store, &u, now).await;
    let (s1, _) = created_session(store, &u, now).await;
    let (s2, _) = created_session(store, &u, now).await;
    let (already, _) = created_session(store, &u, now).await;
    let (bobs, _) = created_session(store, &bob, now).await;
    store
        .revoke_session(t.tenant_id, already.session_id, "logout", now)
        .await
        .expect("revoke");

    let later = now + Duration::minutes(1);
    let revoked = store
        .revoke_user_sessions(t.tenant_id, u.user_id, Some(keep.session_id), "admin", later)
        .await
        .expect("revoke_user_sessions");
    let revoked: HashSet<Uuid> = revoked.into_iter().collect();
    assert_eq!(revoked, HashSet::from([s1.session_id, s2.session_id]));
    for s in [&s1, &s2] {
        let s = get_session(store, s).await;
        assert_eq!(s.revoked_at, Some(later));
        assert_eq!(s.revoke_reason.as_deref(), Some("admin"));
    }
    assert_eq!(get_session(store, &keep).await.revoked_at, None);
    assert_eq!(get_session(store, &already).await.revoked_at, Some(now));
    assert_eq!(get_session(store, &bobs).await.revoked_at, None);

    let again = store
        .revoke_user_sessions(t.tenant_id, u.user_id, None, "admin", later)
        .await
        .expect("revoke the rest");
    assert_eq!(again, vec![keep.session_id]);
}

// --- refresh tokens ----------------------------------------------------------------

/// A hash that was never stored is `NotFound`.
pub async fn get_unknown_refresh_token_is_not_found<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    assert_not_found(store.get_refresh_token(t.tenant_id, "00ff").await, "unknown hash");
}

/// A rotation marks the old token used at `now`, stores the next one exactly,
/// and marks the session used at `now`.
pub async fn rotate_refresh_token_spends_old_and_stores_next<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let (s, first) = created_session(store, &u, now).await;
    let (other, other_first) = created_session(store, &u, now).await;

    let later = now + Duration::minutes(10);
    let next = token(&s, Some(&first.token_hash), later);
    let rotated = store
        .rotate_refresh_token(t.tenant_id, &first.token_hash, &next, later)
        .await
        .expect("rotate");
    assert!(rotated, "a fresh token rotates");

    let old = store.get_refresh_token(t.tenant_id, &first.token_hash).await;
    assert_eq!(
        old.expect("old"),
        RefreshToken {
            used_at: Some(later),
            ..first
        }
    );
    let stored = store.get_refresh_token(t.tenant_id, &next.token_hash).await;
    assert_eq!(stored.expect("next"), next);
    let got = get_session(store, &s).await;
    assert_eq!(got.last_used_at, later);
    assert_eq!(got.revoked_at, None);

    // The neighbour is untouched.
    assert_eq!(get_session(store, &other).await, other);
    let tok = store
        .get_refresh_token(t.tenant_id, &other_first.token_hash)
        .await;
    assert_eq!(tok.expect("other token"), other_first);

    // The next token rotates in turn.
    let third = token(&s, Some(&next.token_hash), later);
    let rotated = store
        .rotate_refresh_token(t.tenant_id, &next.token_hash, &third, later)
        .await
        .expect("rotate next");
    assert!(rotated);
}

/// Presenting a spent token again returns `false` and writes nothing.
pub async fn rotate_refresh_token_twice_reports_reuse<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let (s, first) = created_session(store, &u, now).await;

    let t1 = now + Duration::minutes(1);
    let next = token(&s, Some(&first.token_hash), t1);
    assert!(store
        .rotate_refresh_token(t.tenant_id, &first.token_hash, &next, t1)
        .await
        .expect("first rotation"));

    let t2 = now + Duration::minutes(2);
    let replay = token(&s, Some(&first.token_hash), t2);
    let rotated = store
        .rotate_refresh_token(t.tenant_id, &first.token_hash, &replay, t2)
        .await
        .expect("second rotation");
    assert!(!rotated, "a spent token must report reuse");

    assert_not_found(
        store.get_refresh_token(t.tenant_id, &replay.token_hash).await,
        "token of the refused rotation",
    );
    let old = store.get_refresh_token(t.tenant_id, &first.token_hash).await;
    assert_eq!(old.expect("old").used_at, Some(t1), "first use time kept");
    assert_eq!(get_session(store, &s).await.last_used_at, t1);
}

/// Rotating a hash that was never stored is `NotFound` (not reuse: there is
/// no session to punish), and stores nothing.
pub async fn rotate_unknown_refresh_token_is_not_found<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let (s, _) = created_session(store, &u, now).await;
    let next = token(&s, Some("feed"), now);
    assert_not_found(
        store.rotate_refresh_token(t.tenant_id, "feed", &next, now).await,
        "unknown hash",
    );
    assert_not_found(
        store.get_refresh_token(t.tenant_id, &next.token_hash).await,
        "next of refused rotation",
    );
}

/// A token of another tenant can be neither read nor rotated.
pub async fn refresh_tokens_of_another_tenant_are_not_found<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let u = created_user(store, a.tenant_id, "ada@example.com").await;
    let (s, first) = created_session(store, &u, now).await;

    assert_not_found(
        store.get_refresh_token(b.tenant_id, &first.token_hash).await,
        "get_refresh_token",
    );
    let next = RefreshToken {
        tenant_id: b.tenant_id,
        ..token(&s, Some(&first.token_hash), now)
    };
    let result = store
        .rotate_refresh_token(b.tenant_id, &first.token_hash, &next, now)
        .await;
    assert_not_found(result, "rotate_refresh_token");
    let tok = store.get_refresh_token(a.tenant_id, &first.token_hash).await;
    assert_eq!(tok.expect("unspent"), first);
}

/// Concurrent rotations of one token: exactly one wins, the others report
/// reuse, and only the winner's next token is stored.
pub async fn concurrent_rotation_only_one_wins<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    for round in 0..5 {
        let (s, first) = created_session(store, &u, now).await;
        let nexts: Vec<RefreshToken> = (0..4).map(|_| token(&s, Some(&first.token_hash), now)).collect();
        let (r0, r1, r2, r3) = tokio::join!(
            store.rotate_refresh_token(t.tenant_id, &first.token_hash, &nexts[0], now),
            store.rotate_refresh_token(t.tenant_id, &first.token_hash, &nexts[1], now),
            store.rotate_refresh_token(t.tenant_id, &first.token_hash, &nexts[2], now),
            store.rotate_refresh_token(t.tenant_id, &first.token_hash, &nexts[3], now),
        );
        let wins: Vec<bool> = [r0, r1, r2, r3]
            .into_iter()
            .map(|r| r.expect("concurrent rotation must not fail"))
            .collect();
        assert_eq!(wins.iter().filter(|w| **w).count(), 1, "round {round}: {wins:?}");
        for (next, won) in nexts.iter().zip(&wins) {
            let stored = store.get_refresh_token(t.tenant_id, &next.token_hash).await;
            if *won {
                stored.expect("winner's token stored");
            } else {
                assert_not_found(stored, "loser's token");
            }
        }
    }
}

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

/// A kid that exists already is `Conflict("kid")`, even in another tenant
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
    assert_conflict(store.insert_signing_key(&dup).await, "kid");
    let dup_elsewhere = signing_key(b.tenant_id, "k1", now);
    assert_conflict(store.insert_signing_key(&dup_elsewhere).await, "kid");
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

/// A rotation whose new kid exists is `Conflict("kid")` and retires nothing
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
        "kid",
    );
    assert_eq!(
        store.list_signing_keys(t.tenant_id).await.expect("list"),
        vec![current]
    );
}

// --- clients -----------------------------------------------------------------

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
        secret_hash: Some("a".repeat(64)),
        previous_secret_hash: None,
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

/// An unknown id, or the id of another tenant's client, is `NotFound`.
pub async fn get_unknown_client_is_not_found<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    assert_not_found(store.get_client(a.tenant_id, Uuid::now_v7()).await, "unknown");
    let c = confidential_client(a.tenant_id, now_ms());
    store.create_client(&c).await.expect("create");
    assert_not_found(store.get_client(b.tenant_id, c.client_id).await, "other tenant");
}

/// Registering an id twice is `Conflict("client_id")` and keeps the first.
pub async fn create_client_duplicate_id_conflicts<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let first = confidential_client(t.tenant_id, now_ms());
    store.create_client(&first).await.expect("create");
    let dup = Client {
        name: "Impostor".to_owned(),
        ..first.clone()
    };
    assert_conflict(store.create_client(&dup).await, "client_id");
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

/// A rotation makes the new hash current and the current one previous; the
/// one before that is dropped.
pub async fn rotate_client_secret_keeps_only_the_previous_secret<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let c = confidential_client(t.tenant_id, now);
    store.create_client(&c).await.expect("create");
    let later = now + Duration::minutes(5);
    let once = store
        .rotate_client_secret(t.tenant_id, c.client_id, &"c".repeat(64), later)
        .await
        .expect("rotate once");
    assert_eq!(once.secret_hash.as_deref(), Some("c".repeat(64).as_str()));
    assert_eq!(once.previous_secret_hash, c.secret_hash);
    assert_eq!(once.updated_at, later);
    assert_eq!(once.created_at, now);
    let twice = store
        .rotate_client_secret(t.tenant_id, c.client_id, &"d".repeat(64), later)
        .await
        .expect("rotate twice");
    assert_eq!(twice.secret_hash.as_deref(), Some("d".repeat(64).as_str()));
    assert_eq!(
        twice.previous_secret_hash.as_deref(),
        Some("c".repeat(64).as_str())
    );
    assert_eq!(
        store.get_client(t.tenant_id, c.client_id).await.expect("get"),
        twice
    );
}

/// Rotating the secret of an unknown client, or of another tenant's, is
/// `NotFound` and changes nothing.
pub async fn rotate_unknown_client_secret_is_not_found<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    assert_not_found(
        store
            .rotate_client_secret(a.tenant_id, Uuid::now_v7(), &"c".repeat(64), now)
            .await,
        "unknown",
    );
    let c = confidential_client(a.tenant_id, now);
    store.create_client(&c).await.expect("create");
    assert_not_found(
        store
            .rotate_client_secret(b.tenant_id, c.client_id, &"c".repeat(64), now)
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
