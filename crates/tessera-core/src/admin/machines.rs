//! Administration of OAuth clients (machine clients included) and their
//! roles.

use tessera_store::Client;
use uuid::Uuid;

use super::AdminService;
use crate::capability::{Caller, ClientCreate, ClientDelete, ClientRead, ClientUpdate, Permit, RoleAssign};
use crate::clients::{ClientSecret, NewClient, RegisteredClient};
use crate::error::AuthResult;
use crate::jwt::SCOPE_ADMIN;
use crate::rbac::{Grants, ALL};

/// A client as the admin API shows it: the registration and its roles.
#[derive(Debug, Clone)]
pub struct ClientView {
    /// The registration (secrets only as hashes, which the API never shows).
    pub client: Client,
    /// Roles assigned to the client.
    pub roles: Vec<String>,
}

/// Changes to a client's registration (PATCH semantics; type and
/// authentication method cannot change — register a new client instead).
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    /// Display name.
    pub name: Option<String>,
    /// Redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// Grant types.
    pub grant_types: Option<Vec<String>>,
    /// Scopes.
    pub scopes: Option<Vec<String>>,
    /// JWK Set (for `private_key_jwt`).
    pub jwks: Option<Option<serde_json::Value>>,
    /// First-party flag.
    pub first_party: Option<bool>,
    /// Access-token lifetime override.
    pub access_token_ttl_secs: Option<Option<i64>>,
    /// Refresh-token idle lifetime override.
    pub refresh_idle_ttl_secs: Option<Option<i64>>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// ID-token algorithm.
    pub id_token_signed_response_alg: Option<Option<String>>,
    /// Whether access tokens carry `permissions`.
    pub token_permissions: Option<bool>,
    /// Let a legacy confidential client off PKCE when it sends a `nonce`.
    pub pkce_optional: Option<bool>,
    /// The resource (RFC 8707) it stands for; `Some(None)` clears it.
    pub resource: Option<Option<String>>,
    /// The scopes of that resource.
    pub resource_scopes: Option<Vec<String>>,
    /// Lifetime of secrets issued from now on; `Some(None)` = no expiry.
    pub secret_ttl_secs: Option<Option<i64>>,
    /// Disable (`true`) or enable (`false`) the client.
    pub disabled: Option<bool>,
}

impl AdminService {
    /// Every client with its roles (`client:read`).
    pub async fn list_clients(&self, _permit: &Permit<ClientRead>) -> AuthResult<Vec<ClientView>> {
        let mut views = Vec::new();
        for client in self.clients.list().await? {
            views.push(self.client_view(client).await?);
        }
        Ok(views)
    }

    /// One client (`client:read`).
    pub async fn get_client(&self, _permit: &Permit<ClientRead>, client_id: Uuid) -> AuthResult<ClientView> {
        let client = self.clients.get(client_id).await?;
        self.client_view(client).await
    }

    async fn client_view(&self, client: Client) -> AuthResult<ClientView> {
        let roles = self.access().for_client(client.client_id).await?.roles.clone();
        Ok(ClientView { client, roles })
    }

    /// The client if the caller may manage it (rank rule over its roles).
    async fn manageable_client(&self, caller: &Caller, client_id: Uuid) -> AuthResult<Client> {
        let client = self.clients.get(client_id).await?;
        let access = self.access().for_client(client_id).await?;
        caller.may_manage(&access.grants, "this client")?;
        Ok(client)
    }

    /// Registers a client (`client:create`); the secret is in the answer
    /// only.
    pub async fn create_client(
        &self,
        permit: &Permit<ClientCreate>,
        input: NewClient,
    ) -> AuthResult<RegisteredClient> {
        may_register(permit.caller(), &input)?;
        self.clients.create(input).await
    }

    /// Changes a client's registration (`client:update`, rank rule).
    pub async fn update_client(
        &self,
        permit: &Permit<ClientUpdate>,
        client_id: Uuid,
        changes: ClientChanges,
    ) -> AuthResult<ClientView> {
        let current = self.manageable_client(permit.caller(), client_id).await?;
        let mut input = NewClient::from_client(&current);
        if let Some(name) = changes.name {
            input.name = name;
        }
        if let Some(uris) = changes.redirect_uris {
            input.redirect_uris = uris;
        }
        if let Some(grants) = changes.grant_types {
            input.grant_types = grants;
        }
        if let Some(scopes) = changes.scopes {
            input.scopes = scopes;
        }
        if let Some(jwks) = changes.jwks {
            input.jwks = jwks;
        }
        if let Some(first_party) = changes.first_party {
            input.first_party = first_party;
        }
        if let Some(ttl) = changes.access_token_ttl_secs {
            input.access_token_ttl_secs = ttl;
        }
        if let Some(ttl) = changes.refresh_idle_ttl_secs {
            input.refresh_idle_ttl_secs = ttl;
        }
        if let Some(uris) = changes.post_logout_redirect_uris {
            input.post_logout_redirect_uris = uris;
        }
        if let Some(alg) = changes.id_token_signed_response_alg {
            input.id_token_signed_response_alg = alg;
        }
        if let Some(flag) = changes.token_permissions {
            input.token_permissions = Some(flag);
        }
        if let Some(flag) = changes.pkce_optional {
            input.pkce_optional = flag;
        }
        if let Some(resource) = changes.resource {
            input.resource = resource;
        }
        if let Some(scopes) = changes.resource_scopes {
            input.resource_scopes = scopes;
        }
        if let Some(ttl) = changes.secret_ttl_secs {
            input.secret_ttl_secs = ttl;
        }
        if let Some(disabled) = changes.disabled {
            input.disabled = disabled;
        }
        may_register(permit.caller(), &input)?;
        let client = self.clients.update(client_id, input).await?;
        self.client_view(client).await
    }

    /// Deletes a client (`client:delete`, rank rule).
    pub async fn delete_client(&self, permit: &Permit<ClientDelete>, client_id: Uuid) -> AuthResult<()> {
        self.manageable_client(permit.caller(), client_id).await?;
        self.clients.delete(client_id).await?;
        self.access().forget_client(client_id).await;
        Ok(())
    }

    /// Issues a new secret, the current one staying valid until the next
    /// rotation (`client:update`, rank rule).
    pub async fn rotate_client_secret(
        &self,
        permit: &Permit<ClientUpdate>,
        client_id: Uuid,
    ) -> AuthResult<ClientSecret> {
        self.manageable_client(permit.caller(), client_id).await?;
        self.clients.rotate_secret(client_id).await
    }

    /// Assigns a role to a client (`role:assign`; the caller must hold the
    /// role's grants and outrank the client).
    pub async fn assign_client_role(
        &self,
        permit: &Permit<RoleAssign>,
        client_id: Uuid,
        role: &str,
    ) -> AuthResult<ClientView> {
        let grants = self.role_grants(role).await?;
        permit.caller().may_grant(&grants, &format!("role {role}"))?;
        let client = self.manageable_client(permit.caller(), client_id).await?;
        self.access().assign_client_role(client_id, role).await?;
        self.client_view(client).await
    }

    /// Removes a role from a client (`role:assign`, as for assigning).
    pub async fn remove_client_role(
        &self,
        permit: &Permit<RoleAssign>,
        client_id: Uuid,
        role: &str,
    ) -> AuthResult<ClientView> {
        let grants = self.role_grants(role).await?;
        permit.caller().may_grant(&grants, &format!("role {role}"))?;
        let client = self.manageable_client(permit.caller(), client_id).await?;
        self.access().remove_client_role(client_id, role).await?;
        self.client_view(client).await
    }
}

/// The rank rule for what a client could obtain. A first-party client gets
/// no consent screen, and a client that may ask for `tessera:admin` on a
/// person's behalf acts with that person's permissions: either can end up
/// holding anyone's permissions, up to `*` (an admin registering one, then
/// luring a super admin to it, would become super admin). Only a caller
/// holding every permission may register or keep such a client. A client
/// that only obtains tokens for itself (client credentials) acts with its
/// own roles, which the role rules already bound.
fn may_register(caller: &Caller, input: &NewClient) -> AuthResult<()> {
    let for_people = input
        .grant_types
        .iter()
        .any(|grant| grant == "authorization_code");
    let admin_scope = input.scopes.iter().any(|scope| scope == SCOPE_ADMIN);
    if input.first_party || (for_people && admin_scope) {
        caller.may_grant(
            &Grants::of([ALL]),
            "a first-party client, or one that may ask for tessera:admin,",
        )?;
    }
    Ok(())
}
