//! Authorization decisions for services that prefer asking Tessera over
//! checking tokens themselves (`POST /api/v1/authz/check`).

use std::sync::Arc;

use uuid::Uuid;

use super::AdminService;
use crate::access::Access;
use crate::accounts::user_may_sign_in;
use crate::capability::{Permit, UserRead};
use crate::error::{AuthError, AuthResult, FieldViolation};
use crate::rbac::is_grantable;

/// Longest `resource` accepted, characters.
const MAX_RESOURCE_CHARS: usize = 256;

/// The answer to "may this subject do that?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the permission is held.
    pub allowed: bool,
    /// Why: `granted_by_role:<role>`, `missing_permission`,
    /// `invalid_token` or `account_inactive`.
    pub reason: String,
}

impl Decision {
    fn deny(reason: &str) -> Decision {
        Decision {
            allowed: false,
            reason: reason.to_string(),
        }
    }
}

/// Who a decision is about.
#[derive(Debug, Clone)]
pub enum Subject {
    /// The holder of an access token of this tenant.
    Token(String),
    /// A user of this tenant.
    User(Uuid),
}

impl AdminService {
    /// Decides whether `subject` holds `permission` (`user:read`).
    /// Decisions are role-based: `resource`, when given, is checked for
    /// shape and echoed in logs but does not change the answer.
    pub async fn check(
        &self,
        _permit: &Permit<UserRead>,
        subject: Subject,
        permission: &str,
        resource: Option<&str>,
    ) -> AuthResult<Decision> {
        let mut violations = Vec::new();
        if !is_grantable(permission) {
            violations.push(FieldViolation {
                field: "permission",
                rule: "invalid",
                message: "resource:action, resource:* or *".into(),
            });
        }
        if resource.is_some_and(|r| r.is_empty() || r.chars().count() > MAX_RESOURCE_CHARS) {
            violations.push(FieldViolation {
                field: "resource",
                rule: "invalid",
                message: format!("1 to {MAX_RESOURCE_CHARS} characters"),
            });
        }
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let access = match subject {
            Subject::User(user_id) => {
                let user = self.ctx.accounts().user(user_id).await?;
                if !user_may_sign_in(&user) {
                    return Ok(Decision::deny("account_inactive"));
                }
                self.access().for_user(user_id).await?
            }
            Subject::Token(token) => match self.caller(&token).await {
                Ok(subject) => Arc::new(subject.access().clone()),
                Err(AuthError::InvalidToken(_)) => return Ok(Decision::deny("invalid_token")),
                Err(AuthError::InsufficientScope(_)) => return Ok(Decision::deny("insufficient_scope")),
                Err(other) => return Err(other),
            },
        };
        let decision = self.decide(&access, permission).await?;
        tracing::debug!(
            permission,
            resource,
            allowed = decision.allowed,
            "authorization decision"
        );
        Ok(decision)
    }

    async fn decide(&self, access: &Access, permission: &str) -> AuthResult<Decision> {
        if !access.grants.allows(permission) {
            return Ok(Decision::deny("missing_permission"));
        }
        let graph = self.access().graph().await?;
        let role = access
            .roles
            .iter()
            .find(|role| graph.effective([role.as_str()]).allows(permission))
            .cloned()
            .unwrap_or_default();
        Ok(Decision {
            allowed: true,
            reason: format!("granted_by_role:{role}"),
        })
    }
}
