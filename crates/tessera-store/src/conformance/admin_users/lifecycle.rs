//! Conformance checks of status changes, soft deletion and erasure.

use chrono::Duration;
use uuid::Uuid;

use super::{listed, query};
use crate::conformance::oidc::{consent, created_browser_session, created_client, inserted_code};
use crate::conformance::rbac::{created_role, user_with_roles};
use crate::conformance::{assert_not_found, created_session, created_user, get_session, now_ms, tenant};
use crate::{Store, UserQuery, UserStatus};

// --- status, soft delete, erase ----------------------------------------------

/// A status change keeps sessions unless asked to revoke them.
pub async fn set_user_status_revokes_sessions_when_asked<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let now = now_ms();
    let (s1, _) = created_session(store, &u, now).await;
    let (s2, _) = created_session(store, &u, now).await;
    let later = now + Duration::seconds(1);

    let suspended = store
        .set_user_status(t.tenant_id, u.user_id, UserStatus::Suspended, None, None, later)
        .await
        .expect("suspend");
    assert_eq!(suspended.status, UserStatus::Suspended);
    assert_eq!(suspended.updated_at, later);
    assert_eq!(get_session(store, &s1).await.revoked_at, None, "kept");

    let disabled = store
        .set_user_status(
            t.tenant_id,
            u.user_id,
            UserStatus::Disabled,
            Some("disabled"),
            None,
            later,
        )
        .await
        .expect("disable");
    assert_eq!(disabled.status, UserStatus::Disabled);
    assert_eq!(
        store.get_user(t.tenant_id, u.user_id).await.expect("get"),
        disabled
    );
    for s in [&s1, &s2] {
        let s = get_session(store, s).await;
        assert_eq!(s.revoked_at, Some(later));
        assert_eq!(s.revoke_reason.as_deref(), Some("disabled"));
    }
    assert_not_found(
        store
            .set_user_status(t.tenant_id, Uuid::now_v7(), UserStatus::Active, None, None, later)
            .await,
        "unknown user",
    );
}

/// A soft-deleted user is hidden from the listing, shown with
/// `deleted = true`, loses its sessions, and comes back on reactivation.
pub async fn soft_delete_hides_users_until_reactivated<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let ada = created_user(store, t.tenant_id, "ada@example.com").await;
    let bob = created_user(store, t.tenant_id, "bob@example.com").await;
    let now = now_ms();
    let (s, _) = created_session(store, &ada, now).await;
    let bs = created_browser_session(store, &ada, now).await;
    let later = now + Duration::seconds(1);

    store
        .soft_delete_user(t.tenant_id, ada.user_id, None, later)
        .await
        .expect("soft delete");
    let deleted = store
        .get_user(t.tenant_id, ada.user_id)
        .await
        .expect("still there");
    assert_eq!(deleted.deleted_at, Some(later));
    let revoked = get_session(store, &s).await;
    assert_eq!(revoked.revoked_at, Some(later));
    assert_eq!(revoked.revoke_reason.as_deref(), Some("deleted"));
    assert!(store
        .get_browser_session(t.tenant_id, &bs.token_hash)
        .await
        .expect("browser session")
        .revoked_at
        .is_some());
    assert_eq!(listed(store, t.tenant_id, &query(10)).await, vec![bob.user_id]);
    let only_deleted = UserQuery {
        deleted: true,
        ..query(10)
    };
    assert_eq!(listed(store, t.tenant_id, &only_deleted).await, vec![ada.user_id]);
    assert_not_found(
        store
            .soft_delete_user(t.tenant_id, Uuid::now_v7(), None, later)
            .await,
        "unknown user",
    );

    let back = store
        .set_user_status(t.tenant_id, ada.user_id, UserStatus::Active, None, None, later)
        .await
        .expect("reactivate");
    assert_eq!(back.deleted_at, None);
    assert_eq!(back.status, UserStatus::Active);
    assert_eq!(
        listed(store, t.tenant_id, &query(10)).await,
        vec![ada.user_id, bob.user_id]
    );
    assert!(listed(store, t.tenant_id, &only_deleted).await.is_empty());
}

/// Erasing a user removes it and everything of it, and nothing else.
pub async fn erase_user_removes_everything_of_the_user<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    created_role(store, t.tenant_id, "viewer", None).await;
    let ada = user_with_roles(store, t.tenant_id, "ada@example.com", &["viewer"]).await;
    let bob = user_with_roles(store, t.tenant_id, "bob@example.com", &["viewer"]).await;
    let now = now_ms();
    let client = created_client(store, t.tenant_id, now).await;
    let mut leftovers = Vec::new();
    for u in [&ada, &bob] {
        let (s, tok) = created_session(store, u, now).await;
        let bs = created_browser_session(store, u, now).await;
        let code = inserted_code(store, &client, &bs, now).await;
        store
            .upsert_consent(&consent(u, &client, &["openid"], now))
            .await
            .expect("consent");
        leftovers.push((s, tok, bs, code));
    }

    store
        .erase_user(t.tenant_id, ada.user_id, None)
        .await
        .expect("erase");
    assert_not_found(store.get_user(t.tenant_id, ada.user_id).await, "user");
    let (s, tok, bs, code) = &leftovers[0];
    assert_not_found(
        store.get_session_with_user(t.tenant_id, s.session_id).await,
        "session",
    );
    assert_not_found(
        store.get_refresh_token(t.tenant_id, &tok.token_hash).await,
        "refresh token",
    );
    assert_not_found(
        store.get_browser_session(t.tenant_id, &bs.token_hash).await,
        "browser session",
    );
    assert_not_found(
        store.get_authorization_code(t.tenant_id, &code.code_hash).await,
        "code",
    );
    assert_not_found(
        store
            .get_consent(t.tenant_id, ada.user_id, client.client_id)
            .await,
        "consent",
    );
    assert!(store
        .list_user_roles(t.tenant_id, ada.user_id)
        .await
        .expect("roles")
        .is_empty());
    assert_not_found(
        store.erase_user(t.tenant_id, ada.user_id, None).await,
        "erase twice",
    );

    // Bob keeps everything.
    let (s, tok, bs, code) = &leftovers[1];
    store.get_user(t.tenant_id, bob.user_id).await.expect("bob");
    store
        .get_session_with_user(t.tenant_id, s.session_id)
        .await
        .expect("session");
    store
        .get_refresh_token(t.tenant_id, &tok.token_hash)
        .await
        .expect("token");
    store
        .get_browser_session(t.tenant_id, &bs.token_hash)
        .await
        .expect("browser session");
    store
        .get_authorization_code(t.tenant_id, &code.code_hash)
        .await
        .expect("code");
    store
        .get_consent(t.tenant_id, bob.user_id, client.client_id)
        .await
        .expect("consent");
    assert_eq!(
        store
            .list_user_roles(t.tenant_id, bob.user_id)
            .await
            .expect("roles"),
        vec!["viewer".to_owned()]
    );
}
