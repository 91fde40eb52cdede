//! Conformance checks of consents: upsert, listing, tenancy, withdrawal.

use chrono::Duration;

use super::{consent, created_browser_session, created_client, created_oauth_session, sorted};
use crate::conformance::{assert_not_found, created_session, created_user, get_session, now_ms, tenant};
use crate::{Consent, Store};

// --- consents ----------------------------------------------------------------------

/// A consent reads back exactly; upserting it again replaces the scopes and
/// `updated_at` and keeps the first `created_at`.
pub async fn upsert_consent_replaces_scopes_and_keeps_created_at<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let c = created_client(store, t.tenant_id, now).await;
    assert_not_found(
        store.get_consent(t.tenant_id, u.user_id, c.client_id).await,
        "before any consent",
    );
    let first = consent(&u, &c, &["openid", "profile"], now);
    store.upsert_consent(&first).await.expect("upsert first");
    let got = store.get_consent(t.tenant_id, u.user_id, c.client_id).await;
    assert_eq!(got.expect("first"), first);

    let later = now + Duration::hours(1);
    let second = Consent {
        scopes: vec!["email".to_owned(), "openid".to_owned(), "profile".to_owned()],
        created_at: later,
        updated_at: later,
        ..first.clone()
    };
    store.upsert_consent(&second).await.expect("upsert second");
    let got = store
        .get_consent(t.tenant_id, u.user_id, c.client_id)
        .await
        .expect("second");
    assert_eq!(
        got,
        Consent {
            created_at: now,
            ..second
        }
    );
    let empty = Consent {
        scopes: Vec::new(),
        ..got.clone()
    };
    store.upsert_consent(&empty).await.expect("upsert empty");
    let got = store.get_consent(t.tenant_id, u.user_id, c.client_id).await;
    assert_eq!(got.expect("empty"), empty);
}

/// A user's consents come oldest first, without other users' or other
/// tenants' consents.
pub async fn list_consents_is_per_user_and_oldest_first<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let u = created_user(store, a.tenant_id, "ada@example.com").await;
    let v = created_user(store, a.tenant_id, "bob@example.com").await;
    let c1 = created_client(store, a.tenant_id, now).await;
    let c2 = created_client(store, a.tenant_id, now).await;
    let c3 = created_client(store, a.tenant_id, now).await;
    let newest = consent(&u, &c1, &["openid"], now);
    let oldest = consent(&u, &c2, &["openid", "profile"], now - Duration::days(2));
    let middle = consent(&u, &c3, &[], now - Duration::days(1));
    for c in [&newest, &oldest, &middle] {
        store.upsert_consent(c).await.expect("upsert");
    }
    store
        .upsert_consent(&consent(&v, &c1, &["openid"], now - Duration::days(5)))
        .await
        .expect("upsert other user");

    let listed = store.list_consents(a.tenant_id, u.user_id).await.expect("list");
    assert_eq!(listed, vec![oldest, middle, newest]);
    let none = store.list_consents(b.tenant_id, u.user_id).await.expect("list b");
    assert!(none.is_empty(), "other tenant listed {none:?}");
}

/// Consent lookups and withdrawals scoped to another tenant are `NotFound`
/// and change nothing.
pub async fn consents_of_another_tenant_are_not_found<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let u = created_user(store, a.tenant_id, "ada@example.com").await;
    let c = created_client(store, a.tenant_id, now).await;
    let bs = created_browser_session(store, &u, now).await;
    let s = created_oauth_session(store, &c, &bs, now).await;
    let given = consent(&u, &c, &["openid"], now);
    store.upsert_consent(&given).await.expect("upsert");

    assert_not_found(
        store.get_consent(b.tenant_id, u.user_id, c.client_id).await,
        "get_consent",
    );
    assert_not_found(
        store
            .delete_consent(b.tenant_id, u.user_id, c.client_id, "consent_withdrawn", now)
            .await,
        "delete_consent",
    );
    let got = store.get_consent(a.tenant_id, u.user_id, c.client_id).await;
    assert_eq!(got.expect("unchanged"), given);
    assert_eq!(get_session(store, &s).await, s, "session unchanged");
}

/// Withdrawing a consent deletes it and revokes exactly the user's
/// unrevoked sessions of that client, returning their ids; withdrawing it
/// again is `NotFound`.
pub async fn delete_consent_revokes_only_that_clients_sessions_of_the_user<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let v = created_user(store, t.tenant_id, "bob@example.com").await;
    let c = created_client(store, t.tenant_id, now).await;
    let other_client = created_client(store, t.tenant_id, now).await;
    let bs = created_browser_session(store, &u, now).await;
    let bs_v = created_browser_session(store, &v, now).await;
    let granted_a = created_oauth_session(store, &c, &bs, now).await;
    let granted_b = created_oauth_session(store, &c, &bs, now).await;
    let already = created_oauth_session(store, &c, &bs, now).await;
    store
        .revoke_session(t.tenant_id, already.session_id, "earlier", now)
        .await
        .expect("revoke");
    let other_clients = created_oauth_session(store, &other_client, &bs, now).await;
    let (plain, _) = created_session(store, &u, now).await;
    let other_users = created_oauth_session(store, &c, &bs_v, now).await;
    store
        .upsert_consent(&consent(&u, &c, &["openid"], now))
        .await
        .expect("upsert");
    let kept = consent(&u, &other_client, &["openid"], now);
    store.upsert_consent(&kept).await.expect("upsert other");
    let kept_v = consent(&v, &c, &["openid"], now);
    store.upsert_consent(&kept_v).await.expect("upsert v");

    let later = now + Duration::minutes(5);
    let revoked = store
        .delete_consent(t.tenant_id, u.user_id, c.client_id, "consent_withdrawn", later)
        .await
        .expect("delete");
    assert_eq!(
        sorted(revoked),
        sorted(vec![granted_a.session_id, granted_b.session_id])
    );
    for s in [&granted_a, &granted_b] {
        let got = get_session(store, s).await;
        assert_eq!(got.revoked_at, Some(later));
        assert_eq!(got.revoke_reason.as_deref(), Some("consent_withdrawn"));
    }
    let got = get_session(store, &already).await;
    assert_eq!(
        got.revoke_reason.as_deref(),
        Some("earlier"),
        "first revocation kept"
    );
    assert_eq!(get_session(store, &other_clients).await, other_clients);
    assert_eq!(get_session(store, &plain).await, plain);
    assert_eq!(get_session(store, &other_users).await, other_users);

    assert_not_found(
        store.get_consent(t.tenant_id, u.user_id, c.client_id).await,
        "deleted consent",
    );
    let got = store
        .get_consent(t.tenant_id, u.user_id, other_client.client_id)
        .await;
    assert_eq!(got.expect("other client's consent"), kept);
    let got = store.get_consent(t.tenant_id, v.user_id, c.client_id).await;
    assert_eq!(got.expect("other user's consent"), kept_v);
    assert_not_found(
        store
            .delete_consent(t.tenant_id, u.user_id, c.client_id, "again", later)
            .await,
        "second delete",
    );
}
