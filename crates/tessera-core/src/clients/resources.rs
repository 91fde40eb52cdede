//! Resource indicators (RFC 8707). A client may stand for a resource
//! server: its `resource` identifier (an absolute URI without fragment,
//! unique in the tenant) is what other clients send as `resource`, and the
//! `aud` of the access tokens they get for it; its `resource_scopes` are the
//! only scopes such a token may carry besides the OpenID Connect ones.
//! Requests that name no resource get tokens for Tessera's own API.

use tessera_store::StoreError;

use super::validate::{is_scope_token, Violations};
use super::*;
use crate::jwt::{SCOPE_ACCOUNT, SCOPE_ADMIN, SCOPE_ROLES};

/// Longest resource identifier, characters (it is a unique key; MariaDB
/// indexes at most 768 characters of utf8mb4).
pub const RESOURCE_IDENTIFIER_MAX_CHARS: usize = 512;

/// Whether `scope` is about the person and the sign-in (OIDC Core §5.4,
/// `offline_access`, and `roles`): a token for any resource may carry it.
pub fn is_oidc_scope(scope: &str) -> bool {
    matches!(
        scope,
        "openid" | "profile" | "email" | "offline_access" | SCOPE_ROLES
    )
}

/// Whether `scope` opens part of Tessera's own API: never granted with a
/// token for another resource.
fn is_tessera_api_scope(scope: &str) -> bool {
    scope == SCOPE_ACCOUNT || scope == SCOPE_ADMIN
}

/// RFC 8707 §2: an absolute URI without a fragment, at most
/// [`RESOURCE_IDENTIFIER_MAX_CHARS`] characters. Says why not.
pub(crate) fn check_identifier(identifier: &str) -> Result<(), String> {
    if identifier.chars().count() > RESOURCE_IDENTIFIER_MAX_CHARS {
        return Err(format!(
            "a resource identifier has at most {RESOURCE_IDENTIFIER_MAX_CHARS} characters"
        ));
    }
    let Ok(url) = url::Url::parse(identifier) else {
        return Err(format!(
            "resource {identifier:?} is not an absolute URI (RFC 8707 §2)"
        ));
    };
    if url.fragment().is_some() {
        return Err(format!(
            "resource {identifier:?} must not contain a fragment (RFC 8707 §2)"
        ));
    }
    Ok(())
}

/// The registration's resource and its scopes, checked: a valid
/// identifier, scope tokens that are neither OpenID Connect's nor Tessera's
/// API's, and no scopes without an identifier.
pub(super) fn check_resource(
    input: &NewClient,
    violations: &mut Violations,
) -> (Option<String>, Vec<String>) {
    let resource = input.resource.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if let Some(Err(why)) = resource.map(check_identifier) {
        violations.push("resource", "invalid", why);
    }
    let mut scopes: Vec<String> = Vec::new();
    for scope in &input.resource_scopes {
        if !is_scope_token(scope) {
            violations.push(
                "resource_scopes",
                "invalid",
                format!("{scope:?} is not a scope token (RFC 6749 §3.3)"),
            );
        } else if is_oidc_scope(scope) || is_tessera_api_scope(scope) {
            violations.push(
                "resource_scopes",
                "reserved",
                format!("{scope:?} is a scope of OpenID Connect or of Tessera's API, not of a resource"),
            );
        } else if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    if resource.is_none() && !scopes.is_empty() {
        violations.push(
            "resource_scopes",
            "requires_resource",
            "resource_scopes need a resource identifier".into(),
        );
    }
    (resource.map(str::to_string), scopes)
}

/// Whether `scope` may be granted in a token for `resource` (`None`:
/// Tessera's own API, which takes any scope the client may request). For a
/// resource: the OpenID Connect scopes and the resource's own; never
/// Tessera's API scopes. `Err` says why not.
pub fn check_scope_for_resource(scope: &str, resource: Option<&Client>) -> Result<(), String> {
    let Some(resource) = resource else {
        return Ok(());
    };
    let identifier = resource.resource.as_deref().unwrap_or_default();
    if is_tessera_api_scope(scope) {
        return Err(format!(
            "scope {scope:?} is for Tessera's own API; a token for {identifier:?} cannot carry it"
        ));
    }
    if is_oidc_scope(scope) || resource.resource_scopes.iter().any(|s| s == scope) {
        return Ok(());
    }
    Err(format!(
        "scope {scope:?} is not a scope of resource {identifier:?}"
    ))
}

/// How a granted scope is remembered in a consent: as is for Tessera's API
/// and the OpenID Connect scopes; `"{resource} {scope}"` for a resource's
/// own scope, so that approving `read` for one resource never approves it
/// for another (scope tokens hold no spaces, so the forms cannot collide).
pub fn consent_entry(scope: &str, resource: Option<&str>) -> String {
    match resource {
        Some(resource) if !is_oidc_scope(scope) => format!("{resource} {scope}"),
        _ => scope.to_string(),
    }
}

impl ClientService {
    /// The client standing for resource `identifier` in this tenant;
    /// `InvalidTarget` saying why when the identifier is malformed or no
    /// client stands for it (RFC 8707 §2).
    pub async fn resource(&self, identifier: &str) -> AuthResult<Client> {
        check_identifier(identifier).map_err(AuthError::InvalidTarget)?;
        match self
            .store
            .get_client_by_resource(self.tenant_id, identifier)
            .await
        {
            Ok(client) => Ok(client),
            Err(StoreError::NotFound) => Err(AuthError::InvalidTarget(format!(
                "{identifier:?} is not a registered resource"
            ))),
            Err(other) => Err(other.into()),
        }
    }

    /// Refuses a registration that would stand for Tessera's own API (its
    /// tokens would then be accepted as that resource's, and the reverse).
    pub(super) fn check_not_tessera_api(&self, client: &Client) -> AuthResult<()> {
        let Some(resource) = client.resource.as_deref() else {
            return Ok(());
        };
        if resource == self.settings.api_audience || resource == self.settings.issuer {
            return Err(AuthError::Validation(vec![FieldViolation {
                field: "resource",
                rule: "reserved",
                message: format!("{resource:?} is Tessera's own API audience"),
            }]));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_absolute_uris_without_fragment() {
        assert!(check_identifier("https://orders.example.com/api").is_ok());
        assert!(check_identifier("urn:example:orders").is_ok());
        assert!(check_identifier("/api").is_err());
        assert!(check_identifier("orders").is_err());
        assert!(check_identifier("https://orders.example.com/#x").is_err());
        assert!(check_identifier(&format!("https://e.com/{}", "a".repeat(600))).is_err());
    }

    #[test]
    fn a_resource_token_carries_only_its_own_and_oidc_scopes() {
        let input = NewClient {
            name: "Orders".into(),
            client_type: "confidential".into(),
            grant_types: vec!["client_credentials".into()],
            resource: Some("https://orders.example".into()),
            resource_scopes: vec!["orders:read".into()],
            ..NewClient::default()
        };
        let orders =
            super::super::validate::validate(input, Uuid::nil(), chrono::DateTime::UNIX_EPOCH).unwrap();
        assert!(check_scope_for_resource("orders:read", Some(&orders)).is_ok());
        assert!(check_scope_for_resource("openid", Some(&orders)).is_ok());
        assert!(check_scope_for_resource("roles", Some(&orders)).is_ok());
        assert!(check_scope_for_resource("orders:write", Some(&orders)).is_err());
        assert!(check_scope_for_resource(SCOPE_ADMIN, Some(&orders)).is_err());
        assert!(check_scope_for_resource(SCOPE_ADMIN, None).is_ok());
    }

    #[test]
    fn consents_to_resource_scopes_are_qualified_by_the_resource() {
        assert_eq!(consent_entry("openid", Some("https://a")), "openid");
        assert_eq!(consent_entry("read", Some("https://a")), "https://a read");
        assert_ne!(
            consent_entry("read", Some("https://a")),
            consent_entry("read", Some("https://b"))
        );
        assert_eq!(consent_entry("read", None), "read");
    }
}
