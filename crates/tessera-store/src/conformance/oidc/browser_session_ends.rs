//! Conformance checks of the person's view of browser sessions: listed and
//! touched, and ended by every event that ends the person's other sessions
//! (a stolen SSO cookie must not outlive a password change or a logout
//! everywhere).

use chrono::Duration;
use uuid::Uuid;

use super::{browser_session, created_browser_session, created_client, created_oauth_session};
use crate::conformance::{assert_not_found, created_session, created_user, now_ms, tenant};
use crate::{BrowserSession, Store, UserStatus};

async fn revoked_at<S: Store>(store: &S, bs: &BrowserSession) -> Option<chrono::DateTime<chrono::Utc>> {
    store
        .get_browser_session_by_id(bs.tenant_id, bs.browser_session_id)
        .await
        .expect("browser session")
        .revoked_at
}

/// The user's live browser sessions are listed newest first — not ended
/// ones, not expired ones, not another user's — and touching one records
/// its last use.
pub async fn browser_sessions_are_listed_and_touched<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let bob = created_user(store, t.tenant_id, "bob@example.com").await;
    let older = created_browser_session(store, &u, now).await;
    let newer = created_browser_session(store, &u, now + Duration::seconds(1)).await;
    let ended = created_browser_session(store, &u, now).await;
    store
        .end_browser_session(t.tenant_id, ended.browser_session_id, "logout", now)
        .await
        .expect("end");
    let expired = BrowserSession {
        expires_at: now + Duration::seconds(2),
        ..browser_session(&u, now)
    };
    store.create_browser_session(&expired).await.expect("expired");
    created_browser_session(store, &bob, now).await;

    let at = now + Duration::seconds(2);
    let listed = store
        .list_active_browser_sessions(t.tenant_id, u.user_id, at)
        .await
        .expect("list");
    let ids: Vec<Uuid> = listed.iter().map(|b| b.browser_session_id).collect();
    assert_eq!(ids, [newer.browser_session_id, older.browser_session_id]);
    assert_eq!(listed[1], older, "every field listed");

    let seen = now + Duration::minutes(3);
    store
        .touch_browser_session(t.tenant_id, older.browser_session_id, seen)
        .await
        .expect("touch");
    let got = store
        .get_browser_session_by_id(t.tenant_id, older.browser_session_id)
        .await
        .expect("get");
    assert_eq!(got.last_seen_at, Some(seen));
    assert_not_found(
        store
            .touch_browser_session(t.tenant_id, Uuid::now_v7(), seen)
            .await,
        "unknown browser session",
    );
}

/// A password change keeps only the browser the kept session came from; a
/// change from a session without a browser (the JSON API) ends every
/// browser session of the user, and another user's stay.
pub async fn password_change_ends_other_browser_sessions<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let bob = created_user(store, t.tenant_id, "bob@example.com").await;
    let c = created_client(store, t.tenant_id, now).await;
    let mine = created_browser_session(store, &u, now).await;
    let stolen = created_browser_session(store, &u, now).await;
    let bobs = created_browser_session(store, &bob, now).await;
    let kept = created_oauth_session(store, &c, &mine, now).await;

    let later = now + Duration::minutes(1);
    store
        .set_password_hash(
            t.tenant_id,
            u.user_id,
            "$argon2id$new",
            Some(kept.session_id),
            "password_changed",
            later,
        )
        .await
        .expect("change");
    assert_eq!(revoked_at(store, &mine).await, None, "the kept session's browser");
    assert_eq!(revoked_at(store, &stolen).await, Some(later));
    assert_eq!(revoked_at(store, &bobs).await, None);

    let (api, _) = created_session(store, &u, later).await;
    let again = created_browser_session(store, &u, later).await;
    let latest = later + Duration::minutes(1);
    store
        .set_password_hash(
            t.tenant_id,
            u.user_id,
            "$argon2id$newer",
            Some(api.session_id),
            "password_changed",
            latest,
        )
        .await
        .expect("change from the API");
    assert_eq!(revoked_at(store, &mine).await, Some(latest));
    assert_eq!(revoked_at(store, &again).await, Some(latest));
    assert_eq!(revoked_at(store, &bobs).await, None);
}

/// Logging out everywhere, a force-logout and suspending the user end every
/// browser session of the user (and only theirs).
pub async fn revoking_every_session_ends_browser_sessions<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let bob = created_user(store, t.tenant_id, "bob@example.com").await;
    let first = created_browser_session(store, &u, now).await;
    let bobs = created_browser_session(store, &bob, now).await;
    let later = now + Duration::minutes(1);
    store
        .revoke_user_sessions(t.tenant_id, u.user_id, None, "logout_all", later)
        .await
        .expect("logout all");
    assert_eq!(revoked_at(store, &first).await, Some(later));
    assert_eq!(revoked_at(store, &bobs).await, None);

    let second = created_browser_session(store, &u, later).await;
    let latest = later + Duration::minutes(1);
    store
        .set_user_status(
            t.tenant_id,
            u.user_id,
            UserStatus::Suspended,
            Some("suspended"),
            None,
            latest,
        )
        .await
        .expect("suspend");
    assert_eq!(revoked_at(store, &second).await, Some(latest));
    assert_eq!(revoked_at(store, &bobs).await, None);
}
