//! Conformance checks of tenants, the permission and role catalogue, role
//! assignments to users and clients, and client updates.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::oidc::created_client;
use super::{assert_conflict, assert_not_found, confidential_client, created_user, now_ms, tenant, user};
use crate::{
    ClientType, Conflict, GrantType, Permission, Role, RoleUpdate, Store, Tenant, TokenEndpointAuthMethod,
    User,
};

// --- helpers -----------------------------------------------------------------

fn permission(tenant_id: Uuid, name: &str, now: DateTime<Utc>) -> Permission {
    Permission {
        tenant_id,
        name: name.to_owned(),
        description: Some(format!("Allows {name}")),
        builtin: false,
        created_at: now,
    }
}

fn role(tenant_id: Uuid, name: &str, parent: Option<&str>, permissions: &[&str], now: DateTime<Utc>) -> Role {
    Role {
        tenant_id,
        name: name.to_owned(),
        description: Some(format!("The {name} role")),
        parent: parent.map(str::to_owned),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        builtin: false,
        created_at: now,
        updated_at: now,
    }
}

/// A small built-in catalogue; parents come before children. Permissions
/// of each role are sorted, as the store returns them.
fn seed_set(tenant_id: Uuid, now: DateTime<Utc>) -> (Vec<Permission>, Vec<Role>) {
    let permissions = ["role:read", "user:create", "user:read"]
        .iter()
        .map(|name| Permission {
            builtin: true,
            ..permission(tenant_id, name, now)
        })
        .collect();
    let roles = vec![
        Role {
            builtin: true,
            ..role(tenant_id, "super_admin", None, &["*"], now)
        },
        Role {
            builtin: true,
            ..role(tenant_id, "viewer", None, &["role:read", "user:read"], now)
        },
        Role {
            builtin: true,
            ..role(tenant_id, "admin", Some("viewer"), &["user:*"], now)
        },
    ];
    (permissions, roles)
}

/// Roles sorted by name, the order of `list_roles`.
fn by_name(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    roles
}

pub(super) async fn created_role<S: Store>(
    store: &S,
    tenant_id: Uuid,
    name: &str,
    parent: Option<&str>,
) -> Role {
    let r = role(tenant_id, name, parent, &[], now_ms());
    store.create_role(&r).await.expect("create_role");
    r
}

/// Creates a user holding `roles`.
pub(super) async fn user_with_roles<S: Store>(
    store: &S,
    tenant_id: Uuid,
    email: &str,
    roles: &[&str],
) -> User {
    let u = user(tenant_id, email, None, now_ms());
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    store.create_user(&u, &roles).await.expect("create_user");
    u
}

// --- tenants -----------------------------------------------------------------

/// Tenants are created once per slug, listed oldest first, renamed and
/// switched off and on again.
pub async fn tenants_are_created_listed_and_updated<S: Store>(store: &S) {
    let now = now_ms();
    let first = tenant(store, "default").await;
    let acme = Tenant {
        tenant_id: Uuid::now_v7(),
        slug: "acme".to_owned(),
        name: "Acme".to_owned(),
        created_at: now + Duration::seconds(1),
        disabled_at: None,
    };
    store.create_tenant(&acme).await.expect("create_tenant");
    let taken = Tenant {
        tenant_id: Uuid::now_v7(),
        ..acme.clone()
    };
    assert_conflict(store.create_tenant(&taken).await, Conflict::Slug);
    assert_eq!(store.get_tenant_by_slug("acme").await.expect("get"), acme);
    assert_eq!(
        store.list_tenants().await.expect("list"),
        vec![first.clone(), acme.clone()]
    );

    let off = now + Duration::seconds(5);
    let disabled = store
        .update_tenant("acme", Some("Acme Corp"), Some(Some(off)))
        .await
        .expect("disable");
    let expected = Tenant {
        name: "Acme Corp".to_owned(),
        disabled_at: Some(off),
        ..acme.clone()
    };
    assert_eq!(disabled, expected);
    assert_eq!(
        store.get_tenant_by_slug("acme").await.expect("get disabled"),
        expected
    );
    let kept = store.update_tenant("acme", None, None).await.expect("no change");
    assert_eq!(kept, expected);
    let enabled = store
        .update_tenant("acme", None, Some(None))
        .await
        .expect("enable");
    assert_eq!(
        enabled,
        Tenant {
            disabled_at: None,
            ..expected
        }
    );
    assert_not_found(store.update_tenant("nope", Some("x"), None).await, "unknown slug");
    assert_eq!(first.disabled_at, None);
}

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

/// Users get roles of their own tenant only; assigning twice is fine.
pub async fn user_roles_are_assigned_and_removed<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    created_role(store, t.tenant_id, "viewer", None).await;
    created_role(store, t.tenant_id, "admin", None).await;
    created_role(store, other.tenant_id, "foreign", None).await;
    let u = created_user(store, t.tenant_id, "ada@example.com").await;
    let stranger = created_user(store, other.tenant_id, "eve@example.com").await;

    store
        .assign_user_role(t.tenant_id, u.user_id, "viewer")
        .await
        .expect("viewer");
    store
        .assign_user_role(t.tenant_id, u.user_id, "viewer")
        .await
        .expect("again");
    store
        .assign_user_role(t.tenant_id, u.user_id, "admin")
        .await
        .expect("admin");
    assert_eq!(
        store.list_user_roles(t.tenant_id, u.user_id).await.expect("list"),
        vec!["admin".to_owned(), "viewer".to_owned()]
    );
    assert_not_found(
        store.assign_user_role(t.tenant_id, u.user_id, "nope").await,
        "unknown role",
    );
    assert_not_found(
        store.assign_user_role(t.tenant_id, u.user_id, "foreign").await,
        "role of another tenant",
    );
    assert_not_found(
        store
            .assign_user_role(t.tenant_id, stranger.user_id, "viewer")
            .await,
        "user of another tenant",
    );
    assert_not_found(
        store
            .assign_user_role(t.tenant_id, Uuid::now_v7(), "viewer")
            .await,
        "unknown user",
    );

    store
        .remove_user_role(t.tenant_id, u.user_id, "admin", None)
        .await
        .expect("remove");
    assert_eq!(
        store.list_user_roles(t.tenant_id, u.user_id).await.expect("list"),
        vec!["viewer".to_owned()]
    );
    assert_not_found(
        store
            .remove_user_role(t.tenant_id, u.user_id, "admin", None)
            .await,
        "remove twice",
    );
    assert!(store
        .list_user_roles(other.tenant_id, u.user_id)
        .await
        .expect("other tenant")
        .is_empty());
}

/// Machine clients get roles of their own tenant only.
pub async fn client_roles_are_assigned_and_removed<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    created_role(store, t.tenant_id, "reporter", None).await;
    created_role(store, t.tenant_id, "auditor", None).await;
    let now = now_ms();
    let c = created_client(store, t.tenant_id, now).await;
    let stranger = created_client(store, other.tenant_id, now).await;

    store
        .assign_client_role(t.tenant_id, c.client_id, "reporter")
        .await
        .expect("assign");
    store
        .assign_client_role(t.tenant_id, c.client_id, "reporter")
        .await
        .expect("again");
    store
        .assign_client_role(t.tenant_id, c.client_id, "auditor")
        .await
        .expect("auditor");
    assert_eq!(
        store
            .list_client_roles(t.tenant_id, c.client_id)
            .await
            .expect("list"),
        vec!["auditor".to_owned(), "reporter".to_owned()]
    );
    assert_not_found(
        store.assign_client_role(t.tenant_id, c.client_id, "nope").await,
        "unknown role",
    );
    assert_not_found(
        store
            .assign_client_role(t.tenant_id, stranger.client_id, "reporter")
            .await,
        "client of another tenant",
    );
    store
        .remove_client_role(t.tenant_id, c.client_id, "auditor")
        .await
        .expect("remove");
    assert_not_found(
        store
            .remove_client_role(t.tenant_id, c.client_id, "auditor")
            .await,
        "remove twice",
    );
    assert_eq!(
        store
            .list_client_roles(t.tenant_id, c.client_id)
            .await
            .expect("list"),
        vec!["reporter".to_owned()]
    );
    store
        .delete_client(t.tenant_id, c.client_id)
        .await
        .expect("delete client");
    assert!(store
        .list_client_roles(t.tenant_id, c.client_id)
        .await
        .expect("list")
        .is_empty());
}

// --- clients -----------------------------------------------------------------

/// `update_client` replaces the registration but keeps id, tenant, secrets
/// and `created_at`.
pub async fn update_client_replaces_registration_and_keeps_secrets<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let now = now_ms();
    let original = created_client(store, t.tenant_id, now).await;
    let later = now + Duration::seconds(1);
    let change = crate::Client {
        name: "Billing v2".to_owned(),
        client_type: ClientType::Confidential,
        redirect_uris: vec!["https://billing.example.com/v2/cb".to_owned()],
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec!["invoices:write".to_owned()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
        jwks: Some(serde_json::json!({"keys": []})),
        first_party: false,
        access_token_ttl_secs: Some(60),
        refresh_idle_ttl_secs: None,
        post_logout_redirect_uris: Vec::new(),
        id_token_signed_response_alg: Some("EdDSA".to_owned()),
        token_permissions: false,
        // Ignored: secrets and creation time stay.
        secret_hash: Some("f".repeat(64)),
        previous_secret_hash: Some("e".repeat(64)),
        created_at: later,
        updated_at: later,
        ..original.clone()
    };
    let updated = store.update_client(&change).await.expect("update");
    let expected = crate::Client {
        secret_hash: original.secret_hash.clone(),
        previous_secret_hash: original.previous_secret_hash.clone(),
        created_at: original.created_at,
        ..change.clone()
    };
    assert_eq!(updated, expected);
    assert_eq!(
        store
            .get_client(t.tenant_id, original.client_id)
            .await
            .expect("get"),
        expected
    );
    let missing = confidential_client(t.tenant_id, now);
    assert_not_found(store.update_client(&missing).await, "unknown client");
    let other = tenant(store, "other").await;
    let foreign = crate::Client {
        tenant_id: other.tenant_id,
        ..change
    };
    assert_not_found(store.update_client(&foreign).await, "client of another tenant");
}
