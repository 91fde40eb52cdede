//! Administration of users: listing, creating, changing, suspending,
//! disabling, reactivating, signing out, passwords, deleting, roles.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tessera_store::{User, UserCursor, UserQuery, UserSort, UserStatus};
use uuid::Uuid;

use super::{AdminService, Caller, KEEP_SUPER_ADMIN};
use crate::error::{AuthError, AuthResult, FieldViolation};
use crate::identity::{Email, Username};
use crate::rbac::{Grants, DEFAULT_USER_ROLE, SUPER_ADMIN};
use crate::service::{check_profile_changes, ProfileChanges};

/// Default page size of a user listing.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page size.
pub const MAX_PAGE_SIZE: u32 = 200;

/// A listing request as the query string gives it (validated here).
#[derive(Debug, Clone, Default)]
pub struct UserListRequest {
    /// Email or username prefix.
    pub q: Option<String>,
    /// `active`, `suspended`, `disabled` or `deleted`.
    pub status: Option<String>,
    /// Only holders of this role.
    pub role: Option<String>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
    /// `created_at` (default), `-created_at`, `email`, `-email`.
    pub sort: Option<String>,
    /// Page size, 1..=200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of users.
#[derive(Debug, Clone)]
pub struct UserPage {
    /// The users of this page.
    pub items: Vec<User>,
    /// Pass as `cursor` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// A user as an administrator sees it: the account, its roles and its
/// effective permissions.
#[derive(Debug, Clone)]
pub struct AdminUser {
    /// The account.
    pub user: User,
    /// Directly assigned roles.
    pub roles: Vec<String>,
    /// Effective permissions.
    pub permissions: Vec<String>,
}

/// Input of [`AdminService::create_user`].
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Email.
    pub email: String,
    /// Initial password; `None` creates an account that cannot sign in
    /// with a password until one is set.
    pub password: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Whether the email is already known to be the user's.
    pub email_verified: bool,
    /// Roles; `None` = `["user"]`.
    pub roles: Option<Vec<String>>,
}

/// An administrator's changes to a user (PATCH semantics).
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// Username, display name, profile.
    pub profile: ProfileChanges,
    /// New email.
    pub email: Option<String>,
    /// New verification state.
    pub email_verified: Option<bool>,
}

/// The keyset cursor, serialised into an opaque string.
#[derive(Serialize, Deserialize)]
struct CursorToken {
    /// `c` (created_at) or `e` (email).
    k: char,
    /// Created-at of the last row (for `c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<DateTime<Utc>>,
    /// Email of the last row (for `e`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    /// Id of the last row.
    id: Uuid,
}

fn violation(field: &'static str, rule: &'static str, message: impl Into<String>) -> FieldViolation {
    FieldViolation {
        field,
        rule,
        message: message.into(),
    }
}

impl AdminService {
    /// Lists users with filters, order and cursor pagination (`user:read`).
    pub async fn list_users(&self, caller: &Caller, request: UserListRequest) -> AuthResult<UserPage> {
        caller.require("user:read")?;
        let mut violations = Vec::new();
        let (status, deleted) = match request.status.as_deref() {
            None => (None, false),
            Some("deleted") => (None, true),
            Some(other) => match UserStatus::parse(other) {
                Some(status) => (Some(status), false),
                None => {
                    violations.push(violation(
                        "status",
                        "unknown_value",
                        "one of active, suspended, disabled, deleted",
                    ));
                    (None, false)
                }
            },
        };
        let sort = match request.sort.as_deref() {
            None | Some("created_at") => UserSort::CreatedAsc,
            Some("-created_at") => UserSort::CreatedDesc,
            Some("email") => UserSort::EmailAsc,
            Some("-email") => UserSort::EmailDesc,
            Some(_) => {
                violations.push(violation(
                    "sort",
                    "unknown_value",
                    "one of created_at, -created_at, email, -email",
                ));
                UserSort::CreatedAsc
            }
        };
        let limit = request.limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            violations.push(violation(
                "limit",
                "out_of_range",
                format!("between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let after = match request.cursor.as_deref() {
            None => None,
            Some(raw) => match decode_cursor(raw, sort) {
                Some(cursor) => Some(cursor),
                None => {
                    violations.push(violation(
                        "cursor",
                        "invalid",
                        "not a cursor of this listing's sort order",
                    ));
                    None
                }
            },
        };
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let query = UserQuery {
            prefix: request
                .q
                .map(|q| q.trim().to_lowercase())
                .filter(|q| !q.is_empty()),
            status,
            deleted,
            role: request.role,
            created_after: request.created_after,
            created_before: request.created_before,
            sort,
            after,
            limit: limit + 1,
        };
        let mut items = self.store().list_users(self.tenant_id(), &query).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|last| encode_cursor(last, sort))
        } else {
            None
        };
        Ok(UserPage { items, next_cursor })
    }

    /// One user with roles and permissions (`user:read`).
    pub async fn get_user(&self, caller: &Caller, user_id: Uuid) -> AuthResult<AdminUser> {
        caller.require("user:read")?;
        self.admin_user(self.store().get_user(self.tenant_id(), user_id).await?)
            .await
    }

    async fn admin_user(&self, user: User) -> AuthResult<AdminUser> {
        let access = self.access().for_user(user.user_id).await?;
        Ok(AdminUser {
            user,
            roles: access.roles.clone(),
            permissions: access.grants.names().map(str::to_string).collect(),
        })
    }

    /// The user `user_id` and what it holds, if the caller may manage it
    /// (rank rule).
    async fn manageable_user(&self, caller: &Caller, user_id: Uuid) -> AuthResult<User> {
        let user = self.store().get_user(self.tenant_id(), user_id).await?;
        let access = self.access().for_user(user_id).await?;
        caller.may_manage(&access.grants, "this user")?;
        Ok(user)
    }

    /// Creates a user (`user:create`), with or without a password, holding
    /// `roles` (default `user`); the caller must be able to grant each role
    /// and to manage the resulting user.
    pub async fn create_user(&self, caller: &Caller, input: NewUser) -> AuthResult<AdminUser> {
        caller.require("user:create")?;
        self.insert_user(Some(caller), input).await
    }

    /// Creates a user for the operator (the `tessera users create` command,
    /// the bootstrap administrator): no caller, so no permission or rank
    /// check — whoever runs the binary against the database is trusted.
    pub async fn provision_user(&self, input: NewUser) -> AuthResult<AdminUser> {
        self.insert_user(None, input).await
    }

    /// On a tenant without an active `super_admin`, makes `email` one:
    /// creates the account with `password`, or gives an existing account of
    /// that email the role. Returns the user it touched, or `None` when the
    /// tenant already had a super admin (then nothing changes).
    pub async fn bootstrap_super_admin(&self, email: &str, password: &str) -> AuthResult<Option<AdminUser>> {
        let holders = UserQuery {
            status: Some(UserStatus::Active),
            role: Some(SUPER_ADMIN.to_string()),
            limit: 1,
            ..UserQuery::default()
        };
        if !self
            .store()
            .list_users(self.tenant_id(), &holders)
            .await?
            .is_empty()
        {
            return Ok(None);
        }
        let normalised = Email::parse(email).map_err(|v| AuthError::Validation(vec![v]))?;
        let existing = match self
            .store()
            .find_user_by_identifier(self.tenant_id(), normalised.as_str())
            .await
        {
            Ok(user) => Some(user),
            Err(tessera_store::StoreError::NotFound) => None,
            Err(other) => return Err(other.into()),
        };
        let admin = match existing {
            Some(user) => {
                self.store()
                    .assign_user_role(self.tenant_id(), user.user_id, SUPER_ADMIN)
                    .await?;
                self.access().forget_user(user.user_id).await;
                self.admin_user(user).await?
            }
            None => {
                self.insert_user(
                    None,
                    NewUser {
                        email: email.to_string(),
                        password: Some(password.to_string()),
                        roles: Some(vec![SUPER_ADMIN.to_string()]),
                        ..NewUser::default()
                    },
                )
                .await?
            }
        };
        Ok(Some(admin))
    }

    async fn insert_user(&self, caller: Option<&Caller>, input: NewUser) -> AuthResult<AdminUser> {
        let mut violations = Vec::new();
        let email = Email::parse(&input.email).map_err(|v| violations.push(v)).ok();
        let username = match input.username.as_deref() {
            Some(raw) => Username::parse(raw).map_err(|v| violations.push(v)).ok(),
            None => None,
        };
        let profile = check_profile_changes(
            ProfileChanges {
                display_name: Some(input.display_name.clone()),
                ..ProfileChanges::default()
            },
            &mut violations,
        );
        if let Some(password) = input.password.as_deref() {
            violations.extend(
                self.auth
                    .settings()
                    .password_policy
                    .violations(password, email.as_ref()),
            );
        }
        let roles = input.roles.unwrap_or_else(|| vec![DEFAULT_USER_ROLE.to_string()]);
        let graph = self.access().graph().await?;
        for role in &roles {
            if graph.get(role).is_none() {
                violations.push(violation(
                    "roles",
                    "unknown_role",
                    format!("no role named {role}"),
                ));
            }
        }
        let Some(email) = email else {
            return Err(AuthError::Validation(violations));
        };
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        if let Some(caller) = caller {
            for role in &roles {
                caller.may_grant(&graph.effective([role.as_str()]), &format!("role {role}"))?;
            }
            caller.may_manage(&graph.effective(roles.iter().map(String::as_str)), "the new user")?;
        }
        let password_hash = match input.password.as_deref() {
            Some(password) => Some(self.auth.hasher().hash(password).await?),
            None => None,
        };
        let now = self.auth.clock().now();
        let user = User {
            user_id: Uuid::now_v7(),
            tenant_id: self.tenant_id(),
            email: email.as_str().to_string(),
            email_verified: input.email_verified,
            username: username.map(Username::into_string),
            display_name: profile.display_name.flatten(),
            profile: serde_json::json!({}),
            status: UserStatus::Active,
            password_hash,
            failed_login_count: 0,
            locked_until: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        self.store().create_user(&user, &roles).await?;
        self.admin_user(user).await
    }

    /// Changes a user's email, username, display name or profile
    /// (`user:update`, rank rule).
    pub async fn update_user(
        &self,
        caller: &Caller,
        user_id: Uuid,
        changes: UserChanges,
    ) -> AuthResult<AdminUser> {
        caller.require("user:update")?;
        let mut violations = Vec::new();
        let mut update = check_profile_changes(changes.profile, &mut violations);
        if let Some(raw) = changes.email.as_deref() {
            match Email::parse(raw) {
                Ok(email) => update.email = Some(email.as_str().to_string()),
                Err(v) => violations.push(v),
            }
        }
        update.email_verified = changes.email_verified;
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        self.manageable_user(caller, user_id).await?;
        let user = self
            .store()
            .update_user_profile(self.tenant_id(), user_id, &update, self.auth.clock().now())
            .await?;
        self.auth.forget_user_sessions(user_id);
        self.admin_user(user).await
    }

    /// Suspends a user and ends all their sessions at once (`user:suspend`).
    pub async fn suspend_user(&self, caller: &Caller, user_id: Uuid) -> AuthResult<AdminUser> {
        caller.require("user:suspend")?;
        self.set_status(caller, user_id, UserStatus::Suspended, Some("suspended"))
            .await
    }

    /// Disables a user and ends all their sessions at once (`user:disable`).
    pub async fn disable_user(&self, caller: &Caller, user_id: Uuid) -> AuthResult<AdminUser> {
        caller.require("user:disable")?;
        self.set_status(caller, user_id, UserStatus::Disabled, Some("disabled"))
            .await
    }

    /// Makes a suspended, disabled or soft-deleted user active again: needs
    /// `user:suspend`, and also `user:disable` for a disabled user and
    /// `user:delete` for a deleted one.
    pub async fn reactivate_user(&self, caller: &Caller, user_id: Uuid) -> AuthResult<AdminUser> {
        caller.require("user:suspend")?;
        let user = self.store().get_user(self.tenant_id(), user_id).await?;
        if user.status == UserStatus::Disabled {
            caller.require("user:disable")?;
        }
        if user.deleted_at.is_some() {
            caller.require("user:delete")?;
        }
        self.set_status(caller, user_id, UserStatus::Active, None).await
    }

    async fn set_status(
        &self,
        caller: &Caller,
        user_id: Uuid,
        status: UserStatus,
        revoke_reason: Option<&str>,
    ) -> AuthResult<AdminUser> {
        self.manageable_user(caller, user_id).await?;
        let user = self
            .store()
            .set_user_status(
                self.tenant_id(),
                user_id,
                status,
                revoke_reason,
                Some(KEEP_SUPER_ADMIN),
                self.auth.clock().now(),
            )
            .await?;
        self.auth.forget_user_sessions(user_id);
        self.admin_user(user).await
    }

    /// Ends every session of a user (`session:revoke`, rank rule); returns
    /// how many were open.
    pub async fn logout_user(&self, caller: &Caller, user_id: Uuid) -> AuthResult<usize> {
        caller.require("session:revoke")?;
        self.manageable_user(caller, user_id).await?;
        let now = self.auth.clock().now();
        let ended = self
            .store()
            .revoke_user_sessions(self.tenant_id(), user_id, None, "admin_logout", now)
            .await?;
        self.auth.forget_user_sessions(user_id);
        Ok(ended.len())
    }

    /// Sets a user's password (`user:update`, rank rule), or with `None`
    /// generates one that satisfies the policy and returns it (shown once).
    /// Every session of the user ends.
    pub async fn set_password(
        &self,
        caller: &Caller,
        user_id: Uuid,
        password: Option<String>,
    ) -> AuthResult<Option<String>> {
        caller.require("user:update")?;
        let user = self.manageable_user(caller, user_id).await?;
        let email = Email::parse(&user.email).ok();
        let policy = &self.auth.settings().password_policy;
        let (password, generated) = match password {
            Some(password) => {
                let violations = policy.violations(&password, email.as_ref());
                if !violations.is_empty() {
                    return Err(AuthError::Validation(violations));
                }
                (password, false)
            }
            None => (generate_password(policy.min_length.max(20)), true),
        };
        let hash = self.auth.hasher().hash(&password).await?;
        self.store()
            .set_password_hash(
                self.tenant_id(),
                user_id,
                &hash,
                None,
                "password_set_by_admin",
                self.auth.clock().now(),
            )
            .await?;
        self.auth.forget_user_sessions(user_id);
        Ok(generated.then_some(password))
    }

    /// Soft-deletes a user (they can no longer sign in; reactivation undoes
    /// it) or, with `erase`, removes the account and everything that is
    /// theirs for good (`user:delete`, rank rule).
    pub async fn delete_user(&self, caller: &Caller, user_id: Uuid, erase: bool) -> AuthResult<()> {
        caller.require("user:delete")?;
        self.manageable_user(caller, user_id).await?;
        let tenant_id = self.tenant_id();
        if erase {
            self.store()
                .erase_user(tenant_id, user_id, Some(KEEP_SUPER_ADMIN))
                .await?;
        } else {
            self.store()
                .soft_delete_user(
                    tenant_id,
                    user_id,
                    Some(KEEP_SUPER_ADMIN),
                    self.auth.clock().now(),
                )
                .await?;
        }
        self.auth.forget_user_sessions(user_id);
        self.access().forget_user(user_id).await;
        Ok(())
    }

    /// Assigns a role to a user (`role:assign`; the caller must hold every
    /// permission the role grants and outrank the user).
    pub async fn assign_user_role(
        &self,
        caller: &Caller,
        user_id: Uuid,
        role: &str,
    ) -> AuthResult<AdminUser> {
        caller.require("role:assign")?;
        let grants = self.role_grants(role).await?;
        caller.may_grant(&grants, &format!("role {role}"))?;
        let user = self.manageable_user(caller, user_id).await?;
        self.store()
            .assign_user_role(self.tenant_id(), user_id, role)
            .await?;
        self.access().forget_user(user_id).await;
        self.admin_user(user).await
    }

    /// Removes a role from a user (`role:assign`, as for assigning); the
    /// last active `super_admin` keeps theirs.
    pub async fn remove_user_role(
        &self,
        caller: &Caller,
        user_id: Uuid,
        role: &str,
    ) -> AuthResult<AdminUser> {
        caller.require("role:assign")?;
        let grants = self.role_grants(role).await?;
        caller.may_grant(&grants, &format!("role {role}"))?;
        let user = self.manageable_user(caller, user_id).await?;
        let keep = (role == SUPER_ADMIN).then_some(KEEP_SUPER_ADMIN);
        self.store()
            .remove_user_role(self.tenant_id(), user_id, role, keep)
            .await?;
        self.access().forget_user(user_id).await;
        self.admin_user(user).await
    }

    /// The effective grants of role `name`; `NotFound` if there is none.
    pub(super) async fn role_grants(&self, name: &str) -> AuthResult<Grants> {
        let graph = self.access().graph().await?;
        if graph.get(name).is_none() {
            return Err(AuthError::NotFound);
        }
        Ok(graph.effective([name]))
    }
}

fn encode_cursor(user: &User, sort: UserSort) -> String {
    let token = match sort {
        UserSort::CreatedAsc | UserSort::CreatedDesc => CursorToken {
            k: 'c',
            t: Some(user.created_at),
            e: None,
            id: user.user_id,
        },
        UserSort::EmailAsc | UserSort::EmailDesc => CursorToken {
            k: 'e',
            t: None,
            e: Some(user.email.clone()),
            id: user.user_id,
        },
    };
    B64.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_cursor(raw: &str, sort: UserSort) -> Option<UserCursor> {
    let bytes = B64.decode(raw).ok()?;
    let token: CursorToken = serde_json::from_slice(&bytes).ok()?;
    match (sort, token.k) {
        (UserSort::CreatedAsc | UserSort::CreatedDesc, 'c') => Some(UserCursor::Created(token.t?, token.id)),
        (UserSort::EmailAsc | UserSort::EmailDesc, 'e') => Some(UserCursor::Email(token.e?, token.id)),
        _ => None,
    }
}

/// A random password of `length` characters with a lowercase and an
/// uppercase letter, a digit and a symbol (so every policy option holds).
fn generate_password(length: usize) -> String {
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"-_.!@#%+=";
    let mut rng = rand::rngs::OsRng;
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
    let mut chars: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS]
        .iter()
        .map(|set| set[rng.gen_range(0..set.len())])
        .collect();
    while chars.len() < length {
        chars.push(all[rng.gen_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    chars.into_iter().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_have_every_class_and_differ() {
        let a = generate_password(20);
        let b = generate_password(20);
        assert_eq!(a.chars().count(), 20);
        assert_ne!(a, b);
        assert!(a.chars().any(|c| c.is_ascii_lowercase()));
        assert!(a.chars().any(|c| c.is_ascii_uppercase()));
        assert!(a.chars().any(|c| c.is_ascii_digit()));
        assert!(a.chars().any(|c| !c.is_ascii_alphanumeric()));
    }
}
