//! Conformance checks of role assignments to users and machine clients.

use uuid::Uuid;

use super::created_role;
use crate::conformance::oidc::created_client;
use crate::conformance::{assert_not_found, created_user, now_ms, tenant};
use crate::Store;

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
