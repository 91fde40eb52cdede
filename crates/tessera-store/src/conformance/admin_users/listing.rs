//! Conformance checks of the admin user listing: filters, orders, pages.

use std::collections::HashSet;

use chrono::Duration;
use uuid::Uuid;

use super::{ids, listed, query};
use crate::conformance::rbac::created_role;
use crate::conformance::{now_ms, tenant, user};
use crate::{IdentifierPrefix, Store, User, UserCursor, UserQuery, UserSort, UserStatus};

// --- the admin user listing --------------------------------------------------

/// A search for `text` in both columns.
fn prefix(text: &str) -> Option<IdentifierPrefix> {
    Some(IdentifierPrefix {
        email: text.to_owned(),
        username: Some(text.to_owned()),
    })
}

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
        listed(store, t.tenant_id, &q(&|q| q.prefix = prefix("ada"))).await,
        ids(&[&ada, &adam, &bob])
    );
    assert_eq!(
        listed(store, t.tenant_id, &q(&|q| q.prefix = prefix("100%"))).await,
        ids(&[&pct])
    );
    assert_eq!(
        listed(store, t.tenant_id, &q(&|q| q.prefix = prefix("a_"))).await,
        ids(&[&under])
    );
    assert_eq!(
        listed(store, t.tenant_id, &q(&|q| q.prefix = prefix("a\\"))).await,
        ids(&[&slash])
    );
    assert!(listed(store, t.tenant_id, &q(&|q| q.prefix = prefix("%")))
        .await
        .is_empty());
    // Each column is searched in its own form; without a username form,
    // only emails.
    let split = |email: &str, username: Option<&str>| {
        q(&|q| {
            q.prefix = Some(IdentifierPrefix {
                email: email.to_owned(),
                username: username.map(str::to_owned),
            })
        })
    };
    assert_eq!(
        listed(store, t.tenant_id, &split("ada", None)).await,
        ids(&[&ada, &adam])
    );
    assert_eq!(
        listed(store, t.tenant_id, &split("zzz", Some("ada"))).await,
        ids(&[&bob])
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
                q.prefix = prefix("ada");
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
