//! `tessera users …`: accounts from the command line — above all the first
//! `super_admin` when no bootstrap variables were set, and the operator's
//! way in when no administrator can sign in.
//!
//! Every command calls the [`AdminService`] method the admin API calls,
//! with the operator's capability (the person at the shell, trusted with
//! the database, passes every permission and rank check): suspending ends
//! the user's sessions, a new password ends them too, role changes show in
//! the next token — exactly as through `/api/v1/admin/users`.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use tessera_core::admin::{AdminService, AdminUser, NewUser, UserListRequest, MAX_PAGE_SIZE};
use tessera_core::identity::Email;
use tessera_core::{AuthError, AuthResult, Caller, Permission, Permit};
use tessera_server::routes::admin::users::{AdminUserListItem, AdminUserView};
use tessera_store::User;
use uuid::Uuid;

use crate::command::Target;
use crate::Config;

/// The `tessera users` subcommands. A USER is given by id or by email.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an account with roles (default `user`).
    Create {
        /// Email address.
        #[arg(long)]
        email: String,
        /// Role to give (repeatable), e.g. `--role super_admin`.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Read the password from standard input (one line; trailing
        /// newline dropped). Without it the account has no password.
        #[arg(long)]
        password_stdin: bool,
        /// Username.
        #[arg(long)]
        username: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the accounts (every page), oldest first.
    List {
        /// Only accounts whose email or username starts with this.
        #[arg(long, value_name = "PREFIX")]
        search: Option<String>,
        /// Only `active`, `suspended`, `disabled` or `deleted` accounts.
        #[arg(long)]
        status: Option<String>,
        /// Only holders of this role.
        #[arg(long)]
        role: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one account with its roles and effective permissions.
    Show {
        /// The user's id or email.
        user: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password, read from standard input (one line); every
    /// session of the user ends.
    SetPassword {
        /// The user's id or email.
        user: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Give a user a role; it shows in their next access token.
    GrantRole {
        /// The user's id or email.
        user: String,
        /// The role's name.
        role: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Take a role from a user (the last active super_admin keeps theirs).
    RevokeRole {
        /// The user's id or email.
        user: String,
        /// The role's name.
        role: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Suspend a user: they cannot sign in, and every session ends now.
    Suspend {
        /// The user's id or email.
        user: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make a suspended (or disabled, or deleted) user active again.
    #[command(visible_alias = "unsuspend")]
    Reactivate {
        /// The user's id or email.
        user: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `tessera users` command on `target`'s tenant: output on stdout,
/// a clear message on stderr and a non-zero status on failure (2 when there
/// is no database).
pub async fn run(config: &Config, target: &Target, command: UsersCommand) -> ExitCode {
    match execute(config, target, command).await {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            let message = match err.downcast_ref::<AuthError>() {
                Some(auth) => describe(auth),
                None => format!("{err:#}"),
            };
            crate::command::fail(&err, &message)
        }
    }
}

/// A permit of the operator: the person at the shell is trusted with
/// everything (they hold the database and the master key).
fn permit<P: Permission>() -> AuthResult<Permit<P>> {
    Caller::operator().permit()
}

async fn execute(config: &Config, target: &Target, command: UsersCommand) -> anyhow::Result<String> {
    // The password is read before the database is opened: a refused
    // command costs no connection.
    let password = match &command {
        UsersCommand::Create { password_stdin, .. } if *password_stdin => Some(read_password()?),
        UsersCommand::SetPassword { .. } => Some(read_password()?),
        _ => None,
    };
    let services = target.services(config).await?;
    let admin = services.admin.as_ref();
    match command {
        UsersCommand::Create {
            email,
            roles,
            username,
            json,
            ..
        } => create(admin, email, roles, username, password, json).await,
        UsersCommand::List {
            search,
            status,
            role,
            json,
        } => render_list(&list_all(admin, search, status, role).await?, json),
        UsersCommand::Show { user, json } => {
            let id = resolve(admin, &user).await?;
            render_user(admin.get_user(&permit()?, id).await?, json, None)
        }
        UsersCommand::SetPassword { user, json } => {
            let id = resolve(admin, &user).await?;
            admin.set_password(&permit()?, id, password).await?;
            let user = admin.get_user(&permit()?, id).await?;
            render_user(user, json, Some("password set; every session of the user ended"))
        }
        UsersCommand::GrantRole { user, role, json } => {
            let id = resolve(admin, &user).await?;
            let result = admin.assign_user_role(&permit()?, id, &role).await;
            render_user(
                result.map_err(naming_role(&role))?,
                json,
                Some(&format!("role {role} granted")),
            )
        }
        UsersCommand::RevokeRole { user, role, json } => {
            let id = resolve(admin, &user).await?;
            let result = admin.remove_user_role(&permit()?, id, &role).await;
            render_user(
                result.map_err(naming_role(&role))?,
                json,
                Some(&format!("role {role} revoked")),
            )
        }
        UsersCommand::Suspend { user, json } => {
            let id = resolve(admin, &user).await?;
            let user = admin.suspend_user(&permit()?, id).await?;
            render_user(user, json, Some("suspended; every session of the user ended"))
        }
        UsersCommand::Reactivate { user, json } => {
            let id = resolve(admin, &user).await?;
            let user = admin.reactivate_user(&permit()?, id).await?;
            render_user(user, json, Some("active again"))
        }
    }
}

/// `tessera users create`.
async fn create(
    admin: &AdminService,
    email: String,
    roles: Vec<String>,
    username: Option<String>,
    password: Option<String>,
    json: bool,
) -> anyhow::Result<String> {
    let input = NewUser {
        email,
        password,
        username,
        roles: (!roles.is_empty()).then_some(roles),
        ..NewUser::default()
    };
    let created = admin.create_user(&permit()?, input).await?;
    Ok(if json {
        format!(
            "{}\n",
            json!({ "id": created.user.user_id, "email": created.user.email, "roles": created.roles })
        )
    } else {
        format!(
            "created user {} <{}> with roles {}\n",
            created.user.user_id,
            created.user.email,
            created.roles.join(", ")
        )
    })
}

/// One line of standard input: the password (never an argument, which
/// other users of the machine could read in the process list).
fn read_password() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the password from standard input")?;
    let line = text.lines().next().unwrap_or_default().to_string();
    if line.is_empty() {
        anyhow::bail!(
            "standard input held no password: pipe it in, e.g. printf '%s' \"$PASSWORD\" | tessera users …"
        );
    }
    Ok(line)
}

/// A role the service found no trace of is named (the service says only
/// "not found").
fn naming_role(role: &str) -> impl FnOnce(AuthError) -> anyhow::Error + '_ {
    move |err| match err {
        AuthError::NotFound => anyhow::anyhow!("no role named {role}"),
        other => other.into(),
    }
}

/// The id of the user `given` as an id or an email (a soft-deleted account
/// is found too).
async fn resolve(admin: &AdminService, given: &str) -> anyhow::Result<Uuid> {
    if let Ok(id) = Uuid::parse_str(given) {
        return match admin.get_user(&permit()?, id).await {
            Ok(_) => Ok(id),
            Err(AuthError::NotFound) => anyhow::bail!("no user with id {id}"),
            Err(other) => Err(other.into()),
        };
    }
    let email =
        Email::parse(given).map_err(|_| anyhow::anyhow!("{given:?} is neither a user id nor an email"))?;
    for status in [None, Some("deleted".to_owned())] {
        let request = UserListRequest {
            q: Some(email.as_str().to_owned()),
            status,
            limit: Some(MAX_PAGE_SIZE),
            ..UserListRequest::default()
        };
        let page = admin.list_users(&permit()?, request).await?;
        if let Some(user) = page.items.iter().find(|u| u.email == email.as_str()) {
            return Ok(user.user_id);
        }
    }
    anyhow::bail!("no user with email {}", email.as_str())
}

/// Every user matching the filters, page after page.
async fn list_all(
    admin: &AdminService,
    search: Option<String>,
    status: Option<String>,
    role: Option<String>,
) -> anyhow::Result<Vec<User>> {
    let mut users = Vec::new();
    let mut cursor = None;
    loop {
        let request = UserListRequest {
            q: search.clone(),
            status: status.clone(),
            role: role.clone(),
            limit: Some(MAX_PAGE_SIZE),
            cursor,
            ..UserListRequest::default()
        };
        let page = admin.list_users(&permit()?, request).await?;
        users.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(users),
        }
    }
}

/// The listing: JSON as the admin API's items, or aligned columns.
fn render_list(users: &[User], json: bool) -> anyhow::Result<String> {
    if json {
        let items: Vec<AdminUserListItem> = users.iter().map(AdminUserListItem::from).collect();
        let text = serde_json::to_string_pretty(&items).context("cannot encode JSON")?;
        return Ok(format!("{text}\n"));
    }
    if users.is_empty() {
        return Ok("no users\n".to_owned());
    }
    let rows: Vec<[String; 5]> = users
        .iter()
        .map(|u| {
            let status = if u.deleted_at.is_some() {
                "deleted".to_owned()
            } else {
                u.status.as_str().to_owned()
            };
            [
                u.user_id.to_string(),
                u.email.clone(),
                u.username.clone().unwrap_or_else(|| "-".to_owned()),
                status,
                u.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ]
        })
        .collect();
    Ok(crate::command::columns(
        ["ID", "EMAIL", "USERNAME", "STATUS", "CREATED"],
        &rows,
    ))
}

/// One user: JSON as the admin API shows it, or labelled lines after an
/// optional line saying what was done.
fn render_user(user: AdminUser, json: bool, done: Option<&str>) -> anyhow::Result<String> {
    if json {
        let view = AdminUserView::from(user);
        let text = serde_json::to_string_pretty(&view).context("cannot encode JSON")?;
        return Ok(format!("{text}\n"));
    }
    let u = &user.user;
    let status = if u.deleted_at.is_some() {
        "deleted"
    } else {
        u.status.as_str()
    };
    let mut out = String::new();
    if let Some(done) = done {
        out.push_str(&format!("{} <{}>: {done}\n", u.user_id, u.email));
    }
    out.push_str(&format!("id:             {}\n", u.user_id));
    out.push_str(&format!("email:          {}\n", u.email));
    out.push_str(&format!("email_verified: {}\n", u.email_verified));
    out.push_str(&format!(
        "username:       {}\n",
        u.username.as_deref().unwrap_or("-")
    ));
    out.push_str(&format!("status:         {status}\n"));
    out.push_str(&format!("roles:          {}\n", user.roles.join(", ")));
    out.push_str(&format!("permissions:    {}\n", user.permissions.join(", ")));
    out.push_str(&format!("created_at:     {}\n", u.created_at.to_rfc3339()));
    Ok(out)
}

/// A service error as one line for an operator.
pub fn describe(err: &AuthError) -> String {
    match err {
        AuthError::Validation(violations) => violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.message))
            .collect::<Vec<_>>()
            .join("; "),
        AuthError::Conflict(field) => format!("{field} is already in use"),
        other => other.to_string(),
    }
}
