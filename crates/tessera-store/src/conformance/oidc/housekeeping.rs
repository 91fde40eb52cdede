//! Conformance checks of the housekeeping: the purge of expired rows, and
//! the replay guard of client assertions.

use chrono::Duration;
use uuid::Uuid;

use super::{browser_session, code, created_browser_session, created_client, inserted_code};
use crate::conformance::{assert_not_found, created_user, now_ms, tenant};
use crate::{AuthorizationCode, BrowserSession, PurgeCounts, Store};

// --- housekeeping --------------------------------------------------------------------

/// The purge removes, in every tenant, exactly the codes, revoked access
/// tokens and browser sessions that expired before `now` (an expiry equal
/// to `now` stays), and counts them; a second purge finds nothing.
pub async fn purge_expired_removes_only_expired_rows<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let mut expired_codes = Vec::new();
    let mut live_codes = Vec::new();
    let mut expired_browser = Vec::new();
    let mut live_browser = Vec::new();
    let mut assertion_clients = Vec::new();
    for t in [&a, &b] {
        let u = created_user(store, t.tenant_id, "ada@example.com").await;
        let c = created_client(store, t.tenant_id, now).await;
        let old = BrowserSession {
            created_at: now - Duration::days(2),
            expires_at: now - Duration::milliseconds(1),
            ..browser_session(&u, now)
        };
        store
            .create_browser_session(&old)
            .await
            .expect("old browser session");
        let live = created_browser_session(store, &u, now).await;
        let at_now = BrowserSession {
            expires_at: now,
            ..browser_session(&u, now)
        };
        store
            .create_browser_session(&at_now)
            .await
            .expect("browser session at now");

        let expired = AuthorizationCode {
            created_at: now - Duration::minutes(2),
            expires_at: now - Duration::minutes(1),
            ..code(&c, &old, now)
        };
        store
            .insert_authorization_code(&expired)
            .await
            .expect("expired code");
        let used = AuthorizationCode {
            expires_at: now - Duration::seconds(1),
            ..code(&c, &live, now)
        };
        store
            .insert_authorization_code(&used)
            .await
            .expect("expired code 2");
        let fresh = inserted_code(store, &c, &live, now).await;
        let boundary = AuthorizationCode {
            expires_at: now,
            ..code(&c, &live, now)
        };
        store
            .insert_authorization_code(&boundary)
            .await
            .expect("code at now");

        store
            .revoke_access_token(t.tenant_id, "gone", now - Duration::seconds(1), now)
            .await
            .expect("revoke gone");
        store
            .revoke_access_token(t.tenant_id, "kept", now + Duration::minutes(5), now)
            .await
            .expect("revoke kept");
        store
            .revoke_access_token(t.tenant_id, "boundary", now, now)
            .await
            .expect("revoke boundary");
        for (jti, expires_at) in [
            ("gone", now - Duration::seconds(1)),
            ("kept", now + Duration::minutes(5)),
            ("boundary", now),
        ] {
            assert!(store
                .record_client_assertion(t.tenant_id, c.client_id, jti, expires_at)
                .await
                .expect("record assertion"));
        }
        assertion_clients.push(c.clone());

        expired_codes.extend([expired, used]);
        live_codes.extend([fresh, boundary]);
        expired_browser.push(old);
        live_browser.extend([live, at_now]);
    }

    let counts = store.purge_expired(now).await.expect("purge");
    assert_eq!(
        counts,
        PurgeCounts {
            authorization_codes: 4,
            revoked_access_tokens: 2,
            browser_sessions: 2,
            client_assertions: 2,
            one_time_tokens: 0,
            mail: 0,
        }
    );
    for c in &assertion_clients {
        for (jti, still_recorded) in [("gone", false), ("kept", true), ("boundary", true)] {
            let first_use = store
                .record_client_assertion(c.tenant_id, c.client_id, jti, now + Duration::minutes(5))
                .await
                .expect("record again");
            assert_eq!(first_use, !still_recorded, "{jti}");
        }
    }
    for c in &expired_codes {
        assert_not_found(
            store.get_authorization_code(c.tenant_id, &c.code_hash).await,
            "expired code",
        );
    }
    for c in &live_codes {
        let got = store.get_authorization_code(c.tenant_id, &c.code_hash).await;
        assert_eq!(&got.expect("live code"), c);
    }
    for bs in &expired_browser {
        assert_not_found(
            store
                .get_browser_session_by_id(bs.tenant_id, bs.browser_session_id)
                .await,
            "expired browser session",
        );
    }
    for bs in &live_browser {
        let got = store
            .get_browser_session_by_id(bs.tenant_id, bs.browser_session_id)
            .await;
        assert_eq!(&got.expect("live browser session"), bs);
    }
    for t in [&a, &b] {
        let listed = store
            .list_revoked_access_tokens(t.tenant_id, now - Duration::seconds(10))
            .await
            .expect("list");
        assert_eq!(listed, vec!["boundary".to_owned(), "kept".to_owned()]);
    }
    let again = store.purge_expired(now).await.expect("purge again");
    assert_eq!(again, PurgeCounts::default());
}

// --- client assertions ------------------------------------------------------------------

/// A `jti` is accepted once per client: recording it again is a replay,
/// while the same `jti` of another client, or of a client of another
/// tenant, is a first use.
pub async fn client_assertion_jti_is_accepted_once_per_client<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let expires_at = now + Duration::minutes(5);
    let c = created_client(store, a.tenant_id, now).await;
    let d = created_client(store, a.tenant_id, now).await;
    let e = created_client(store, b.tenant_id, now).await;

    let record = |tenant_id: Uuid, client_id: Uuid, jti: &'static str| async move {
        store
            .record_client_assertion(tenant_id, client_id, jti, expires_at)
            .await
            .expect("record_client_assertion")
    };
    assert!(record(a.tenant_id, c.client_id, "jti-1").await, "first use");
    assert!(!record(a.tenant_id, c.client_id, "jti-1").await, "replay");
    assert!(record(a.tenant_id, c.client_id, "jti-2").await, "another jti");
    assert!(record(a.tenant_id, d.client_id, "jti-1").await, "another client");
    assert!(record(b.tenant_id, e.client_id, "jti-1").await, "another tenant");
    assert!(
        !record(b.tenant_id, e.client_id, "jti-1").await,
        "replay there too"
    );
}

/// Of many concurrent uses of one assertion (several nodes at once),
/// exactly one is a first use.
pub async fn concurrent_client_assertions_only_one_wins<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let c = created_client(store, t.tenant_id, now).await;
    let record =
        || store.record_client_assertion(t.tenant_id, c.client_id, "raced", now + Duration::minutes(1));
    let (r0, r1, r2, r3) = tokio::join!(record(), record(), record(), record());
    let wins = [r0, r1, r2, r3]
        .into_iter()
        .map(|r| r.expect("concurrent record must not fail"))
        .filter(|&first| first)
        .count();
    assert_eq!(wins, 1);
}
