//! Conformance checks of client updates.

use chrono::Duration;

use crate::conformance::oidc::created_client;
use crate::conformance::{assert_not_found, confidential_client, now_ms, tenant};
use crate::{ClientType, GrantType, Store, TokenEndpointAuthMethod};

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
        // Kept: the registration's own state.
        disabled_at: Some(later),
        secret_ttl_secs: Some(3_600),
        // Ignored: secrets, their expiries and creation time stay.
        secret_hash: Some("f".repeat(64)),
        previous_secret_hash: Some("e".repeat(64)),
        secret_expires_at: Some(later),
        previous_secret_expires_at: Some(later),
        created_at: later,
        updated_at: later,
        ..original.clone()
    };
    let updated = store.update_client(&change).await.expect("update");
    let expected = crate::Client {
        secret_hash: original.secret_hash.clone(),
        previous_secret_hash: original.previous_secret_hash.clone(),
        secret_expires_at: original.secret_expires_at,
        previous_secret_expires_at: original.previous_secret_expires_at,
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
