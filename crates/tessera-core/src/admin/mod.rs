//! The admin service: what `/api/v1/admin/*` and `/api/v1/authz/check` do.
//! Every operation first checks that the caller holds the named permission
//! the operation needs (never a role name), then the rank rule where it
//! applies:
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
mod roles;
mod tenants;
mod users;

pub use authz::{Decision, Subject};
pub use machines::{ClientChanges, ClientView};
pub use roles::{NewPermission, NewRole, RoleChanges, RoleView};
pub use tenants::{is_tenant_slug, TenantChanges};
pub use users::{AdminUser, NewUser, UserChanges, UserListRequest, UserPage};

use std::sync::Arc;

use tessera_store::{KeepLastHolder, Store};
use uuid::Uuid;

use crate::access::{Access, AccessControl};
use crate::clients::ClientService;
use crate::error::{AuthError, AuthResult};
use crate::keys::{KeyInfo, KeyRing, SigningAlg};
use crate::rbac::{Grants, ALL, SUPER_ADMIN};
use crate::service::AuthService;

/// Who is calling the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// A signed-in user (a token with a live session).
    User(Uuid),
    /// A machine client (its client-credentials token).
    Client(Uuid),
}

/// An authenticated admin caller and what it holds right now (read through
/// the access cache, not from the token, so a removed role stops working
/// within the cache TTL even while the token lives).
#[derive(Debug, Clone)]
pub struct Caller {
    /// User or client.
    pub kind: CallerKind,
    /// Its roles and effective permissions.
    pub access: Arc<Access>,
}

impl Caller {
    /// `Forbidden` unless the caller holds `permission`.
    pub fn require(&self, permission: &str) -> AuthResult<()> {
        if self.access.grants.allows(permission) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(permission.to_string()))
        }
    }

    fn is_all_powerful(&self) -> bool {
        self.access.grants.allows(ALL)
    }

    /// The rank rule for managing an account holding `target`.
    fn may_manage(&self, target: &Grants, what: &str) -> AuthResult<()> {
        if self.is_all_powerful() || self.access.grants.strictly_contains(target) {
            Ok(())
        } else {
            Err(AuthError::RankRule(format!(
                "{what} holds permissions that are not strictly below yours"
            )))
        }
    }

    /// The rank rule for handing out, taking away or changing something
    /// that grants `grants`.
    fn may_grant(&self, grants: &Grants, what: &str) -> AuthResult<()> {
        if self.access.grants.contains_all(grants) {
            Ok(())
        } else {
            Err(AuthError::RankRule(format!(
                "{what} grants permissions you do not hold"
            )))
        }
    }
}

/// The guard every write that may remove a `super_admin` carries.
const KEEP_SUPER_ADMIN: KeepLastHolder<'static> = KeepLastHolder { role: SUPER_ADMIN };

/// Administration of one tenant.
pub struct AdminService {
    auth: Arc<AuthService>,
    clients: Arc<ClientService>,
    keys: Arc<KeyRing>,
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
    /// The admin service over the tenant's account service, client
    /// registry and key ring.
    pub fn new(
        auth: Arc<AuthService>,
        clients: Arc<ClientService>,
        keys: Arc<KeyRing>,
        key_defaults: KeyDefaults,
    ) -> AdminService {
        AdminService {
            auth,
            clients,
            keys,
            key_defaults,
        }
    }

    fn store(&self) -> &Arc<dyn Store> {
        self.auth.store()
    }

    fn access(&self) -> &Arc<AccessControl> {
        self.auth.access()
    }

    fn tenant_id(&self) -> Uuid {
        self.auth.tenant().tenant_id
    }

    /// Authenticates a bearer token of a user (live session) or of a
    /// machine client (client credentials, client still registered) and
    /// loads what it holds.
    pub async fn caller(&self, token: &str) -> AuthResult<Caller> {
        let claims = self.auth.verify_token(token).await?;
        if self.auth.is_revoked(&claims.jti).await? {
            return Err(AuthError::InvalidToken("revoked"));
        }
        let kind = match claims.sid {
            Some(sid) => {
                let state = self.auth.live_session(sid, &claims.sub).await?;
                CallerKind::User(state.user.user_id)
            }
            None => {
                let client = self
                    .clients
                    .find(&claims.sub)
                    .await?
                    .ok_or(AuthError::InvalidToken("client no longer registered"))?;
                CallerKind::Client(client.client_id)
            }
        };
        let access = match kind {
            CallerKind::User(id) => self.access().for_user(id).await?,
            CallerKind::Client(id) => self.access().for_client(id).await?,
        };
        Ok(Caller { kind, access })
    }

    /// The signing keys of the tenant (`key:read`).
    pub async fn list_keys(&self, caller: &Caller) -> AuthResult<Vec<KeyInfo>> {
        caller.require("key:read")?;
        self.keys.list(self.tenant_id(), self.auth.clock().now()).await
    }

    /// Starts a key rotation (`key:rotate`): see [`KeyRing::rotate`].
    pub async fn rotate_key(
        &self,
        caller: &Caller,
        alg: Option<SigningAlg>,
        activation_delay_secs: Option<u64>,
    ) -> AuthResult<tessera_store::SigningKey> {
        caller.require("key:rotate")?;
        let alg = alg.unwrap_or(self.key_defaults.alg);
        let activation_delay_secs = activation_delay_secs.unwrap_or(self.key_defaults.activation_delay_secs);
        let clients = self.clients.list().await?;
        let retain = crate::keys::retention_secs(
            &self.auth.settings().tokens,
            clients.iter().map(|c| c.access_token_ttl_secs),
        );
        self.keys
            .rotate(
                self.tenant_id(),
                alg,
                activation_delay_secs,
                retain,
                self.auth.clock().now(),
            )
            .await
    }
}
