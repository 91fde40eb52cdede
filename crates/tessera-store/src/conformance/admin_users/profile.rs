//! Conformance checks of users created and edited by administrators.

use chrono::Duration;

use crate::conformance::rbac::{created_role, user_with_roles};
use crate::conformance::{assert_conflict, assert_not_found, created_user, now_ms, tenant, user};
use crate::{Conflict, Store, User, UserProfileUpdate};

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
