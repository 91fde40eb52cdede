//! Conformance checks of browser sessions and the OAuth sessions granted
//! from them.

use chrono::Duration;
use uuid::Uuid;

use super::{
    browser_session, created_browser_session, created_client, created_oauth_session, random_hash, sorted,
};
use crate::conformance::{
    assert_not_found, created_session, created_user, failed_logins, get_session, now_ms, session, tenant,
};
use crate::{BrowserSession, Session, Store};

// --- OAuth sessions --------------------------------------------------------------

/// A session without a refresh token stores no token, and its OAuth fields
/// (client, scope, browser session, auth time, amr) read back exactly, as do
/// those of a first-party login.
pub async fn create_session_without_refresh_token_keeps_oauth_fields<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let c = created_client(store, t.tenant_id, now).await;
    let bs = created_browser_session(store, &u, now).await;
    let s = created_oauth_session(store, &c, &bs, now).await;
    let plain = Session {
        amr: Vec::new(),
        ..session(t.tenant_id, u.user_id, now, now + Duration::days(1))
    };
    store.create_session(&plain, None).await.expect("create plain");

    assert_eq!(get_session(store, &s).await, s);
    assert_eq!(get_session(store, &plain).await, plain);
    let listed = store
        .list_active_sessions(t.tenant_id, u.user_id, now)
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&s) && listed.contains(&plain), "{listed:?}");
}

// --- browser sessions --------------------------------------------------------------

/// Every field reads back exactly, by cookie hash and by id, including an
/// empty amr list and a revocation time.
pub async fn browser_sessions_round_trip_every_field<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let a = created_browser_session(store, &u, now).await;
    let b = BrowserSession {
        amr: Vec::new(),
        revoked_at: Some(now + Duration::minutes(3)),
        ip: None,
        user_agent: None,
        last_seen_at: Some(now + Duration::minutes(2)),
        ..browser_session(&u, now)
    };
    store.create_browser_session(&b).await.expect("create b");
    for bs in [&a, &b] {
        let by_hash = store.get_browser_session(t.tenant_id, &bs.token_hash).await;
        assert_eq!(&by_hash.expect("by hash"), bs);
        let by_id = store
            .get_browser_session_by_id(t.tenant_id, bs.browser_session_id)
            .await;
        assert_eq!(&by_id.expect("by id"), bs);
    }
    assert_not_found(
        store.get_browser_session(t.tenant_id, &random_hash()).await,
        "unknown hash",
    );
    assert_not_found(
        store.get_browser_session_by_id(t.tenant_id, Uuid::now_v7()).await,
        "unknown id",
    );
}

/// Signing in through the hosted pages is a successful login: it clears the
/// failure count and lock.
pub async fn create_browser_session_resets_login_failures<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    failed_logins(store, t.tenant_id, u.user_id, 4, Some(now + Duration::minutes(5))).await;
    created_browser_session(store, &u, now).await;
    let got = store.get_user(t.tenant_id, u.user_id).await.expect("get");
    assert_eq!(got.failed_login_count, 0);
    assert_eq!(got.locked_until, None);
}

/// A browser session whose cookie hash is taken is refused, and the failure
/// count stays (one transaction); nor can one be made for a user of another
/// tenant.
pub async fn create_browser_session_is_atomic<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let u = created_user(store, a.tenant_id, "ada@example.com").await;
    let taken = created_browser_session(store, &u, now).await;
    failed_logins(store, a.tenant_id, u.user_id, 2, None).await;

    let clash = BrowserSession {
        token_hash: taken.token_hash.clone(),
        ..browser_session(&u, now)
    };
    let result = store.create_browser_session(&clash).await;
    assert!(result.is_err(), "duplicate token hash must fail: {result:?}");
    assert_not_found(
        store
            .get_browser_session_by_id(a.tenant_id, clash.browser_session_id)
            .await,
        "browser session of failed create",
    );
    let got = store.get_user(a.tenant_id, u.user_id).await.expect("get");
    assert_eq!(got.failed_login_count, 2, "failure count rolled back");

    let foreign = BrowserSession {
        tenant_id: b.tenant_id,
        ..browser_session(&u, now)
    };
    let result = store.create_browser_session(&foreign).await;
    assert!(
        result.is_err(),
        "cross-tenant browser session must fail: {result:?}"
    );
    assert_not_found(
        store
            .get_browser_session_by_id(b.tenant_id, foreign.browser_session_id)
            .await,
        "browser session in b",
    );
}

/// Lookups and ending scoped to another tenant are `NotFound` and change
/// nothing.
pub async fn browser_sessions_of_another_tenant_are_not_found<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let u = created_user(store, a.tenant_id, "ada@example.com").await;
    let c = created_client(store, a.tenant_id, now).await;
    let bs = created_browser_session(store, &u, now).await;
    let s = created_oauth_session(store, &c, &bs, now).await;
    let other = b.tenant_id;

    assert_not_found(
        store.get_browser_session(other, &bs.token_hash).await,
        "get_browser_session",
    );
    assert_not_found(
        store
            .get_browser_session_by_id(other, bs.browser_session_id)
            .await,
        "get_browser_session_by_id",
    );
    assert_not_found(
        store
            .end_browser_session(other, bs.browser_session_id, "logout", now)
            .await,
        "end_browser_session",
    );
    let got = store
        .get_browser_session_by_id(a.tenant_id, bs.browser_session_id)
        .await;
    assert_eq!(got.expect("unchanged"), bs);
    assert_eq!(get_session(store, &s).await, s, "session unchanged");
}

/// Ending a browser session revokes the unrevoked sessions granted from it
/// and returns their ids, and touches no other session of the user. Ending
/// it again is not an error, keeps the first end and revokes nothing more.
pub async fn end_browser_session_revokes_only_its_sessions<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let c = created_client(store, t.tenant_id, now).await;
    let bs = created_browser_session(store, &u, now).await;
    let other_bs = created_browser_session(store, &u, now).await;
    let linked_a = created_oauth_session(store, &c, &bs, now).await;
    let linked_b = created_oauth_session(store, &c, &bs, now).await;
    let already = created_oauth_session(store, &c, &bs, now).await;
    store
        .revoke_session(t.tenant_id, already.session_id, "earlier", now)
        .await
        .expect("revoke");
    let elsewhere = created_oauth_session(store, &c, &other_bs, now).await;
    let (plain, _) = created_session(store, &u, now).await;

    let later = now + Duration::minutes(5);
    let revoked = store
        .end_browser_session(t.tenant_id, bs.browser_session_id, "logout", later)
        .await
        .expect("end");
    assert_eq!(
        sorted(revoked),
        sorted(vec![linked_a.session_id, linked_b.session_id])
    );

    let ended = store
        .get_browser_session_by_id(t.tenant_id, bs.browser_session_id)
        .await
        .expect("ended");
    assert_eq!(ended.revoked_at, Some(later));
    for s in [&linked_a, &linked_b] {
        let got = get_session(store, s).await;
        assert_eq!(got.revoked_at, Some(later));
        assert_eq!(got.revoke_reason.as_deref(), Some("logout"));
    }
    let got = get_session(store, &already).await;
    assert_eq!(
        got.revoke_reason.as_deref(),
        Some("earlier"),
        "first revocation kept"
    );
    assert_eq!(get_session(store, &elsewhere).await, elsewhere);
    assert_eq!(get_session(store, &plain).await, plain);
    let other = store
        .get_browser_session_by_id(t.tenant_id, other_bs.browser_session_id)
        .await;
    assert_eq!(other.expect("other browser session"), other_bs);

    let again = store
        .end_browser_session(
            t.tenant_id,
            bs.browser_session_id,
            "again",
            later + Duration::minutes(1),
        )
        .await
        .expect("end again");
    assert!(again.is_empty(), "second end revoked {again:?}");
    let ended = store
        .get_browser_session_by_id(t.tenant_id, bs.browser_session_id)
        .await
        .expect("ended");
    assert_eq!(ended.revoked_at, Some(later), "first end kept");
    assert_not_found(
        store
            .end_browser_session(t.tenant_id, Uuid::now_v7(), "logout", now)
            .await,
        "unknown browser session",
    );
}
