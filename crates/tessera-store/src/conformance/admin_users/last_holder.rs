//! Conformance checks of the guard that keeps the last holder of a
//! protected role.

use super::{listed, query, KEEP};
use crate::conformance::rbac::{created_role, user_with_roles};
use crate::conformance::{assert_conflict, now_ms, tenant, user};
use crate::{Conflict, KeepLastHolder, Store, StoreError, User, UserQuery, UserStatus};

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
