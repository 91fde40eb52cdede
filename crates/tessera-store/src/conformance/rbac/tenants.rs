//! Conformance checks of tenants.

use chrono::Duration;
use uuid::Uuid;

use crate::conformance::{assert_conflict, assert_not_found, now_ms, tenant};
use crate::{Conflict, Store, Tenant};

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
