//! What the consent page says each requested scope lets the client do: the
//! OpenID Connect and Tessera scopes from a fixed table, then the
//! tenant's permission catalogue (a scope named like a permission, with its
//! description), then the resource the request is for (its own scopes).

use super::*;
use crate::jwt::{SCOPE_ACCOUNT, SCOPE_ROLES};

impl OidcService {
    /// `scopes` with their descriptions for people; `None` where none is
    /// known (the page shows the name alone). `resource` is the resource
    /// the request is for (RFC 8707), if any.
    pub(super) async fn describe_scopes(
        &self,
        scopes: &[String],
        resource: Option<&Client>,
    ) -> AuthResult<Vec<(String, Option<String>)>> {
        let needs_catalogue = scopes.iter().any(|s| builtin_description(s).is_none());
        let catalogue = if needs_catalogue {
            self.ctx.access().permissions().await?
        } else {
            Vec::new()
        };
        Ok(scopes
            .iter()
            .map(|scope| {
                let description = builtin_description(scope)
                    .map(str::to_string)
                    .or_else(|| {
                        catalogue
                            .iter()
                            .find(|p| p.name == *scope)
                            .and_then(|p| p.description.clone())
                            .filter(|d| !d.trim().is_empty())
                    })
                    .or_else(|| resource_description(scope, resource));
                (scope.clone(), description)
            })
            .collect())
    }
}

/// The scopes every Tessera knows, described for the person approving.
fn builtin_description(scope: &str) -> Option<&'static str> {
    match scope {
        OPENID => Some("Sign you in"),
        "profile" => Some("See your name and username"),
        "email" => Some("See your email address"),
        "offline_access" => Some("Keep this access after you leave the application, until you withdraw it"),
        SCOPE_ROLES => Some("See your roles and permissions"),
        SCOPE_ACCOUNT => Some("Manage your account: profile, password, sessions"),
        SCOPE_ADMIN => Some("Act as you in the administration API, with all of your permissions"),
        _ => None,
    }
}

/// A resource's own scope, named with the resource: what the token will
/// open there is up to that service, so the page says no more than that.
fn resource_description(scope: &str, resource: Option<&Client>) -> Option<String> {
    let resource = resource?;
    resource
        .resource_scopes
        .iter()
        .any(|s| s == scope)
        .then(|| format!("Use {} with “{scope}” access", resource.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_oidc_and_tessera_scope_has_a_description() {
        for scope in [
            "openid",
            "profile",
            "email",
            "offline_access",
            "roles",
            "tessera:account",
            "tessera:admin",
        ] {
            assert!(builtin_description(scope).is_some(), "{scope}");
        }
        assert!(builtin_description("reports:read").is_none());
    }
}
