//! The admin service: what `/api/v1/admin/*` and `/api/v1/authz/check` do.
//! Every operation takes the [`Permit`] of the permission it needs (never a
//! role name), so it cannot be called without that check, then applies the
//! rank rule where it applies:
//!
//! - a role may be granted, revoked, created or changed only if its
//!   effective permissions are a subset of the caller's own;
//! - a user (or machine client) may be managed only if its effective
//!   permissions are a strict subset of the caller's own — except that a
//!   holder of `*` (a `super_admin`) may manage every account of its
//!   tenant, including other super admins, so that one of them can be
//!   removed without shell access;
//! - no write may leave the tenant without an active `super_admin`.

mod authz;
mod machines;
mod mail;
mod roles;
mod tenants;
mod user_listing;
mod users;

pub use authz::{Decision, Subject};
pub use machines::{ClientChanges, ClientView};
pub use mail::MailPage;
pub use roles::{NewPermission, NewRole, RoleChanges, RoleView};
pub use tenants::{is_tenant_slug, TenantChanges};
pub use user_listing::{UserListRequest, UserPage, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use users::{AdminUser, Bootstrapped, NewUser, UserChanges};

use std::sync::Arc;

use tessera_store::KeepLastHolder;
use uuid::Uuid;

use crate::access::AccessControl;
use crate::capability::{Actor, Caller, KeyRead, KeyRotate, Permit};
use crate::clients::ClientService;
use crate::context::TenantContext;
use crate::error::{AuthError, AuthResult};
use crate::jwt::SCOPE_ADMIN;
use crate::keys::{KeyInfo, SigningAlg};
use crate::rbac::SUPER_ADMIN;

/// The guard every write that may remove a `super_admin` carries.
const KEEP_SUPER_ADMIN: KeepLastHolder<'static> = KeepLastHolder { role: SUPER_ADMIN };

/// Administration of one tenant.
pub struct AdminService {
    ctx: Arc<TenantContext>,
    clients: Arc<ClientService>,
    key_defaults: KeyDefaults,
}

/// What a key rotation uses when the request does not say.
#[derive(Debug, Clone, Copy)]
pub struct KeyDefaults {
    /// Algorithm of the new key.
    pub alg: SigningAlg,
    /// Seconds between publishing the key and signing with it.
    pub activation_delay_secs: u64,
}

impl AdminService {
    /// The admin service of the tenant of `ctx`, with its client registry.
    pub fn new(
        ctx: Arc<TenantContext>,
        clients: Arc<ClientService>,
        key_defaults: KeyDefaults,
    ) -> AdminService {
        AdminService {
            ctx,
            clients,
            key_defaults,
        }
    }

    fn access(&self) -> &Arc<AccessControl> {
        self.ctx.access()
    }

    fn tenant_id(&self) -> Uuid {
        self.ctx.tenant_id()
    }

    /// Authenticates a bearer token of a user (live session) or of a
    /// machine client (client credentials, client still registered) and
    /// loads what it holds: the caller, from which permits are taken.
    pub async fn caller(&self, token: &str) -> AuthResult<Caller> {
        let tokens = self.ctx.tokens();
        let claims = tokens.verify(token).await?;
        if tokens.is_revoked(&claims.jti).await? {
            return Err(AuthError::InvalidToken("revoked"));
        }
        // A token reaches the admin API only if it was granted
        // `tessera:admin`: by the person who consented, or, for a client's
        // own token, by its registration. It then acts with the person's or
        // the client's roles.
        if !claims.opens_tessera_api(SCOPE_ADMIN) {
            return Err(AuthError::InsufficientScope(SCOPE_ADMIN));
        }
        let actor = match claims.sid {
            Some(sid) => {
                let state = self.ctx.accounts().live_session(sid, &claims.sub).await?;
                Actor::User(state.user.user_id)
            }
            None => {
                let client = self
                    .clients
                    .find(&claims.sub)
                    .await?
                    .ok_or(AuthError::InvalidToken("client no longer registered"))?;
                Actor::Client(client.client_id)
            }
        };
        let access = match actor {
            Actor::User(id) => self.access().for_user(id).await?,
            Actor::Client(id) => self.access().for_client(id).await?,
            Actor::Operator => return Ok(Caller::operator()),
        };
        Ok(Caller::authenticated(actor, access))
    }

    /// The signing keys of the tenant.
    pub async fn list_keys(&self, _permit: &Permit<KeyRead>) -> AuthResult<Vec<KeyInfo>> {
        self.ctx.keys().list(self.tenant_id(), self.ctx.now()).await
    }

    /// Starts a key rotation: see [`crate::keys::KeyRing::rotate`].
    pub async fn rotate_key(
        &self,
        _permit: &Permit<KeyRotate>,
        alg: Option<SigningAlg>,
        activation_delay_secs: Option<u64>,
    ) -> AuthResult<tessera_store::SigningKey> {
        let alg = alg.unwrap_or(self.key_defaults.alg);
        let activation_delay_secs = activation_delay_secs.unwrap_or(self.key_defaults.activation_delay_secs);
        let clients = self.clients.list().await?;
        let retain = crate::keys::retention_secs(
            &self.ctx.settings().tokens,
            clients.iter().map(|c| c.access_token_ttl_secs),
        );
        self.ctx
            .keys()
            .rotate(
                self.tenant_id(),
                alg,
                activation_delay_secs,
                retain,
                self.ctx.now(),
            )
            .await
    }
}
