//! `tessera clients …`: the OAuth client registry from the command line.
//!
//! Each command opens the configured database (migrating it), calls one
//! [`ClientService`] method and prints the result, as a table or with
//! `--json` as JSON. A running server reads clients from the same database
//! on every use, so what this changes takes effect at once.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::json;
use tessera_core::admin::ClientChanges;
use tessera_core::{AuthError, Caller, ClientService, NewClient};
use tessera_store::{Client, ClientType, GrantType, TokenEndpointAuthMethod};
use uuid::Uuid;

use crate::command::{Target, EXIT_USAGE};
use crate::{Config, Services};

/// The `tessera clients` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client; prints its client_id and, for a client that
    /// authenticates with a secret, the secret (shown only this once).
    Create(Box<CreateArgs>),
    /// List the registered clients.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Issue a new secret (shown only this once). The current secret stays
    /// valid until the next rotation; any older one stops working now.
    RotateSecret {
        /// The client's id.
        client_id: Uuid,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Delete a client.
    Delete {
        /// The client's id.
        client_id: Uuid,
    },
    /// Disable a client: its token requests, introspection, revocation and
    /// authorization requests are refused (`invalid_client`, "disabled")
    /// until it is enabled again. Tokens it already holds stay valid until
    /// they expire.
    Disable {
        /// The client's id.
        client_id: Uuid,
    },
    /// Enable a disabled client again.
    Enable {
        /// The client's id.
        client_id: Uuid,
    },
}

/// Options of `tessera clients create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Display name.
    #[arg(long)]
    name: String,
    /// `confidential` (a server that keeps a secret) or `public` (SPA, native app).
    #[arg(long = "type", value_name = "confidential|public")]
    client_type: String,
    /// Comma-separated: authorization_code, refresh_token, client_credentials.
    #[arg(long, value_delimiter = ',', value_name = "GRANT,…")]
    grant_types: Vec<String>,
    /// Redirect URI, matched by exact string (repeatable). `http` only for
    /// 127.0.0.1, [::1] and localhost.
    #[arg(long = "redirect-uri", num_args = 1.., value_name = "URI")]
    redirect_uris: Vec<String>,
    /// Comma-separated scopes the client may request.
    #[arg(long, value_delimiter = ',', value_name = "SCOPE,…")]
    scopes: Vec<String>,
    /// A trusted first-party application (no consent screen).
    #[arg(long)]
    first_party: bool,
    /// Token endpoint authentication: client_secret_basic (default for
    /// confidential), client_secret_post, private_key_jwt (needs --jwks),
    /// none (public clients).
    #[arg(long, value_name = "METHOD")]
    auth_method: Option<String>,
    /// File with the client's JWK Set, for private_key_jwt.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// Access-token lifetime for this client, seconds.
    #[arg(long, value_name = "SECS")]
    access_token_ttl_secs: Option<i64>,
    /// Lifetime of each secret issued to this client, seconds (default: no
    /// expiry); a rotation issues a new secret with the same lifetime.
    #[arg(long, value_name = "SECS")]
    secret_ttl_secs: Option<i64>,
    /// Refresh-token idle lifetime for this client, seconds.
    #[arg(long, value_name = "SECS")]
    refresh_idle_ttl_secs: Option<i64>,
    /// Where RP-initiated logout (`/oauth2/logout`) may send the browser
    /// back to, matched by exact string (repeatable).
    #[arg(long = "post-logout-redirect-uri", num_args = 1.., value_name = "URI")]
    post_logout_redirect_uris: Vec<String>,
    /// ID-token signing algorithm: RS256 (default), ES256 or EdDSA.
    #[arg(long, value_name = "ALG")]
    id_token_alg: Option<String>,
    /// Leave the `permissions` claim out of this client's access tokens
    /// (they keep `roles` and `tid`), to keep tokens small.
    #[arg(long)]
    no_token_permissions: bool,
    /// Let this legacy confidential client leave PKCE out when its
    /// authorization requests send an OIDC nonce (PKCE is otherwise
    /// required of every client).
    #[arg(long)]
    pkce_optional: bool,
    /// Register this client as a resource server (RFC 8707): other clients
    /// send this absolute URI as `resource` and get tokens with it as `aud`.
    #[arg(long, value_name = "URI")]
    resource: Option<String>,
    /// A scope of that resource (repeatable).
    #[arg(long = "resource-scope", num_args = 1.., value_name = "SCOPE")]
    resource_scopes: Vec<String>,
    /// Role to give the client (repeatable): what its own tokens (client
    /// credentials) may do, e.g. `--role reports_reader`.
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// A client as shown to operators: everything but the secret hashes.
#[derive(Serialize)]
struct ClientView<'a> {
    client_id: Uuid,
    name: &'a str,
    client_type: ClientType,
    token_endpoint_auth_method: TokenEndpointAuthMethod,
    grant_types: &'a [GrantType],
    redirect_uris: &'a [String],
    post_logout_redirect_uris: &'a [String],
    id_token_signed_response_alg: &'a str,
    scopes: &'a [String],
    first_party: bool,
    access_token_ttl_secs: Option<i64>,
    refresh_idle_ttl_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    resource_scopes: &'a [String],
    secret_ttl_secs: Option<i64>,
    secret_expires_at: Option<String>,
    disabled: bool,
    created_at: String,
    updated_at: String,
}

impl<'a> From<&'a Client> for ClientView<'a> {
    fn from(c: &'a Client) -> Self {
        ClientView {
            client_id: c.client_id,
            name: &c.name,
            client_type: c.client_type,
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            grant_types: &c.grant_types,
            redirect_uris: &c.redirect_uris,
            post_logout_redirect_uris: &c.post_logout_redirect_uris,
            id_token_signed_response_alg: c.id_token_signed_response_alg.as_deref().unwrap_or("RS256"),
            scopes: &c.scopes,
            first_party: c.first_party,
            access_token_ttl_secs: c.access_token_ttl_secs,
            refresh_idle_ttl_secs: c.refresh_idle_ttl_secs,
            resource: c.resource.as_deref(),
            resource_scopes: &c.resource_scopes,
            secret_ttl_secs: c.secret_ttl_secs,
            secret_expires_at: c.secret_expires_at.map(|at| at.to_rfc3339()),
            disabled: c.disabled_at.is_some(),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// Why a command failed: refused input (exit 2) or anything else (exit 1).
#[derive(Debug)]
enum Failure {
    Usage(String),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Failure::Other(err)
    }
}

impl From<AuthError> for Failure {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Validation(violations) => {
                let mut message = String::from("invalid client:");
                for v in violations {
                    message.push_str(&format!("\n  {}: {} ({})", v.field, v.message, v.rule));
                }
                Failure::Usage(message)
            }
            other => Failure::Other(other.into()),
        }
    }
}

/// Names the client in a not-found error.
fn naming(client_id: Uuid) -> impl FnOnce(AuthError) -> Failure {
    move |err| match err {
        AuthError::NotFound => Failure::Other(anyhow::anyhow!("no client with id {client_id}")),
        other => other.into(),
    }
}

/// Runs one `tessera clients` command on the clients of `target`'s tenant:
/// output on stdout, a clear message on stderr and a non-zero status (2 for
/// refused input or no database) on failure.
pub async fn run(config: &Config, target: &Target, command: ClientsCommand) -> ExitCode {
    match execute(config, target, command).await {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(message)) => {
            eprintln!("tessera: {message}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Other(err)) => crate::command::fail(&err, &format!("{err:#}")),
    }
}

/// Executes a command and renders what it prints.
async fn execute(config: &Config, target: &Target, command: ClientsCommand) -> Result<String, Failure> {
    let services = target.services(config).await?;
    let clients = services.clients.clone();
    match command {
        ClientsCommand::Create(args) => create(&services, *args).await,
        ClientsCommand::List { json } => {
            let list = clients.list().await?;
            if json {
                let views: Vec<ClientView<'_>> = list.iter().map(ClientView::from).collect();
                let text = serde_json::to_string_pretty(&views).context("cannot encode JSON")?;
                Ok(format!("{text}\n"))
            } else {
                Ok(table(&list))
            }
        }
        ClientsCommand::RotateSecret { client_id, json } => rotate_secret(&clients, client_id, json).await,
        ClientsCommand::Delete { client_id } => {
            clients.delete(client_id).await.map_err(naming(client_id))?;
            Ok(format!("deleted client {client_id}\n"))
        }
        ClientsCommand::Disable { client_id } => set_disabled(&services, client_id, true).await,
        ClientsCommand::Enable { client_id } => set_disabled(&services, client_id, false).await,
    }
}

/// `tessera clients create`: registers the client, grants its roles and
/// prints its id, secret (if it has one) and roles.
///
/// The admin service has no call that registers and grants in one
/// transaction, so the roles are checked first (an unknown one refuses the
/// command before anything is written), then the client is registered and
/// each role granted with the same service calls as
/// `POST /api/v1/admin/clients/{id}/roles`. Should a grant still fail, the
/// message names the client that was registered and the roles it lacks.
async fn create(services: &Services, args: CreateArgs) -> Result<String, Failure> {
    let json = args.json;
    let jwks = read_jwks(args.jwks.as_deref())?;
    let operator = Caller::operator();
    for role in &args.roles {
        let permit = operator.permit().map_err(Failure::from)?;
        match services.admin.get_role(&permit, role).await {
            Ok(_) => {}
            Err(AuthError::NotFound) => return Err(Failure::Usage(format!("--role: no role named {role}"))),
            Err(other) => return Err(other.into()),
        }
    }
    let roles = args.roles;
    let registered = services
        .clients
        .create(NewClient {
            name: args.name,
            client_type: args.client_type,
            redirect_uris: args.redirect_uris,
            grant_types: args.grant_types,
            scopes: args.scopes,
            token_endpoint_auth_method: args.auth_method,
            jwks,
            first_party: args.first_party,
            access_token_ttl_secs: args.access_token_ttl_secs,
            refresh_idle_ttl_secs: args.refresh_idle_ttl_secs,
            post_logout_redirect_uris: args.post_logout_redirect_uris,
            id_token_signed_response_alg: args.id_token_alg,
            token_permissions: Some(!args.no_token_permissions),
            pkce_optional: args.pkce_optional,
            resource: args.resource,
            resource_scopes: args.resource_scopes,
            secret_ttl_secs: args.secret_ttl_secs,
            disabled: false,
        })
        .await?;
    let client_id = registered.client.client_id;
    let secret = registered.secret.as_ref().map(|s| s.expose());
    let granted = grant_roles(services, client_id, &roles).await?;
    Ok(if json {
        let mut out = json!({ "client_id": client_id });
        if let Some(secret) = secret {
            out["client_secret"] = json!(secret);
        }
        if !roles.is_empty() {
            out["roles"] = json!(granted);
        }
        format!("{out}\n")
    } else {
        let mut out = format!("client_id:     {client_id}\n");
        if !roles.is_empty() {
            out.push_str(&format!("roles:         {}\n", granted.join(", ")));
        }
        if let Some(secret) = secret {
            out.push_str(&format!(
                "client_secret: {secret}\nStore the secret now: it is not shown again.\n"
            ));
        }
        out
    })
}

/// Grants `roles` to the client just registered; the client's roles after
/// the last grant.
async fn grant_roles(services: &Services, client_id: Uuid, roles: &[String]) -> Result<Vec<String>, Failure> {
    let operator = Caller::operator();
    let mut held = Vec::new();
    for role in roles {
        let permit = operator.permit().map_err(Failure::from)?;
        match services.admin.assign_client_role(&permit, client_id, role).await {
            Ok(view) => held = view.roles,
            Err(err) => {
                return Err(Failure::Other(anyhow::anyhow!(
                    "client {client_id} was registered, but role {role} could not be granted: {}; \
                     grant the missing roles with POST /api/v1/admin/clients/{client_id}/roles \
                     or delete the client",
                    crate::users::describe(&err)
                )))
            }
        }
    }
    Ok(held)
}

/// The JWK Set in the `--jwks` file, if one is given; a file that is not
/// JSON is refused input.
fn read_jwks(path: Option<&Path>) -> Result<Option<serde_json::Value>, Failure> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let jwks = serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(format!("{} is not JSON: {e}", path.display())))?;
    Ok(Some(jwks))
}

/// `tessera clients disable|enable`: the admin API's
/// `PATCH /api/v1/admin/clients/{id}` with `disabled`, as the operator.
async fn set_disabled(services: &Services, client_id: Uuid, disabled: bool) -> Result<String, Failure> {
    let permit = Caller::operator().permit().map_err(Failure::from)?;
    let changes = ClientChanges {
        disabled: Some(disabled),
        ..ClientChanges::default()
    };
    services
        .admin
        .update_client(&permit, client_id, changes)
        .await
        .map_err(naming(client_id))?;
    let state = if disabled { "disabled" } else { "enabled" };
    Ok(format!("{state} client {client_id}\n"))
}

/// `tessera clients rotate-secret`: issues and prints a new secret.
async fn rotate_secret(clients: &ClientService, client_id: Uuid, json: bool) -> Result<String, Failure> {
    let secret = clients
        .rotate_secret(client_id)
        .await
        .map_err(naming(client_id))?;
    let expires_at = secret.expires_at().map(|at| at.to_rfc3339());
    Ok(if json {
        format!(
            "{}\n",
            json!({
                "client_id": client_id,
                "client_secret": secret.expose(),
                "client_secret_expires_at": expires_at,
            })
        )
    } else {
        let expiry = expires_at.map_or_else(String::new, |at| format!("expires_at:    {at}\n"));
        format!(
            "client_id:     {client_id}\nclient_secret: {}\n{expiry}\
             Store the secret now: it is not shown again. The previous secret \
             stays valid until the next rotation (or its own expiry).\n",
            secret.expose()
        )
    })
}

/// The human listing: one line per client, aligned columns.
fn table(clients: &[Client]) -> String {
    if clients.is_empty() {
        return "no clients\n".to_owned();
    }
    let rows: Vec<[String; 5]> = clients
        .iter()
        .map(|c| {
            [
                c.client_id.to_string(),
                c.client_type.as_str().to_owned(),
                c.token_endpoint_auth_method.as_str().to_owned(),
                c.grant_types
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                c.name.clone(),
            ]
        })
        .collect();
    let header = ["CLIENT_ID", "TYPE", "AUTH_METHOD", "GRANT_TYPES", "NAME"];
    crate::command::columns(header, &rows)
}
