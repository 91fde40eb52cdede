//! The outbox and mailed one-time tokens.

use super::*;
use crate::{
    MailQuery, MailStatus, OneTimePurpose, OneTimeToken, OutgoingMail, TokenEffect, UserProfileUpdate,
};

fn mail(tenant_id: Uuid, recipient: &str, now: DateTime<Utc>) -> OutgoingMail {
    OutgoingMail {
        mail_id: Uuid::now_v7(),
        tenant_id,
        kind: "verify_email".to_owned(),
        recipient: recipient.to_owned(),
        sealed_message: vec![1, 2, 3, 0, 255],
        created_at: now,
    }
}

fn one_time(user: &User, purpose: OneTimePurpose, now: DateTime<Utc>) -> OneTimeToken {
    OneTimeToken {
        token_id: Uuid::now_v7(),
        tenant_id: user.tenant_id,
        user_id: user.user_id,
        purpose,
        token_hash: format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()),
        code_hash: format!("{}", Uuid::new_v4().simple()),
        email: user.email.clone(),
        failed_attempts: 0,
        created_at: now,
        expires_at: now + Duration::minutes(30),
        used_at: None,
    }
}

fn pending() -> MailQuery {
    MailQuery {
        status: Some(MailStatus::Pending),
        before: None,
        limit: 100,
    }
}

/// Queued mail is claimed once per lease, oldest first, and its delivery
/// record follows each attempt; a sent or failed mail loses its message.
pub async fn mail_is_claimed_once_and_its_delivery_recorded<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let first = mail(t.tenant_id, "a@example.com", now);
    let second = mail(t.tenant_id, "b@example.com", now + Duration::milliseconds(1));
    store.queue_mail(&first).await.unwrap();
    store.queue_mail(&second).await.unwrap();
    let later = now + Duration::seconds(1);
    let lease = later + Duration::seconds(60);
    let claimed = store.claim_due_mail(later, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].mail, first, "oldest first, message intact");
    assert_eq!(claimed[0].attempts, 0);
    assert!(
        store.claim_due_mail(later, lease, 10).await.unwrap().is_empty(),
        "a leased mail is not claimed again"
    );
    store.record_mail_sent(first.mail_id, later).await.unwrap();
    store
        .record_mail_failure(
            second.mail_id,
            "451 try later",
            Some(later + Duration::seconds(30)),
        )
        .await
        .unwrap();
    let again = store
        .claim_due_mail(later + Duration::seconds(31), lease + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "the failed attempt is retried after its delay");
    assert_eq!(again[0].mail.mail_id, second.mail_id);
    assert_eq!(again[0].attempts, 1);
    store
        .record_mail_failure(second.mail_id, "550 no such user", None)
        .await
        .unwrap();
    let all = store
        .list_mail(
            t.tenant_id,
            &MailQuery {
                status: None,
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].mail_id, second.mail_id, "newest first");
    assert_eq!(all[0].status, MailStatus::Failed);
    assert_eq!(all[0].attempts, 2);
    assert_eq!(all[0].last_error.as_deref(), Some("550 no such user"));
    assert_eq!(all[1].status, MailStatus::Sent);
    assert_eq!(all[1].sent_at, Some(later));
    let failed = store
        .list_mail(
            t.tenant_id,
            &MailQuery {
                status: Some(MailStatus::Failed),
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    let older = store
        .list_mail(
            t.tenant_id,
            &MailQuery {
                status: None,
                before: Some((all[0].created_at, all[0].mail_id)),
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(older.len(), 1, "the cursor pages past the newest");
    assert_eq!(older[0].mail_id, first.mail_id);
    let other = tenant(store, "other").await;
    assert!(store
        .list_mail(other.tenant_id, &pending())
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .claim_due_mail(later + Duration::hours(1), lease, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Two workers claiming at once never both get the same mail.
pub async fn concurrent_claims_never_share_a_mail<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    for i in 0..6 {
        store
            .queue_mail(&mail(t.tenant_id, &format!("{i}@example.com"), now))
            .await
            .unwrap();
    }
    let later = now + Duration::seconds(1);
    let lease = later + Duration::seconds(60);
    let (a, b) = tokio::join!(
        store.claim_due_mail(later, lease, 6),
        store.claim_due_mail(later, lease, 6)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let ids: HashSet<Uuid> = a.iter().chain(&b).map(|c| c.mail.mail_id).collect();
    assert_eq!(ids.len(), a.len() + b.len(), "no mail claimed twice");
    assert_eq!(ids.len(), 6, "every due mail claimed");
}

/// A user created with a verification token and mail has all three, or
/// (on conflict) none.
pub async fn create_user_with_mail_is_atomic<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = user(t.tenant_id, "ada@example.com", None, now);
    let token = one_time(&u, OneTimePurpose::VerifyEmail, now);
    store
        .create_user_with_mail(&u, &[], Some(&token), &[mail(t.tenant_id, &u.email, now)])
        .await
        .unwrap();
    let found = store
        .find_one_time_token(t.tenant_id, OneTimePurpose::VerifyEmail, &token.token_hash)
        .await
        .unwrap();
    assert_eq!(found, token);
    let twin = user(t.tenant_id, "ada@example.com", None, now);
    let twin_token = one_time(&twin, OneTimePurpose::VerifyEmail, now);
    let err = store
        .create_user_with_mail(
            &twin,
            &[],
            Some(&twin_token),
            &[mail(t.tenant_id, &twin.email, now)],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Conflict::Email)), "{err:?}");
    let queued = store.list_mail(t.tenant_id, &pending()).await.unwrap();
    assert_eq!(queued.len(), 1, "the refused registration queued nothing");
    assert_not_found(
        store
            .find_one_time_token(t.tenant_id, OneTimePurpose::VerifyEmail, &twin_token.token_hash)
            .await,
        "expected NotFound",
    );
}

/// A new token retires the user's older ones of the same purpose and keeps
/// their count of wrong codes; other purposes are untouched.
pub async fn a_new_token_retires_older_ones_and_keeps_their_failures<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let now = now_ms();
    let first = one_time(&u, OneTimePurpose::ResetPassword, now);
    assert_eq!(
        store
            .issue_one_time_token(&first, now - Duration::days(1), None, &[])
            .await
            .unwrap(),
        Some(0)
    );
    let verify = one_time(&u, OneTimePurpose::VerifyEmail, now);
    store
        .issue_one_time_token(&verify, now - Duration::days(1), None, &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .record_code_failure(t.tenant_id, first.token_id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .record_code_failure(t.tenant_id, first.token_id)
            .await
            .unwrap(),
        2
    );
    let second = one_time(&u, OneTimePurpose::ResetPassword, now + Duration::seconds(5));
    let carried = store
        .issue_one_time_token(
            &second,
            now - Duration::days(1),
            None,
            &[mail(t.tenant_id, &u.email, now)],
        )
        .await
        .unwrap();
    assert_eq!(carried, Some(2), "asking again does not reset the count");
    let latest = store
        .latest_one_time_token(t.tenant_id, u.user_id, OneTimePurpose::ResetPassword)
        .await
        .unwrap();
    assert_eq!(latest.token_id, second.token_id);
    assert_eq!(latest.failed_attempts, 2);
    let by_address = store
        .latest_one_time_token_for_email(t.tenant_id, OneTimePurpose::ResetPassword, &u.email)
        .await
        .unwrap();
    assert_eq!(
        by_address.token_id, second.token_id,
        "found by the address it was sent to"
    );
    assert_not_found(
        store
            .latest_one_time_token_for_email(t.tenant_id, OneTimePurpose::SignIn, &u.email)
            .await,
        "no token of that purpose",
    );
    assert_not_found(
        store
            .find_one_time_token(t.tenant_id, OneTimePurpose::ResetPassword, &first.token_hash)
            .await,
        "the older token is retired",
    );
    store
        .find_one_time_token(t.tenant_id, OneTimePurpose::VerifyEmail, &verify.token_hash)
        .await
        .expect("another purpose is untouched");
    let third = one_time(&u, OneTimePurpose::ResetPassword, now + Duration::days(3));
    let fresh = store
        .issue_one_time_token(&third, now + Duration::days(2), None, &[])
        .await
        .unwrap();
    assert_eq!(fresh, Some(0), "failures older than the window are not carried");
    assert_eq!(store.list_mail(t.tenant_id, &pending()).await.unwrap().len(), 1);
}

/// A token is spent once, never after expiry or too many wrong codes, and
/// its effect lands with it.
pub async fn spending_a_token_works_once_and_applies_its_effect<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let now = now_ms();
    let mut verify = one_time(&u, OneTimePurpose::VerifyEmail, now);
    verify.email = "ada.new@example.com".to_owned();
    store.issue_one_time_token(&verify, now, None, &[]).await.unwrap();
    let expired_at = verify.expires_at;
    assert_not_found(
        store
            .spend_one_time_token(
                t.tenant_id,
                verify.token_id,
                5,
                expired_at,
                TokenEffect::VerifyEmail,
                &[],
            )
            .await,
        "expired",
    );
    store
        .spend_one_time_token(
            t.tenant_id,
            verify.token_id,
            5,
            now,
            TokenEffect::VerifyEmail,
            &[mail(t.tenant_id, &u.email, now)],
        )
        .await
        .unwrap();
    let after = store.get_user(t.tenant_id, u.user_id).await.unwrap();
    assert_eq!(
        after.email, "ada.new@example.com",
        "the token's address becomes the user's"
    );
    assert!(after.email_verified);
    assert_not_found(
        store
            .spend_one_time_token(
                t.tenant_id,
                verify.token_id,
                5,
                now,
                TokenEffect::VerifyEmail,
                &[],
            )
            .await,
        "spent once",
    );
    assert_eq!(store.list_mail(t.tenant_id, &pending()).await.unwrap().len(), 1);

    let s = session(t.tenant_id, u.user_id, now, now + Duration::days(1));
    store
        .create_session(&s, Some(&token(&s, None, now)))
        .await
        .unwrap();
    let reset = one_time(&after, OneTimePurpose::ResetPassword, now);
    store.issue_one_time_token(&reset, now, None, &[]).await.unwrap();
    for _ in 0..3 {
        store
            .record_code_failure(t.tenant_id, reset.token_id)
            .await
            .unwrap();
    }
    let effect = TokenEffect::SetPassword {
        password_hash: "new-hash",
        reason: "password_reset",
    };
    assert_not_found(
        store
            .spend_one_time_token(t.tenant_id, reset.token_id, 3, now, effect, &[])
            .await,
        "void after too many wrong codes",
    );
    store
        .spend_one_time_token(t.tenant_id, reset.token_id, 5, now, effect, &[])
        .await
        .unwrap();
    let after = store.get_user(t.tenant_id, u.user_id).await.unwrap();
    assert_eq!(after.password_hash.as_deref(), Some("new-hash"));
    let stored = store
        .get_session_with_user(t.tenant_id, s.session_id)
        .await
        .unwrap()
        .session;
    assert_eq!(
        stored.revoke_reason.as_deref(),
        Some("password_reset"),
        "every session ends"
    );
}

/// Of concurrent spends of one token exactly one wins.
pub async fn concurrent_spends_of_a_token_only_one_wins<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let now = now_ms();
    for round in 0..5 {
        let tok = one_time(&u, OneTimePurpose::SignIn, now);
        store.issue_one_time_token(&tok, now, None, &[]).await.unwrap();
        let spend =
            || store.spend_one_time_token(t.tenant_id, tok.token_id, 5, now, TokenEffect::Nothing, &[]);
        let (a, b, c, d) = tokio::join!(spend(), spend(), spend(), spend());
        let wins = [a, b, c, d]
            .into_iter()
            .filter(|r| match r {
                Ok(()) => true,
                Err(StoreError::NotFound) => false,
                Err(other) => panic!("round {round}: {other:?}"),
            })
            .count();
        assert_eq!(wins, 1, "round {round}");
    }
}

/// Deleting a user deletes their tokens.
pub async fn tokens_go_with_their_user<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let now = now_ms();
    let tok = one_time(&u, OneTimePurpose::SignIn, now);
    store.issue_one_time_token(&tok, now, None, &[]).await.unwrap();
    store.erase_user(t.tenant_id, u.user_id, None).await.unwrap();
    assert_not_found(
        store
            .find_one_time_token(t.tenant_id, OneTimePurpose::SignIn, &tok.token_hash)
            .await,
        "expected NotFound",
    );
}

/// Within the cooldown a new token is refused (nothing written), also when
/// requests race: of concurrent issues exactly one gets through.
pub async fn the_cooldown_lets_one_token_through<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let now = now_ms();
    let quiet_since = Some(now - Duration::seconds(60));
    let since = now - Duration::days(1);
    let tokens: Vec<OneTimeToken> = (0..4)
        .map(|_| one_time(&u, OneTimePurpose::ResetPassword, now))
        .collect();
    let mails: Vec<OutgoingMail> = (0..4).map(|_| mail(t.tenant_id, &u.email, now)).collect();
    let issue = |i: usize| {
        store.issue_one_time_token(&tokens[i], since, quiet_since, std::slice::from_ref(&mails[i]))
    };
    let (a, b, c, d) = tokio::join!(issue(0), issue(1), issue(2), issue(3));
    let issued = [a, b, c, d]
        .into_iter()
        .map(|r| r.unwrap())
        .filter(Option::is_some)
        .count();
    assert_eq!(issued, 1, "one token through the cooldown");
    assert_eq!(
        store.list_mail(t.tenant_id, &pending()).await.unwrap().len(),
        1,
        "one mail queued"
    );
    let later = one_time(&u, OneTimePurpose::ResetPassword, now + Duration::seconds(61));
    let after = store
        .issue_one_time_token(&later, since, Some(now + Duration::milliseconds(1)), &[])
        .await
        .unwrap();
    assert_eq!(after, Some(0), "after the cooldown");
}

async fn live<S: Store>(store: &S, token: &OneTimeToken) -> crate::StoreResult<OneTimeToken> {
    store
        .find_one_time_token(token.tenant_id, token.purpose, &token.token_hash)
        .await
}

/// A new password (set, or reset by a mailed token) and a new address
/// retire every token mailed before, of every purpose.
pub async fn a_new_password_or_address_retires_every_mailed_token<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let now = now_ms();
    let since = now - Duration::days(1);

    let mut change = one_time(&u, OneTimePurpose::VerifyEmail, now);
    change.email = "ada.new@example.com".to_owned();
    let reset = one_time(&u, OneTimePurpose::ResetPassword, now);
    store
        .issue_one_time_token(&change, since, None, &[])
        .await
        .unwrap();
    store
        .issue_one_time_token(&reset, since, None, &[])
        .await
        .unwrap();
    let effect = TokenEffect::SetPassword {
        password_hash: "h2",
        reason: "password_reset",
    };
    store
        .spend_one_time_token(t.tenant_id, reset.token_id, 5, now, effect, &[])
        .await
        .unwrap();
    assert_not_found(
        live(store, &change).await,
        "a pending email change ends with a reset",
    );

    let change = one_time(&u, OneTimePurpose::VerifyEmail, now);
    store
        .issue_one_time_token(&change, since, None, &[])
        .await
        .unwrap();
    store
        .set_password_hash(t.tenant_id, u.user_id, "h3", None, "password_changed", now)
        .await
        .unwrap();
    assert_not_found(live(store, &change).await, "and with a password change");

    let reset = one_time(&u, OneTimePurpose::ResetPassword, now);
    store
        .issue_one_time_token(&reset, since, None, &[])
        .await
        .unwrap();
    let update = UserProfileUpdate {
        email: Some("ada.other@example.com".to_owned()),
        ..UserProfileUpdate::default()
    };
    store
        .update_user_profile(t.tenant_id, u.user_id, &update, now)
        .await
        .unwrap();
    assert_not_found(
        live(store, &reset).await,
        "a reset link to the old address ends with the change",
    );

    let reset = one_time(&u, OneTimePurpose::ResetPassword, now);
    let mut verify = one_time(&u, OneTimePurpose::VerifyEmail, now);
    verify.email = "ada.other@example.com".to_owned();
    store
        .issue_one_time_token(&reset, since, None, &[])
        .await
        .unwrap();
    store
        .issue_one_time_token(&verify, since, None, &[])
        .await
        .unwrap();
    store
        .spend_one_time_token(
            t.tenant_id,
            verify.token_id,
            5,
            now,
            TokenEffect::VerifyEmail,
            &[],
        )
        .await
        .unwrap();
    assert_not_found(live(store, &reset).await, "and with a verified address");
}

/// Purging drops tokens a day after they were issued (once expired) and
/// delivery records 30 days after; pending mail stays; a record of a mail
/// no longer pending is refused.
pub async fn purge_removes_old_tokens_and_delivery_records<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let now = now_ms();
    let old = one_time(&u, OneTimePurpose::ResetPassword, now - Duration::days(2));
    let recent = one_time(&u, OneTimePurpose::VerifyEmail, now - Duration::hours(2));
    store
        .issue_one_time_token(&old, now - Duration::days(3), None, &[])
        .await
        .unwrap();
    store
        .issue_one_time_token(&recent, now - Duration::days(3), None, &[])
        .await
        .unwrap();
    let sent = mail(t.tenant_id, "a@example.com", now - Duration::days(31));
    let waiting = mail(t.tenant_id, "b@example.com", now - Duration::days(31));
    store.queue_mail(&sent).await.unwrap();
    store.queue_mail(&waiting).await.unwrap();
    store
        .record_mail_sent(sent.mail_id, now - Duration::days(31))
        .await
        .unwrap();
    assert_not_found(
        store.record_mail_failure(sent.mail_id, "late worker", None).await,
        "a sent mail is not marked failed by a late worker",
    );
    let counts = store.purge_expired(now).await.unwrap();
    assert_eq!((counts.one_time_tokens, counts.mail), (1, 1));
    store
        .find_one_time_token(t.tenant_id, OneTimePurpose::VerifyEmail, &recent.token_hash)
        .await
        .expect("an expired token issued within a day is kept (its failures count)");
    let left = store
        .list_mail(
            t.tenant_id,
            &MailQuery {
                status: None,
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].mail_id, waiting.mail_id, "pending mail is never purged");
}
