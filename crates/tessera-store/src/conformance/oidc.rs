//! Conformance checks of the OpenID Connect storage: browser sessions,
//! authorization codes, consents, OAuth sessions and the purge.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{
    assert_conflict, assert_not_found, confidential_client, created_session, created_user, get_session,
    now_ms, session, tenant, token,
};
use crate::{
    AuthorizationCode, BrowserSession, Client, CodeRedemption, Conflict, Consent, PurgeCounts, Session,
    Store, User,
};

// --- helpers -----------------------------------------------------------------

fn random_hash() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

pub(super) async fn created_client<S: Store>(
    store: &S,
    tenant_id: Uuid,
    created_at: DateTime<Utc>,
) -> Client {
    let c = confidential_client(tenant_id, created_at);
    store.create_client(&c).await.expect("create_client");
    c
}

fn browser_session(u: &User, now: DateTime<Utc>) -> BrowserSession {
    BrowserSession {
        browser_session_id: Uuid::now_v7(),
        tenant_id: u.tenant_id,
        user_id: u.user_id,
        token_hash: random_hash(),
        auth_time: now - Duration::minutes(1),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        created_at: now,
        expires_at: now + Duration::days(1),
        revoked_at: None,
    }
}

pub(super) async fn created_browser_session<S: Store>(
    store: &S,
    u: &User,
    now: DateTime<Utc>,
) -> BrowserSession {
    let bs = browser_session(u, now);
    store
        .create_browser_session(&bs)
        .await
        .expect("create_browser_session");
    bs
}

fn code(client: &Client, bs: &BrowserSession, now: DateTime<Utc>) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: random_hash(),
        tenant_id: bs.tenant_id,
        client_id: client.client_id,
        user_id: bs.user_id,
        browser_session_id: bs.browser_session_id,
        redirect_uri: "https://billing.example.com/callback".to_owned(),
        scope: "openid profile".to_owned(),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        auth_time: bs.auth_time,
        amr: bs.amr.clone(),
        created_at: now,
        expires_at: now + Duration::seconds(60),
        used_at: None,
        session_id: None,
    }
}

pub(super) async fn inserted_code<S: Store>(
    store: &S,
    client: &Client,
    bs: &BrowserSession,
    now: DateTime<Utc>,
) -> AuthorizationCode {
    let c = code(client, bs, now);
    store
        .insert_authorization_code(&c)
        .await
        .expect("insert_authorization_code");
    c
}

/// A session granted to `client` from `bs`, valid for 30 days.
fn oauth_session(client: &Client, bs: &BrowserSession, now: DateTime<Utc>) -> Session {
    Session {
        client_id: Some(client.client_id),
        scope: Some("openid profile offline_access".to_owned()),
        browser_session_id: Some(bs.browser_session_id),
        auth_time: bs.auth_time,
        amr: bs.amr.clone(),
        ..session(bs.tenant_id, bs.user_id, now, now + Duration::days(30))
    }
}

async fn created_oauth_session<S: Store>(
    store: &S,
    client: &Client,
    bs: &BrowserSession,
    now: DateTime<Utc>,
) -> Session {
    let s = oauth_session(client, bs, now);
    store.create_session(&s, None).await.expect("create_session");
    s
}

pub(super) fn consent(u: &User, client: &Client, scopes: &[&str], at: DateTime<Utc>) -> Consent {
    Consent {
        tenant_id: u.tenant_id,
        user_id: u.user_id,
        client_id: client.client_id,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        created_at: at,
        updated_at: at,
    }
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

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
    store
        .record_login_failure(t.tenant_id, u.user_id, 4, Some(now + Duration::minutes(5)))
        .await
        .expect("record");
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
    store
        .record_login_failure(a.tenant_id, u.user_id, 2, None)
        .await
        .expect("record");

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

// --- authorization codes ------------------------------------------------------------

/// Codes read back exactly, with and without their optional fields; a
/// duplicate hash conflicts; another tenant's code is `NotFound`.
pub async fn authorization_codes_round_trip_every_field<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let u = created_user(store, a.tenant_id, "ada@example.com").await;
    let c = created_client(store, a.tenant_id, now).await;
    let bs = created_browser_session(store, &u, now).await;
    let full = inserted_code(store, &c, &bs, now).await;
    let bare = AuthorizationCode {
        nonce: None,
        code_challenge: None,
        amr: Vec::new(),
        ..code(&c, &bs, now)
    };
    store.insert_authorization_code(&bare).await.expect("insert bare");

    for code in [&full, &bare] {
        let got = store.get_authorization_code(a.tenant_id, &code.code_hash).await;
        assert_eq!(&got.expect("get"), code);
    }
    assert_not_found(
        store.get_authorization_code(a.tenant_id, &random_hash()).await,
        "unknown code",
    );
    assert_not_found(
        store.get_authorization_code(b.tenant_id, &full.code_hash).await,
        "code of another tenant",
    );
    let dup = AuthorizationCode {
        scope: "openid".to_owned(),
        ..full.clone()
    };
    assert_conflict(store.insert_authorization_code(&dup).await, Conflict::CodeHash);
    let got = store.get_authorization_code(a.tenant_id, &full.code_hash).await;
    assert_eq!(got.expect("unchanged"), full);
}

/// The first redemption marks the code used with the new session and stores
/// the session and its refresh token; the second writes nothing and names
/// the first session.
pub async fn redeem_authorization_code_works_once<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let c = created_client(store, t.tenant_id, now).await;
    let bs = created_browser_session(store, &u, now).await;
    let issued = inserted_code(store, &c, &bs, now).await;

    let at = now + Duration::seconds(5);
    let s = oauth_session(&c, &bs, at);
    let first = token(&s, None, at);
    let outcome = store
        .redeem_authorization_code(t.tenant_id, &issued.code_hash, &s, Some(&first), at)
        .await
        .expect("first redemption");
    assert_eq!(outcome, CodeRedemption::Redeemed);
    let used = store
        .get_authorization_code(t.tenant_id, &issued.code_hash)
        .await
        .expect("code");
    let expected = AuthorizationCode {
        used_at: Some(at),
        session_id: Some(s.session_id),
        ..issued.clone()
    };
    assert_eq!(used, expected);
    assert_eq!(get_session(store, &s).await, s);
    let tok = store.get_refresh_token(t.tenant_id, &first.token_hash).await;
    assert_eq!(tok.expect("refresh token"), first);

    let replay = oauth_session(&c, &bs, at);
    let replay_token = token(&replay, None, at);
    let outcome = store
        .redeem_authorization_code(
            t.tenant_id,
            &issued.code_hash,
            &replay,
            Some(&replay_token),
            at + Duration::seconds(1),
        )
        .await
        .expect("second redemption");
    assert_eq!(
        outcome,
        CodeRedemption::AlreadyUsed {
            session_id: Some(s.session_id)
        }
    );
    assert_not_found(
        store.get_session_with_user(t.tenant_id, replay.session_id).await,
        "session of the replay",
    );
    assert_not_found(
        store
            .get_refresh_token(t.tenant_id, &replay_token.token_hash)
            .await,
        "token of the replay",
    );
    let still = store
        .get_authorization_code(t.tenant_id, &issued.code_hash)
        .await
        .expect("code");
    assert_eq!(still, expected, "code unchanged by the replay");
    assert_eq!(get_session(store, &s).await, s, "first session untouched");
}

/// A code redeemed without a refresh token (no `offline_access`) stores the
/// session alone.
pub async fn redeem_authorization_code_without_refresh_token<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let c = created_client(store, t.tenant_id, now).await;
    let bs = created_browser_session(store, &u, now).await;
    let issued = inserted_code(store, &c, &bs, now).await;
    let s = oauth_session(&c, &bs, now);
    let outcome = store
        .redeem_authorization_code(t.tenant_id, &issued.code_hash, &s, None, now)
        .await
        .expect("redeem");
    assert_eq!(outcome, CodeRedemption::Redeemed);
    assert_eq!(get_session(store, &s).await, s);
    let code = store
        .get_authorization_code(t.tenant_id, &issued.code_hash)
        .await
        .expect("code");
    assert_eq!(code.session_id, Some(s.session_id));
    assert_eq!(code.used_at, Some(now));
}

/// An unknown code, or the code of another tenant, is `NotFound` and
/// nothing is written.
pub async fn redeem_unknown_authorization_code_is_not_found<S: Store>(store: &S) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "globex").await;
    let now = now_ms();
    let u = created_user(store, a.tenant_id, "ada@example.com").await;
    let c = created_client(store, a.tenant_id, now).await;
    let bs = created_browser_session(store, &u, now).await;
    let issued = inserted_code(store, &c, &bs, now).await;

    let s = oauth_session(&c, &bs, now);
    assert_not_found(
        store
            .redeem_authorization_code(a.tenant_id, &random_hash(), &s, None, now)
            .await,
        "unknown code",
    );
    assert_not_found(
        store.get_session_with_user(a.tenant_id, s.session_id).await,
        "session of the unknown code",
    );

    let bob = created_user(store, b.tenant_id, "bob@example.com").await;
    let foreign = session(b.tenant_id, bob.user_id, now, now + Duration::days(1));
    let foreign_token = token(&foreign, None, now);
    assert_not_found(
        store
            .redeem_authorization_code(
                b.tenant_id,
                &issued.code_hash,
                &foreign,
                Some(&foreign_token),
                now,
            )
            .await,
        "code of another tenant",
    );
    assert_not_found(
        store.get_session_with_user(b.tenant_id, foreign.session_id).await,
        "session in b",
    );
    assert_not_found(
        store
            .get_refresh_token(b.tenant_id, &foreign_token.token_hash)
            .await,
        "token in b",
    );
    let got = store.get_authorization_code(a.tenant_id, &issued.code_hash).await;
    assert_eq!(got.expect("unchanged"), issued);
}

/// Concurrent redemptions of one code: exactly one wins; the others are
/// told the winner's session, and only the winner's session is stored.
pub async fn concurrent_redemption_only_one_wins<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let c = created_client(store, t.tenant_id, now).await;
    let bs = created_browser_session(store, &u, now).await;
    for round in 0..5 {
        let issued = inserted_code(store, &c, &bs, now).await;
        let sessions: Vec<Session> = (0..4).map(|_| oauth_session(&c, &bs, now)).collect();
        let tokens: Vec<_> = sessions.iter().map(|s| token(s, None, now)).collect();
        let h = &issued.code_hash;
        let (r0, r1, r2, r3) = tokio::join!(
            store.redeem_authorization_code(t.tenant_id, h, &sessions[0], Some(&tokens[0]), now),
            store.redeem_authorization_code(t.tenant_id, h, &sessions[1], Some(&tokens[1]), now),
            store.redeem_authorization_code(t.tenant_id, h, &sessions[2], Some(&tokens[2]), now),
            store.redeem_authorization_code(t.tenant_id, h, &sessions[3], Some(&tokens[3]), now),
        );
        let outcomes: Vec<CodeRedemption> = [r0, r1, r2, r3]
            .into_iter()
            .map(|r| r.expect("concurrent redemption must not fail"))
            .collect();
        let winners: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| **o == CodeRedemption::Redeemed)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        let winner = &sessions[winners[0]];
        for (i, outcome) in outcomes.iter().enumerate() {
            let stored = store
                .get_session_with_user(t.tenant_id, sessions[i].session_id)
                .await;
            let tok = store.get_refresh_token(t.tenant_id, &tokens[i].token_hash).await;
            if i == winners[0] {
                stored.expect("winner's session stored");
                tok.expect("winner's token stored");
            } else {
                assert_eq!(
                    outcome,
                    &CodeRedemption::AlreadyUsed {
                        session_id: Some(winner.session_id)
                    },
                    "round {round}"
                );
                assert_not_found(stored, "loser's session");
                assert_not_found(tok, "loser's token");
            }
        }
    }
}

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
