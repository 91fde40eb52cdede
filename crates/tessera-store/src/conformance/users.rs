//! Conformance checks of users: round trips, uniqueness, lookups, profile
//! and password changes, login failures.

use super::*;

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
    assert_conflict(store.create_user(&same_email, &[]).await, Conflict::Email);
    assert_not_found(
        store.get_user(t.tenant_id, same_email.user_id).await,
        "same email",
    );

    let same_username = user(t.tenant_id, "other@example.com", Some("ada"), now);
    assert_conflict(store.create_user(&same_username, &[]).await, Conflict::Username);
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
        store.record_login_failure(other, u.user_id, &|_| Some(now)).await,
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

/// Taking another user's username is `Conflict(Username)` and leaves the
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
        Conflict::Username,
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

/// `record_login_failure` adds one to the count and sets the lock its
/// callback asks for at the new count, never shortening a lock in place;
/// an unknown user is `NotFound`.
pub async fn record_login_failure_counts_and_locks<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let until = now + Duration::minutes(15);
    let lock_at_two = move |count: i32| (count >= 2).then_some(until);

    let first = store
        .record_login_failure(t.tenant_id, u.user_id, &lock_at_two)
        .await;
    assert_eq!(first.expect("first"), 1);
    let got = store.get_user(t.tenant_id, u.user_id).await.expect("get");
    assert_eq!((got.failed_login_count, got.locked_until), (1, None));

    let second = store
        .record_login_failure(t.tenant_id, u.user_id, &lock_at_two)
        .await;
    assert_eq!(second.expect("second"), 2);
    let got = store.get_user(t.tenant_id, u.user_id).await.expect("get");
    assert_eq!((got.failed_login_count, got.locked_until), (2, Some(until)));

    let shorter = move |_: i32| Some(now + Duration::minutes(1));
    let third = store.record_login_failure(t.tenant_id, u.user_id, &shorter).await;
    assert_eq!(third.expect("third"), 3);
    let got = store.get_user(t.tenant_id, u.user_id).await.expect("get");
    assert_eq!(got.locked_until, Some(until), "a lock is never shortened");

    assert_not_found(
        store
            .record_login_failure(t.tenant_id, Uuid::now_v7(), &lock_at_two)
            .await,
        "unknown user",
    );
}

/// Ten failures at the same moment all count (the count is incremented in
/// the database, not read and written back), each sees a count of its own,
/// and the lock the threshold asks for is set.
pub async fn concurrent_login_failures_all_count<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let until = now + Duration::minutes(5);
    let lock_at_five = move |count: i32| (count >= 5).then_some(until);
    let fail = || store.record_login_failure(t.tenant_id, u.user_id, &lock_at_five);
    let (a, b, c, d, e, f, g, h, i, j) = tokio::join!(
        fail(),
        fail(),
        fail(),
        fail(),
        fail(),
        fail(),
        fail(),
        fail(),
        fail(),
        fail()
    );
    let mut counts: Vec<i32> = [a, b, c, d, e, f, g, h, i, j]
        .into_iter()
        .map(|r| r.expect("record_login_failure"))
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=10).collect::<Vec<_>>());
    let got = store.get_user(t.tenant_id, u.user_id).await.expect("get");
    assert_eq!(got.failed_login_count, 10);
    assert_eq!(got.locked_until, Some(until));
}
