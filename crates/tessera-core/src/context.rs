//! The tenant context: everything the services of one tenant share — the
//! tenant, its settings, the ports, its keys, the password hasher, and the
//! components that own the tenant's data together with their caches
//! ([`Accounts`] for users and sessions, [`AccessControl`] for roles,
//! [`AccessTokens`] for signed tokens). Services hold an `Arc` of it; none
//! of them owns what another needs.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use tessera_store::{OutgoingMail, ResourceStore, Store, Tenant};
use uuid::Uuid;

use crate::access::AccessControl;
use crate::access_tokens::AccessTokens;
use crate::accounts::Accounts;
use crate::clock::Clock;
use crate::error::{AuthError, AuthResult};
use crate::keys::KeyRing;
use crate::mail::outbox::Outbox;
use crate::mail::templates::{MailKind, MailVars};
use crate::password::PasswordHasher;
use crate::ports::{EventSink, Mailer, Ports};
use crate::service::{Authenticated, ServiceSettings};

/// What the services of one tenant share.
pub struct TenantContext {
    tenant: Tenant,
    settings: ServiceSettings,
    ports: Ports,
    resources: Arc<dyn ResourceStore>,
    keys: Arc<KeyRing>,
    hasher: PasswordHasher,
    access: Arc<AccessControl>,
    accounts: Accounts,
    tokens: AccessTokens,
    outbox: Arc<Outbox>,
}

impl TenantContext {
    /// The context of `tenant`: prepares its signing keys and seeded roles
    /// on first use.
    pub async fn start(
        store: Arc<dyn Store>,
        ports: Ports,
        keys: Arc<KeyRing>,
        hasher: PasswordHasher,
        settings: ServiceSettings,
        tenant: Tenant,
        outbox: Arc<Outbox>,
    ) -> AuthResult<Arc<TenantContext>> {
        let clock = ports.clock.clone();
        let tenant_id = tenant.tenant_id;
        keys.ensure_loaded(tenant_id, clock.now()).await?;
        let ttl = StdDuration::from_secs(settings.tokens.session_cache_ttl_secs);
        let access = Arc::new(AccessControl::new(store.clone(), tenant_id, clock.clone(), ttl));
        access.seed().await?;
        let resources: Arc<dyn ResourceStore> = store.clone();
        let accounts = Accounts::new(
            store,
            tenant_id,
            clock.clone(),
            hasher.clone(),
            settings.lockout.clone(),
            settings.tokens.clone(),
            access.clone(),
        );
        let tokens = AccessTokens::new(
            tenant_id,
            settings.issuer.clone(),
            settings.tokens.clone(),
            keys.clone(),
            access.clone(),
            resources.clone(),
            clock,
        );
        Ok(Arc::new(TenantContext {
            tenant,
            settings,
            ports,
            resources,
            keys,
            hasher,
            access,
            accounts,
            tokens,
            outbox,
        }))
    }

    /// The tenant.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// Its id.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.tenant_id
    }

    /// Its issuer URL (the `iss` of its tokens).
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The service settings.
    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    /// Now, by the clock port.
    pub fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    /// The clock port.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.ports.clock
    }

    /// The mail port.
    pub fn mailer(&self) -> &Arc<dyn Mailer> {
        &self.ports.mailer
    }

    /// The outbox mail is queued in.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// A mail of `kind` to `to` of this tenant, rendered and sealed for the
    /// outbox.
    pub fn compose_mail(&self, kind: MailKind, to: &str, vars: &MailVars) -> AuthResult<OutgoingMail> {
        self.outbox.compose(
            self.tenant.tenant_id,
            &self.tenant.slug,
            kind,
            to,
            vars,
            self.now(),
        )
    }

    /// Refuses (`EmailNotVerified`) a user who proved their password but
    /// whose address is unverified, when the tenant requires verified
    /// addresses. Called only after a correct password: a wrong one never
    /// learns whether the address is verified.
    pub fn check_email_verified(&self, user: &tessera_store::User) -> AuthResult<()> {
        if self.settings.accounts.require_verified_email && !user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        Ok(())
    }

    /// The event port.
    pub fn events(&self) -> &Arc<dyn EventSink> {
        &self.ports.events
    }

    /// The tenant, keys, clients, revocations and the database itself
    /// (accounts and roles are reached through their components).
    pub fn resources(&self) -> &Arc<dyn ResourceStore> {
        &self.resources
    }

    /// The signing keys.
    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.keys
    }

    /// The password hasher.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Roles and permissions.
    pub fn access(&self) -> &Arc<AccessControl> {
        &self.access
    }

    /// Users and sessions.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Access tokens.
    pub fn tokens(&self) -> &AccessTokens {
        &self.tokens
    }

    /// Accepts a bearer access token only if its signature, algorithm,
    /// `typ`, `iss`, `aud`, `exp`/`nbf` and its session (not revoked, not
    /// expired, user active) all check out, and its `jti` is not revoked.
    /// A client's own token (client credentials, no `sid`) is not a user
    /// session and is refused.
    pub async fn authenticate(&self, token: &str) -> AuthResult<Authenticated> {
        let claims = self.tokens.verify(token).await?;
        let sid = claims.sid.ok_or(AuthError::InvalidToken("not a user token"))?;
        if self.tokens.is_revoked(&claims.jti).await? {
            return Err(AuthError::InvalidToken("revoked"));
        }
        let state = self.accounts.live_session(sid, &claims.sub).await?;
        Ok(Authenticated { claims, state })
    }
}
