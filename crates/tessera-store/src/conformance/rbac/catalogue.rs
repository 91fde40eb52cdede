//! Conformance checks of the permission and role catalogue: seeding,
//! permissions, roles and their grants.

use chrono::Duration;

use super::{by_name, created_role, permission, role, seed_set, user_with_roles};
use crate::conformance::{assert_conflict, assert_not_found, now_ms, tenant};
use crate::{Conflict, Role, RoleUpdate, Store};

// --- permissions and roles ---------------------------------------------------

/// The catalogue is seeded once; a second call changes nothing.
pub async fn seed_rbac_seeds_only_once<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let (permissions, roles) = seed_set(t.tenant_id, now);
    assert!(store
        .seed_rbac(t.tenant_id, &permissions, &roles)
        .await
        .expect("seed"));
    assert_eq!(
        store.list_permissions(t.tenant_id).await.expect("permissions"),
        permissions
    );
    assert_eq!(
        store.list_roles(t.tenant_id).await.expect("roles"),
        by_name(roles.clone())
    );

    let later = now + Duration::seconds(1);
    let (more_permissions, mut other_roles) = seed_set(t.tenant_id, later);
    other_roles.push(role(t.tenant_id, "extra", None, &[], later));
    assert!(!store
        .seed_rbac(t.tenant_id, &more_permissions, &other_roles)
        .await
        .expect("second seed"));
    assert_eq!(
        store.list_roles(t.tenant_id).await.expect("roles"),
        by_name(roles)
    );

    // Another tenant is seeded on its own.
    let other = tenant(store, "other").await;
    let (p, r) = seed_set(other.tenant_id, now);
    assert!(store
        .seed_rbac(other.tenant_id, &p, &r)
        .await
        .expect("other tenant"));
}

/// Two nodes seeding at the same moment both succeed, exactly one of them
/// inserts, and the result is the catalogue seeded once.
pub async fn concurrent_seed_rbac_calls_agree<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let (permissions, roles) = seed_set(t.tenant_id, now_ms());
    let (a, b) = tokio::join!(
        store.seed_rbac(t.tenant_id, &permissions, &roles),
        store.seed_rbac(t.tenant_id, &permissions, &roles)
    );
    let (a, b) = (a.expect("first seeder"), b.expect("second seeder"));
    assert!(a ^ b, "exactly one seeder inserts: {a} {b}");
    assert_eq!(
        store.list_permissions(t.tenant_id).await.expect("permissions"),
        permissions
    );
    assert_eq!(
        store.list_roles(t.tenant_id).await.expect("roles"),
        by_name(roles)
    );
}

/// Permissions are unique per tenant; deleting one detaches it from roles.
pub async fn permissions_are_created_and_deleted_from_roles<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let write = permission(t.tenant_id, "invoice:write", now);
    let read = permission(t.tenant_id, "invoice:read", now);
    store.create_permission(&write).await.expect("write");
    store.create_permission(&read).await.expect("read");
    assert_conflict(store.create_permission(&write).await, Conflict::Permission);
    let other = tenant(store, "other").await;
    store
        .create_permission(&permission(other.tenant_id, "invoice:write", now))
        .await
        .expect("same name in another tenant");
    assert_eq!(
        store.list_permissions(t.tenant_id).await.expect("list"),
        vec![read.clone(), write.clone()]
    );

    let clerk = role(
        t.tenant_id,
        "clerk",
        None,
        &["invoice:read", "invoice:write"],
        now,
    );
    store.create_role(&clerk).await.expect("role");
    store
        .delete_permission(t.tenant_id, "invoice:write")
        .await
        .expect("delete");
    assert_eq!(
        store.list_permissions(t.tenant_id).await.expect("list"),
        vec![read]
    );
    assert_eq!(
        store
            .get_role(t.tenant_id, "clerk")
            .await
            .expect("role")
            .permissions,
        vec!["invoice:read".to_owned()]
    );
    assert_not_found(
        store.delete_permission(t.tenant_id, "invoice:write").await,
        "deleted twice",
    );
    assert_eq!(
        store
            .list_permissions(other.tenant_id)
            .await
            .expect("other")
            .len(),
        1,
        "the other tenant's permission stays"
    );
}

/// Roles: creation (with parent and permissions), duplicates, missing
/// parents, updates, and deletion refused while a child names the role.
pub async fn roles_are_created_updated_and_deleted<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let orphan = role(t.tenant_id, "orphan", Some("missing"), &[], now);
    assert_not_found(store.create_role(&orphan).await, "missing parent");
    assert_not_found(store.get_role(t.tenant_id, "orphan").await, "nothing created");

    let base = role(t.tenant_id, "base", None, &["user:read", "*"], now);
    store.create_role(&base).await.expect("base");
    let child = role(t.tenant_id, "child", Some("base"), &["user:*"], now);
    store.create_role(&child).await.expect("child");
    assert_conflict(store.create_role(&base).await, Conflict::Role);
    let sorted_base = Role {
        permissions: vec!["*".to_owned(), "user:read".to_owned()],
        ..base.clone()
    };
    assert_eq!(
        store.get_role(t.tenant_id, "base").await.expect("get"),
        sorted_base
    );
    assert_eq!(
        store.list_roles(t.tenant_id).await.expect("list"),
        vec![sorted_base.clone(), child.clone()]
    );
    assert_not_found(store.get_role(t.tenant_id, "nope").await, "unknown role");

    let later = now + Duration::seconds(1);
    let cleared = store
        .update_role(
            t.tenant_id,
            "child",
            &RoleUpdate {
                description: Some(None),
                parent: Some(None),
            },
            later,
        )
        .await
        .expect("clear");
    let expected = Role {
        description: None,
        parent: None,
        updated_at: later,
        ..child.clone()
    };
    assert_eq!(cleared, expected);
    assert_not_found(
        store
            .update_role(
                t.tenant_id,
                "child",
                &RoleUpdate {
                    parent: Some(Some("missing".to_owned())),
                    ..RoleUpdate::default()
                },
                later,
            )
            .await,
        "missing new parent",
    );
    assert_eq!(
        store.get_role(t.tenant_id, "child").await.expect("unchanged"),
        expected
    );
    let reparented = store
        .update_role(
            t.tenant_id,
            "child",
            &RoleUpdate {
                parent: Some(Some("base".to_owned())),
                ..RoleUpdate::default()
            },
            later,
        )
        .await
        .expect("set parent");
    assert_eq!(reparented.parent.as_deref(), Some("base"));
    assert_eq!(reparented.description, None, "kept");
    assert_not_found(
        store
            .update_role(t.tenant_id, "nope", &RoleUpdate::default(), later)
            .await,
        "unknown role",
    );

    assert_conflict(store.delete_role(t.tenant_id, "base").await, Conflict::Parent);
    assert!(
        store.get_role(t.tenant_id, "base").await.is_ok(),
        "nothing changed"
    );
    let holder = user_with_roles(store, t.tenant_id, "holder@example.com", &["child", "base"]).await;
    store
        .delete_role(t.tenant_id, "child")
        .await
        .expect("delete child");
    store.delete_role(t.tenant_id, "base").await.expect("delete base");
    assert_not_found(store.delete_role(t.tenant_id, "base").await, "deleted twice");
    assert!(store.list_roles(t.tenant_id).await.expect("list").is_empty());
    assert!(
        store
            .list_user_roles(t.tenant_id, holder.user_id)
            .await
            .expect("user roles")
            .is_empty(),
        "assignments go with the role"
    );
}

/// Granting is idempotent, revoking needs a direct grant, both bump the
/// role's `updated_at`, and both need the role.
pub async fn role_permissions_are_granted_and_revoked<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let r = created_role(store, t.tenant_id, "clerk", None).await;
    let t1 = r.created_at + Duration::seconds(1);
    let t2 = r.created_at + Duration::seconds(2);
    store
        .grant_role_permission(t.tenant_id, "clerk", "invoice:read", t1)
        .await
        .expect("grant");
    store
        .grant_role_permission(t.tenant_id, "clerk", "invoice:read", t1)
        .await
        .expect("grant again");
    store
        .grant_role_permission(t.tenant_id, "clerk", "invoice:*", t1)
        .await
        .expect("wildcard");
    let granted = store.get_role(t.tenant_id, "clerk").await.expect("get");
    assert_eq!(
        granted.permissions,
        vec!["invoice:*".to_owned(), "invoice:read".to_owned()]
    );
    assert_eq!(granted.updated_at, t1);
    assert_not_found(
        store.grant_role_permission(t.tenant_id, "nope", "x:y", t1).await,
        "grant to unknown role",
    );

    store
        .revoke_role_permission(t.tenant_id, "clerk", "invoice:read", t2)
        .await
        .expect("revoke");
    let revoked = store.get_role(t.tenant_id, "clerk").await.expect("get");
    assert_eq!(revoked.permissions, vec!["invoice:*".to_owned()]);
    assert_eq!(revoked.updated_at, t2);
    assert_not_found(
        store
            .revoke_role_permission(t.tenant_id, "clerk", "invoice:read", t2)
            .await,
        "revoke twice",
    );
    assert_not_found(
        store
            .revoke_role_permission(t.tenant_id, "nope", "invoice:*", t2)
            .await,
        "revoke from unknown role",
    );
}
