//! Conformance checks of sessions and refresh tokens: creation, listing,
//! revocation, rotation and reuse.

use super::*;

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
    failed_logins(store, t.tenant_id, u.user_id, 4, Some(now + Duration::minutes(5))).await;
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
    failed_logins(store, t.tenant_id, u.user_id, 2, None).await;

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
