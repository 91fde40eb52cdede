//! Administration of tenants: only from the default tenant, by holders of
//! `tenant:*` permissions there.

use tessera_store::{Conflict, StoreError, Tenant, DEFAULT_TENANT_SLUG};
use uuid::Uuid;

use super::AdminService;
use crate::capability::{Founder, Permit, TenantCreate, TenantRead, TenantUpdate};
use crate::error::{AuthError, AuthResult, FieldViolation};
use crate::identity::Email;

/// Longest tenant slug.
const MAX_SLUG_LEN: usize = 32;
/// Longest tenant name, characters.
const MAX_TENANT_NAME_CHARS: usize = 128;

/// Changes to a tenant (PATCH semantics).
#[derive(Debug, Clone, Default)]
pub struct TenantChanges {
    /// New display name.
    pub name: Option<String>,
    /// `true` disables the tenant (its routes answer 404, its tokens stop
    /// working), `false` enables it again.
    pub disabled: Option<bool>,
}

fn violation(field: &'static str, rule: &'static str, message: impl Into<String>) -> FieldViolation {
    FieldViolation {
        field,
        rule,
        message: message.into(),
    }
}

/// Whether `slug` can name a tenant in a URL: lowercase letters, digits and
/// inner hyphens, 1–32 characters.
pub fn is_tenant_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_SLUG_LEN
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

fn check_name(name: &str, violations: &mut Vec<FieldViolation>) {
    let trimmed = name.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > MAX_TENANT_NAME_CHARS
        || trimmed.chars().any(char::is_control)
    {
        violations.push(violation(
            "name",
            "invalid",
            format!("1 to {MAX_TENANT_NAME_CHARS} printable characters"),
        ));
    }
}

impl AdminService {
    /// Tenants are administered from the default tenant only; elsewhere
    /// these routes do not exist.
    fn require_default_tenant(&self) -> AuthResult<()> {
        if self.ctx.tenant().slug == DEFAULT_TENANT_SLUG {
            Ok(())
        } else {
            Err(AuthError::NotFound)
        }
    }

    /// Every tenant (`tenant:read`).
    pub async fn list_tenants(&self, _permit: &Permit<TenantRead>) -> AuthResult<Vec<Tenant>> {
        self.require_default_tenant()?;
        Ok(self.ctx.resources().list_tenants().await?)
    }

    /// Creates a tenant; it is served under `/t/{slug}` and gets its seeded
    /// roles when first used. Returns it with the founding right over it
    /// (to make its first super admin).
    pub async fn create_tenant(
        &self,
        _permit: &Permit<TenantCreate>,
        slug: &str,
        name: &str,
    ) -> AuthResult<(Tenant, Founder)> {
        self.require_default_tenant()?;
        let mut violations = Vec::new();
        if !is_tenant_slug(slug) {
            violations.push(violation(
                "slug",
                "invalid",
                format!("1 to {MAX_SLUG_LEN} of lowercase letters, digits and inner hyphens"),
            ));
        }
        check_name(name, &mut violations);
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let tenant = Tenant {
            tenant_id: Uuid::now_v7(),
            slug: slug.to_string(),
            name: name.trim().to_string(),
            created_at: self.ctx.now(),
            disabled_at: None,
        };
        match self.ctx.resources().create_tenant(&tenant).await {
            Ok(()) => {
                let founder = Founder::of_new_tenant(tenant.tenant_id);
                Ok((tenant, founder))
            }
            Err(StoreError::Conflict(_)) => Err(AuthError::Conflict(Conflict::Slug)),
            Err(other) => Err(other.into()),
        }
    }

    /// Renames, disables or re-enables a tenant (`tenant:update`); the
    /// default tenant cannot be disabled.
    pub async fn update_tenant(
        &self,
        _permit: &Permit<TenantUpdate>,
        slug: &str,
        changes: TenantChanges,
    ) -> AuthResult<Tenant> {
        self.require_default_tenant()?;
        let mut violations = Vec::new();
        if let Some(name) = &changes.name {
            check_name(name, &mut violations);
        }
        if slug == DEFAULT_TENANT_SLUG && changes.disabled == Some(true) {
            violations.push(violation(
                "disabled",
                "default_tenant",
                "the default tenant cannot be disabled",
            ));
        }
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let disabled_at = changes.disabled.map(|disabled| disabled.then(|| self.ctx.now()));
        let name = changes.name.as_deref().map(str::trim);
        Ok(self
            .ctx
            .resources()
            .update_tenant(slug, name, disabled_at)
            .await?)
    }

    /// Checks the first administrator's credentials for a new tenant
    /// before the tenant is created, so a bad password creates nothing.
    pub fn check_admin_credentials(&self, email: &str, password: &str) -> AuthResult<()> {
        let mut violations = Vec::new();
        let email = Email::parse(email).map_err(|v| violations.push(v)).ok();
        violations.extend(
            self.ctx
                .settings()
                .password_policy
                .violations(password, email.as_ref()),
        );
        if violations.is_empty() {
            Ok(())
        } else {
            Err(AuthError::Validation(violations))
        }
    }
}
