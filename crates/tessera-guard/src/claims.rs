//! The claims of a verified Tessera access token, and the questions a
//! service asks of them.

use serde::{Deserialize, Serialize};

/// The claims of a verified access token (RFC 9068 §2.2 plus Tessera's
/// `sid`, `tid`, `email`, `roles` and `permissions`).
///
/// A user's token has `sub` = the user id and a `sid`; a token a client
/// obtained for itself (client credentials) has `sub` = `client_id` and
/// neither `sid` nor `email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the user id, or the client id for a client's own token.
    pub sub: String,
    /// Issuer URL.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Unique token id.
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Session id (user tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Granted OAuth scopes, space-separated (RFC 9068 §2.2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Tenant id.
    pub tid: String,
    /// The user's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The roles assigned to the subject directly (not the ones they
    /// inherit: those are folded into `permissions`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Granted permissions (`resource:action`, `resource:*` or `*`), with
    /// role inheritance already applied; `None` when the client switched
    /// the claim off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

impl Claims {
    /// Whether the token grants `permission` (e.g. `user:read`): granted
    /// exactly, by `resource:*` for its resource, or by `*`. `false` when
    /// the token carries no `permissions` claim.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions
            .as_deref()
            .is_some_and(|granted| granted.iter().any(|grant| grants(grant, permission)))
    }

    /// Whether `role` is one of the subject's directly assigned roles.
    /// Exact: `admin` is not implied by `super_admin` (use
    /// [`has_permission`](Claims::has_permission) for inherited rights).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role)
    }

    /// The granted OAuth scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or_default().split_whitespace()
    }
}

/// Whether the granted permission `grant` covers `wanted`.
fn grants(grant: &str, wanted: &str) -> bool {
    if grant == "*" || grant == wanted {
        return true;
    }
    // `user:*` covers every `user:…`, but not `user` nor `username:read`.
    match grant.strip_suffix('*') {
        Some(prefix) if prefix.ends_with(':') => wanted.len() > prefix.len() && wanted.starts_with(prefix),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with_permissions(permissions: Option<&[&str]>) -> Claims {
        Claims {
            sub: "u1".into(),
            iss: "https://id.example.com".into(),
            aud: "https://id.example.com".into(),
            exp: 2,
            iat: 1,
            nbf: Some(1),
            jti: "j".into(),
            client_id: "tessera".into(),
            sid: None,
            scope: Some("openid  profile email".into()),
            tid: "t".into(),
            email: None,
            roles: vec!["admin".into()],
            permissions: permissions.map(|list| list.iter().map(|p| p.to_string()).collect()),
        }
    }

    #[test]
    fn an_exact_permission_grants_only_itself() {
        let claims = with_permissions(Some(&["user:read"]));
        assert!(claims.has_permission("user:read"));
        assert!(!claims.has_permission("user:delete"));
        assert!(!claims.has_permission("user"));
        assert!(!claims.has_permission("user:*"));
    }

    #[test]
    fn a_resource_wildcard_grants_every_action_of_that_resource_only() {
        let claims = with_permissions(Some(&["user:*"]));
        assert!(claims.has_permission("user:read"));
        assert!(claims.has_permission("user:delete"));
        assert!(claims.has_permission("user:*"));
        assert!(!claims.has_permission("user:"));
        assert!(!claims.has_permission("user"));
        assert!(!claims.has_permission("username:read"));
        assert!(!claims.has_permission("audit:read"));
    }

    #[test]
    fn the_star_grants_everything() {
        let claims = with_permissions(Some(&["*"]));
        assert!(claims.has_permission("user:delete"));
        assert!(claims.has_permission("anything:at:all"));
    }

    #[test]
    fn a_star_without_a_colon_is_not_a_prefix_wildcard() {
        let claims = with_permissions(Some(&["us*"]));
        assert!(!claims.has_permission("user:read"));
    }

    #[test]
    fn no_permissions_claim_grants_nothing() {
        assert!(!with_permissions(None).has_permission("user:read"));
        assert!(!with_permissions(Some(&[])).has_permission("user:read"));
    }

    #[test]
    fn roles_match_exactly() {
        let claims = with_permissions(None);
        assert!(claims.has_role("admin"));
        assert!(!claims.has_role("super_admin"));
        assert!(!claims.has_role("Admin"));
    }

    #[test]
    fn scopes_split_on_whitespace() {
        let claims = with_permissions(None);
        assert_eq!(
            claims.scopes().collect::<Vec<_>>(),
            ["openid", "profile", "email"]
        );
        let none = Claims {
            scope: None,
            ..claims
        };
        assert_eq!(none.scopes().count(), 0);
    }

    #[test]
    fn roles_default_to_empty_and_permissions_to_absent() {
        let json = serde_json::json!({
            "sub": "u", "iss": "i", "aud": "i", "exp": 2, "iat": 1, "jti": "j",
            "client_id": "c", "tid": "t"
        });
        let claims: Claims = serde_json::from_value(json).unwrap();
        assert!(claims.roles.is_empty());
        assert_eq!(claims.permissions, None);
    }
}
