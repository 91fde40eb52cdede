//! What a Tessera access token says, and what it allows: the claims of an
//! RFC 9068 access token as the server signs them and as `tessera-guard`
//! reads them, and the one permission-matching rule both use. One crate, so
//! that the server's decision and a guarded service's decision about the
//! same grants can never differ.
#![forbid(unsafe_code)]

pub mod permission;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The media type RFC 9068 §2.1 requires in the `typ` header.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The `client_id` of tokens issued by the first-party JSON API (RFC 9068
/// requires the claim; these tokens are issued to Tessera's own API client).
pub const FIRST_PARTY_CLIENT_ID: &str = "tessera";

/// The scope that lets a client's token use the person's own account
/// through Tessera's JSON API (`/api/v1/users/me`, `/api/v1/sessions`, …).
pub const SCOPE_ACCOUNT: &str = "tessera:account";

/// The scope that lets a client's token use Tessera's admin API on the
/// person's behalf (within the person's own permissions).
pub const SCOPE_ADMIN: &str = "tessera:admin";

/// The scope that puts the person's `roles` and `permissions` in a client's
/// access token.
pub const SCOPE_ROLES: &str = "roles";

/// The claims of an access token (RFC 9068 §2.2 plus Tessera's `sid`,
/// `tid`, `email`, `roles` and `permissions`).
///
/// A user's token has `sub` = the user id and a `sid`; a token a client
/// obtained for itself (client credentials) has `sub` = `client_id` and
/// neither `sid` nor `email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer URL.
    pub iss: String,
    /// Subject: the user id, or the client id for a client's own token.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Not before, seconds since the epoch (Tessera sets it to `iat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Unique token id.
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Session id (user tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// Granted OAuth scopes, space-separated (RFC 9068 §2.2.3), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Tenant id.
    pub tid: Uuid,
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

impl AccessClaims {
    /// Whether the token grants `permission` (e.g. `user:read`), by
    /// [`permission::covers`]. `false` when the token carries no
    /// `permissions` claim.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions
            .as_deref()
            .is_some_and(|granted| permission::any_covers(granted, permission))
    }

    /// Whether `role` is one of the subject's directly assigned roles.
    /// Exact: `admin` is not implied by `super_admin` (use
    /// [`has_permission`](AccessClaims::has_permission) for inherited
    /// rights).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role)
    }

    /// The granted OAuth scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or_default().split_whitespace()
    }

    /// Whether this token may use the part of Tessera's own API that
    /// `scope` ([`SCOPE_ACCOUNT`] or [`SCOPE_ADMIN`]) stands for: a token of
    /// the first-party API login may, a client's token only when `scope`
    /// was granted to it (the person consented to exactly that).
    pub fn opens_tessera_api(&self, scope: &str) -> bool {
        self.client_id == FIRST_PARTY_CLIENT_ID || self.scopes().any(|granted| granted == scope)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with_permissions(permissions: Option<&[&str]>) -> AccessClaims {
        AccessClaims {
            iss: "https://id.example.com".into(),
            sub: "u1".into(),
            aud: "https://id.example.com".into(),
            exp: 2,
            iat: 1,
            nbf: Some(1),
            jti: "j".into(),
            client_id: FIRST_PARTY_CLIENT_ID.into(),
            sid: None,
            scope: Some("openid  profile email".into()),
            tid: Uuid::nil(),
            email: None,
            roles: vec!["admin".into()],
            permissions: permissions.map(|list| list.iter().map(|p| p.to_string()).collect()),
        }
    }

    #[test]
    fn permissions_are_matched_by_the_shared_rule() {
        let claims = with_permissions(Some(&["user:*", "audit:read"]));
        assert!(claims.has_permission("user:delete"));
        assert!(claims.has_permission("audit:read"));
        assert!(!claims.has_permission("audit:write"));
        assert!(!claims.has_permission("user:"));
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
        let none = AccessClaims {
            scope: None,
            ..claims
        };
        assert_eq!(none.scopes().count(), 0);
    }

    #[test]
    fn optional_claims_default_when_absent() {
        let json = serde_json::json!({
            "sub": "u", "iss": "i", "aud": "i", "exp": 2, "iat": 1, "jti": "j",
            "client_id": "c", "tid": "00000000-0000-0000-0000-000000000000"
        });
        let claims: AccessClaims = serde_json::from_value(json).unwrap();
        assert!(claims.roles.is_empty());
        assert_eq!(claims.permissions, None);
        assert_eq!(claims.nbf, None);
        assert_eq!(claims.sid, None);
    }
}
