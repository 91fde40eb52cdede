//! Conformance checks of the administration of users: creation with roles,
//! administrators' profile changes, the admin listing (filters, orders,
//! pages), status changes, soft deletion, erasure, and the guard that keeps
//! the last holder of a protected role.

use std::collections::HashSet;

use chrono::Duration;
use uuid::Uuid;

use super::oidc::{consent, created_browser_session, created_client, inserted_code};
use super::rbac::{created_role, user_with_roles};
use super::{
    assert_conflict, assert_not_found, created_session, created_user, get_session, now_ms, tenant, user,
};
use crate::{
    Conflict, KeepLastHolder, Store, StoreError, User, UserCursor, UserProfileUpdate, UserQuery, UserSort,
    UserStatus,
};

// --- helpers -----------------------------------------------------------------

/// The guard the admin API puts on its writes.
const KEEP: KeepLastHolder<'static> = KeepLastHolder { role: "super_admin" };

fn query(limit: u32) -> UserQuery {
    UserQuery {
        limit,
        ..UserQuery::default()
    }
}

async fn listed<S: Store>(store: &S, tenant_id: Uuid, q: &UserQuery) -> Vec<Uuid> {
    store
        .list_users(tenant_id, q)
        .await
        .expect("list_users")
        .into_iter()
        .map(|u| u.user_id)
        .collect()
}

fn ids(users: &[&User]) -> Vec<Uuid> {
    users.iter().map(|u| u.user_id).collect()
}

/// `create_user` assigns its roles in the same transaction; an unknown role
/// leaves no user behind.
pub async fn create_user_with_roles_is_atomic<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    created_role(store, t.tenant_id, "viewer", None).await;
    created_role(store, t.tenant_id, "admin", None).await;
    let u = user_with_roles(store, t.tenant_id, "ada@example.com", &["viewer", "admin"]).await;
    assert_eq!(
        store
            .list_user_roles(t.tenant_id, u.user_id)
            .await
            .expect("roles"),
        vec!["admin".to_owned(), "viewer".to_owned()]
    );

    let failed = user(t.tenant_id, "bob@example.com", Some("bob"), now_ms());
    assert_not_found(
        store
            .create_user(&failed, &["viewer".to_owned(), "missing".to_owned()])
            .await,
        "unknown role",
    );
    assert_not_found(store.get_user(t.tenant_id, failed.user_id).await, "no user row");
    // The email and username are still free.
    store
        .create_user(&failed, &[])
        .await
        .expect("retry without the role");
}

/// Administrators may change the email and its verification; a taken
/// email is `Conflict(Email)`.
pub async fn update_user_profile_changes_email<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let ada = created_user(store, t.tenant_id, "ada@example.com").await;
    created_user(store, t.tenant_id, "bob@example.com").await;
    let later = ada.created_at + Duration::seconds(1);
    let updated = store
        .update_user_profile(
            t.tenant_id,
            ada.user_id,
            &UserProfileUpdate {
                email: Some("lovelace@example.com".to_owned()),
                email_verified: Some(true),
                ..UserProfileUpdate::default()
            },
            later,
        )
        .await
        .expect("update");
    let expected = User {
        email: "lovelace@example.com".to_owned(),
        email_verified: true,
        updated_at: later,
        ..ada.clone()
    };
    assert_eq!(updated, expected);
    assert_conflict(
        store
            .update_user_profile(
                t.tenant_id,
                ada.user_id,
                &UserProfileUpdate {
                    email: Some("bob@example.com".to_owned()),
                    ..UserProfileUpdate::default()
                },
                later,
            )
            .await,
        Conflict::Email,
    );
    assert_eq!(
        store.get_user(t.tenant_id, ada.user_id).await.expect("get"),
        expected
    );
}

// --- the admin user listing --------------------------------------------------

/// Every filter of the listing, alone and combined; `%`, `_` and `\` in a
/// prefix match themselves.
pub async fn list_users_filters_combine<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    created_role(store, t.tenant_id, "admin", None).await;
    let base = now_ms();
    let mk = |email: &str, username: Option<&str>, status: UserStatus, offset: i64| User {
        status,
        ..user(t.tenant_id, email, username, base + Duration::seconds(offset))
    };
    let ada = mk("ada@example.com", Some("countess"), UserStatus::Active, 0);
    let adam = mk("adam@example.com", None, UserStatus::Suspended, 1);
    let bob = mk("bob@example.com", Some("ada_fan"), UserStatus::Active, 2);
    let pct = mk("pct@example.com", Some("100%off"), UserStatus::Active, 3);
    let lit = mk("lit@example.com", Some("100xoff"), UserStatus::Disabled, 4);
    let under = mk("under@example.com", Some("a_b"), UserStatus::Active, 5);
    let slash = mk("slash@example.com", Some("a\\b"), UserStatus::Active, 6);
    store.create_user(&ada, &["admin".to_owned()]).await.expect("ada");
    for u in [&adam, &bob, &pct, &lit, &under, &slash] {
        store.create_user(u, &[]).await.expect("create");
    }
    store
        .create_user(&user(other.tenant_id, "ada2@example.com", None, base), &[])
        .await
        .expect("other tenant");
    let q = |f: &dyn Fn(&mut UserQuery)| {
        let mut q = query(100);
        f(&mut q);
        q
    };

    assert_eq!(
        listed(store, t.tenant_id, &query(100)).await,
        ids(&[&ada, &adam, &bob, &pct, &lit, &under, &slash])
    );
    // Email or username prefix.
    assert_eq!(
        listed(store, t.tenant_id, &q(&|q| q.prefix = Some("ada".to_owned()))).await,
        ids(&[&ada, &adam, &bob])
    );
    assert_eq!(
        listed(store, t.tenant_id, &q(&|q| q.prefix = Some("100%".to_owned()))).await,
        ids(&[&pct])
    );
    assert_eq!(
        listed(store, t.tenant_id, &q(&|q| q.prefix = Some("a_".to_owned()))).await,
        ids(&[&under])
    );
    assert_eq!(
        listed(store, t.tenant_id, &q(&|q| q.prefix = Some("a\\".to_owned()))).await,
        ids(&[&slash])
    );
    assert!(
        listed(store, t.tenant_id, &q(&|q| q.prefix = Some("%".to_owned())))
            .await
            .is_empty()
    );
    // Status, role, creation window.
    assert_eq!(
        listed(
            store,
            t.tenant_id,
            &q(&|q| q.status = Some(UserStatus::Suspended))
        )
        .await,
        ids(&[&adam])
    );
    assert_eq!(
        listed(store, t.tenant_id, &q(&|q| q.role = Some("admin".to_owned()))).await,
        ids(&[&ada])
    );
    assert_eq!(
        listed(
            store,
            t.tenant_id,
            &q(&|q| {
                q.created_after = Some(base + Duration::seconds(1));
                q.created_before = Some(base + Duration::seconds(3));
            })
        )
        .await,
        ids(&[&adam, &bob]),
        "after is inclusive, before exclusive"
    );
    // Combined with AND.
    assert_eq!(
        listed(
            store,
            t.tenant_id,
            &q(&|q| {
                q.prefix = Some("ada".to_owned());
                q.status = Some(UserStatus::Active);
            })
        )
        .await,
        ids(&[&ada, &bob])
    );
    assert!(listed(
        store,
        t.tenant_id,
        &q(&|q| {
            q.role = Some("admin".to_owned());
            q.status = Some(UserStatus::Suspended);
        })
    )
    .await
    .is_empty());
    // Limit.
    assert_eq!(listed(store, t.tenant_id, &query(2)).await, ids(&[&ada, &adam]));
}

/// Every sort order pages through all users without duplicates or gaps,
/// also when several users share a creation time.
pub async fn list_users_pages_in_every_order<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let base = now_ms();
    let mut users = Vec::new();
    for (i, name) in ["mia", "ann", "zoe", "bea", "kim", "eve", "lou"]
        .iter()
        .enumerate()
    {
        // Pairs share a creation time; the id breaks the tie.
        let offset = i64::try_from(i / 2).expect("small");
        let u = user(
            t.tenant_id,
            &format!("{name}@example.com"),
            None,
            base + Duration::seconds(offset),
        );
        store.create_user(&u, &[]).await.expect("create");
        users.push(u);
    }
    for sort in [
        UserSort::CreatedAsc,
        UserSort::CreatedDesc,
        UserSort::EmailAsc,
        UserSort::EmailDesc,
    ] {
        let mut expected = users.clone();
        match sort {
            UserSort::CreatedAsc => expected.sort_by_key(|u| (u.created_at, u.user_id)),
            UserSort::CreatedDesc => {
                expected.sort_by_key(|u| (u.created_at, u.user_id));
                expected.reverse();
            }
            UserSort::EmailAsc => expected.sort_by(|a, b| a.email.cmp(&b.email)),
            UserSort::EmailDesc => expected.sort_by(|a, b| b.email.cmp(&a.email)),
        }
        let expected: Vec<Uuid> = expected.iter().map(|u| u.user_id).collect();

        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list_users(
                    t.tenant_id,
                    &UserQuery {
                        sort,
                        after: after.clone(),
                        limit: 3,
                        ..UserQuery::default()
                    },
                )
                .await
                .expect("page");
            assert!(page.len() <= 3);
            let Some(last) = page.last() else {
                break;
            };
            after = Some(match sort {
                UserSort::CreatedAsc | UserSort::CreatedDesc => {
                    UserCursor::Created(last.created_at, last.user_id)
                }
                UserSort::EmailAsc | UserSort::EmailDesc => {
                    UserCursor::Email(last.email.clone(), last.user_id)
                }
            });
            seen.extend(page.iter().map(|u| u.user_id));
            assert!(seen.len() <= expected.len(), "{sort:?}: more rows than users");
        }
        assert_eq!(seen, expected, "{sort:?}");
        let unique: HashSet<&Uuid> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{sort:?}: duplicates");
    }
}

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

// --- the last-holder guard ---------------------------------------------------

/// Every guarded write refuses to take away the last active, undeleted
/// holder of the protected role, and changes nothing when it refuses.
pub async fn keep_last_holder_refuses_to_remove_the_last_holder<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    created_role(store, t.tenant_id, "super_admin", None).await;
    let ada = user_with_roles(store, t.tenant_id, "ada@example.com", &["super_admin"]).await;
    // A suspended holder does not count.
    let sleepy = User {
        status: UserStatus::Suspended,
        ..user(t.tenant_id, "sleepy@example.com", None, now_ms())
    };
    store
        .create_user(&sleepy, &["super_admin".to_owned()])
        .await
        .expect("suspended holder");
    let now = now_ms();

    assert_conflict(
        store
            .set_user_status(
                t.tenant_id,
                ada.user_id,
                UserStatus::Suspended,
                None,
                Some(KEEP),
                now,
            )
            .await,
        Conflict::LastHolder,
    );
    assert_conflict(
        store
            .soft_delete_user(t.tenant_id, ada.user_id, Some(KEEP), now)
            .await,
        Conflict::LastHolder,
    );
    assert_conflict(
        store.erase_user(t.tenant_id, ada.user_id, Some(KEEP)).await,
        Conflict::LastHolder,
    );
    assert_conflict(
        store
            .remove_user_role(t.tenant_id, ada.user_id, "super_admin", Some(KEEP))
            .await,
        Conflict::LastHolder,
    );
    let unchanged = store.get_user(t.tenant_id, ada.user_id).await.expect("ada");
    assert_eq!(unchanged, ada, "nothing changed");
    assert_eq!(
        store
            .list_user_roles(t.tenant_id, ada.user_id)
            .await
            .expect("roles"),
        vec!["super_admin".to_owned()]
    );
    // Writes that do not take the role away pass.
    store
        .set_user_status(
            t.tenant_id,
            ada.user_id,
            UserStatus::Active,
            None,
            Some(KEEP),
            now,
        )
        .await
        .expect("reactivating an active holder");
    store
        .set_user_status(
            t.tenant_id,
            sleepy.user_id,
            UserStatus::Disabled,
            None,
            Some(KEEP),
            now,
        )
        .await
        .expect("an inactive holder may change");

    // With a second active holder, one may go.
    let bob = user_with_roles(store, t.tenant_id, "bob@example.com", &["super_admin"]).await;
    store
        .remove_user_role(t.tenant_id, ada.user_id, "super_admin", Some(KEEP))
        .await
        .expect("one of two holders");
    assert_conflict(
        store
            .soft_delete_user(t.tenant_id, bob.user_id, Some(KEEP), now)
            .await,
        Conflict::LastHolder,
    );
    // Users without the role are never refused; without a guard, anything goes.
    store
        .erase_user(t.tenant_id, ada.user_id, Some(KEEP))
        .await
        .expect("ada no longer holds it");
    store
        .remove_user_role(t.tenant_id, bob.user_id, "super_admin", None)
        .await
        .expect("unguarded");
}

/// Two holders removed at the same moment: exactly one removal succeeds.
/// The race is run several times (each on a role of its own) because one
/// round may happen to run the two writes one after the other.
pub async fn concurrent_removal_of_two_holders_keeps_one<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    for round in 0..8 {
        let role = format!("guarded_{round}");
        let keep = KeepLastHolder { role: &role };
        created_role(store, t.tenant_id, &role, None).await;
        let ada = user_with_roles(store, t.tenant_id, &format!("ada{round}@example.com"), &[&role]).await;
        let bob = user_with_roles(store, t.tenant_id, &format!("bob{round}@example.com"), &[&role]).await;
        let (a, b) = tokio::join!(
            store.remove_user_role(t.tenant_id, ada.user_id, &role, Some(keep)),
            store.set_user_status(
                t.tenant_id,
                bob.user_id,
                UserStatus::Suspended,
                None,
                Some(keep),
                now
            )
        );
        let outcomes = [a.is_ok(), b.is_ok()];
        assert_eq!(
            outcomes.iter().filter(|ok| **ok).count(),
            1,
            "round {round}: {a:?} {b:?}"
        );
        for err in [a.err(), b.err()].into_iter().flatten() {
            assert!(
                matches!(&err, StoreError::Conflict(Conflict::LastHolder)),
                "round {round}: {err:?}"
            );
        }
        let holders = listed(
            store,
            t.tenant_id,
            &UserQuery {
                role: Some(role.clone()),
                status: Some(UserStatus::Active),
                ..query(10)
            },
        )
        .await;
        assert_eq!(holders.len(), 1, "round {round}: one active holder remains");
    }
}
