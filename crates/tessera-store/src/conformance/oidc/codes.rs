//! Conformance checks of authorization codes: storage and redemption.

use chrono::Duration;

use super::{code, created_browser_session, created_client, inserted_code, oauth_session, random_hash};
use crate::conformance::{
    assert_conflict, assert_not_found, created_user, get_session, now_ms, session, tenant, token,
};
use crate::{AuthorizationCode, CodeRedemption, Conflict, Session, Store};

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
        redirect_uri_sent: false,
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
