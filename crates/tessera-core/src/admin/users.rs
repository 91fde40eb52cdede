//! Administration of users: creating, changing, suspending, disabling,
//! reactivating, signing out, passwords, deleting, roles. Listing is in
//! `user_listing`.

use rand::seq::SliceRandom;
use rand::Rng;
use tessera_store::{User, UserQuery, UserStatus};
use uuid::Uuid;

use super::{AdminService, KEEP_SUPER_ADMIN};
use crate::capability::{
    Caller, Founder, Permit, RoleAssign, SessionRevoke, UserCreate, UserDelete, UserDisable, UserRead,
    UserSuspend, UserUpdate,
};
use crate::error::{AuthError, AuthResult, FieldViolation};
use crate::identity::{Email, Username};
use crate::rbac::{Grants, DEFAULT_USER_ROLE, SUPER_ADMIN};
use crate::service::{check_profile_changes, ProfileChanges};

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

pub(super) fn violation(
    field: &'static str,
    rule: &'static str,
    message: impl Into<String>,
) -> FieldViolation {
    FieldViolation {
        field,
        rule,
        message: message.into(),
    }
}

/// What [`AdminService::bootstrap_super_admin`] did.
#[derive(Debug)]
pub enum Bootstrapped {
    /// A new account was created as super admin.
    Created(AdminUser),
    /// The existing account of that email, whose password is the
    /// bootstrap password, was made super admin.
    Promoted(AdminUser),
    /// The tenant already had an active super admin: nothing changed.
    SuperAdminExists,
    /// An account of that email exists and the bootstrap password does not
    /// verify against it: nothing changed.
    NotPromoted {
        /// The existing account.
        user_id: Uuid,
    },
}

impl AdminService {
    /// One user with roles and permissions.
    pub async fn get_user(&self, _permit: &Permit<UserRead>, user_id: Uuid) -> AuthResult<AdminUser> {
        self.admin_user(self.ctx.accounts().user(user_id).await?).await
    }

    pub(super) async fn admin_user(&self, user: User) -> AuthResult<AdminUser> {
        let access = self.access().for_user(user.user_id).await?;
        Ok(AdminUser {
            user,
            roles: access.roles.clone(),
            permissions: access.grants.names().map(str::to_string).collect(),
        })
    }

    /// The user `user_id`, if `caller` may manage it (rank rule).
    async fn manageable_user(&self, caller: &Caller, user_id: Uuid) -> AuthResult<User> {
        let user = self.ctx.accounts().user(user_id).await?;
        let access = self.access().for_user(user_id).await?;
        caller.may_manage(&access.grants, "this user")?;
        Ok(user)
    }

    /// Creates a user, with or without a password, holding `roles`
    /// (default `user`); the caller must be able to grant each role and to
    /// manage the resulting user. The operator's permit (the CLI, the
    /// bootstrap administrator) passes every rank check.
    pub async fn create_user(&self, permit: &Permit<UserCreate>, input: NewUser) -> AuthResult<AdminUser> {
        let caller = permit.caller();
        let (pending, roles) = self.new_user(input).await?;
        let graph = self.access().graph().await?;
        for role in &roles {
            caller.may_grant(&graph.effective([role.as_str()]), &format!("role {role}"))?;
        }
        caller.may_manage(&graph.effective(roles.iter().map(String::as_str)), "the new user")?;
        let user = self.hash_initial_password(pending).await?;
        self.ctx.accounts().create_user(&user, &roles).await?;
        self.admin_user(user).await
    }

    /// On a tenant without an active `super_admin`, makes `email` one:
    /// creates the account with `password`, or promotes an existing account
    /// of that email, but only when `password` verifies against it: someone
    /// may have registered the email before the operator configured it, and
    /// promoting that account would hand the tenant to them. Nothing changes
    /// when the tenant already has a super admin or the password does not
    /// verify (see [`Bootstrapped`]). Needs the founding right over this
    /// tenant (the operator's, or its creator's).
    pub async fn bootstrap_super_admin(
        &self,
        founder: &Founder,
        email: &str,
        password: &str,
    ) -> AuthResult<Bootstrapped> {
        if !founder.covers(self.tenant_id()) {
            return Err(AuthError::Forbidden("tenant:create"));
        }
        let holders = UserQuery {
            status: Some(UserStatus::Active),
            role: Some(SUPER_ADMIN.to_string()),
            limit: 1,
            ..UserQuery::default()
        };
        let accounts = self.ctx.accounts();
        if !accounts.list_users(&holders).await?.is_empty() {
            return Ok(Bootstrapped::SuperAdminExists);
        }
        let normalised = Email::parse(email).map_err(|v| AuthError::Validation(vec![v]))?;
        match accounts.find_user(normalised.as_str()).await? {
            Some(user) => {
                let verified = self
                    .ctx
                    .hasher()
                    .verify(user.password_hash.as_deref(), password)
                    .await?;
                if !verified {
                    return Ok(Bootstrapped::NotPromoted {
                        user_id: user.user_id,
                    });
                }
                self.access().assign_user_role(user.user_id, SUPER_ADMIN).await?;
                Ok(Bootstrapped::Promoted(self.admin_user(user).await?))
            }
            None => {
                let input = NewUser {
                    email: email.to_string(),
                    password: Some(password.to_string()),
                    roles: Some(vec![SUPER_ADMIN.to_string()]),
                    ..NewUser::default()
                };
                // The founding right stands in for the rank rule here.
                let created = self.create_user(&Caller::operator().permit()?, input).await?;
                Ok(Bootstrapped::Created(created))
            }
        }
    }

    /// A validated new user (its password not yet hashed) and its roles;
    /// every broken rule is reported at once.
    async fn new_user(&self, input: NewUser) -> AuthResult<(PendingUser, Vec<String>)> {
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
            let policy = &self.ctx.settings().password_policy;
            violations.extend(policy.violations(password, email.as_ref()));
        }
        let roles = input.roles.unwrap_or_else(|| vec![DEFAULT_USER_ROLE.to_string()]);
        let graph = self.access().graph().await?;
        for role in roles.iter().filter(|role| graph.get(role).is_none()) {
            violations.push(violation(
                "roles",
                "unknown_role",
                format!("no role named {role}"),
            ));
        }
        let Some(email) = email.filter(|_| violations.is_empty()) else {
            return Err(AuthError::Validation(violations));
        };
        let now = self.ctx.now();
        let user = User {
            user_id: Uuid::now_v7(),
            tenant_id: self.tenant_id(),
            email: email.as_str().to_string(),
            email_verified: input.email_verified,
            username: username.map(Username::into_string),
            display_name: profile.display_name.flatten(),
            profile: serde_json::json!({}),
            status: UserStatus::Active,
            password_hash: None,
            failed_login_count: 0,
            locked_until: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        Ok((PendingUser(user, input.password), roles))
    }

    /// The pending user with its password hashed.
    async fn hash_initial_password(&self, pending: PendingUser) -> AuthResult<User> {
        let PendingUser(mut user, password) = pending;
        if let Some(password) = password {
            user.password_hash = Some(self.ctx.hasher().hash(&password).await?);
        }
        Ok(user)
    }

    /// Changes a user's email, username, display name or profile (rank
    /// rule).
    pub async fn update_user(
        &self,
        permit: &Permit<UserUpdate>,
        user_id: Uuid,
        changes: UserChanges,
    ) -> AuthResult<AdminUser> {
        let mut violations = Vec::new();
        let mut update = check_profile_changes(changes.profile, &mut violations);
        if let Some(raw) = changes.email.as_deref() {
            match Email::parse(raw) {
                Ok(email) => update.email = Some(email.as_str().to_string()),
                Err(v) => violations.push(v),
            }
        }
        // A new address is unverified unless the administrator says
        // otherwise (they may have checked it themselves).
        update.email_verified = changes.email_verified.or(update.email.as_ref().map(|_| false));
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        self.manageable_user(permit.caller(), user_id).await?;
        let user = self.ctx.accounts().update_profile(user_id, &update).await?;
        self.admin_user(user).await
    }

    /// Suspends a user and ends all their sessions at once.
    pub async fn suspend_user(&self, permit: &Permit<UserSuspend>, user_id: Uuid) -> AuthResult<AdminUser> {
        self.set_status(permit.caller(), user_id, UserStatus::Suspended, Some("suspended"))
            .await
    }

    /// Disables a user and ends all their sessions at once.
    pub async fn disable_user(&self, permit: &Permit<UserDisable>, user_id: Uuid) -> AuthResult<AdminUser> {
        self.set_status(permit.caller(), user_id, UserStatus::Disabled, Some("disabled"))
            .await
    }

    /// Makes a suspended, disabled or soft-deleted user active again: needs
    /// `user:suspend`, and also `user:disable` for a disabled user and
    /// `user:delete` for a deleted one.
    pub async fn reactivate_user(
        &self,
        permit: &Permit<UserSuspend>,
        user_id: Uuid,
    ) -> AuthResult<AdminUser> {
        let caller = permit.caller();
        let user = self.ctx.accounts().user(user_id).await?;
        if user.status == UserStatus::Disabled {
            caller.permit::<UserDisable>()?;
        }
        if user.deleted_at.is_some() {
            caller.permit::<UserDelete>()?;
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
            .ctx
            .accounts()
            .set_status(user_id, status, revoke_reason, Some(KEEP_SUPER_ADMIN))
            .await?;
        self.admin_user(user).await
    }

    /// Ends every session of a user (rank rule); returns how many were open.
    pub async fn logout_user(&self, permit: &Permit<SessionRevoke>, user_id: Uuid) -> AuthResult<usize> {
        self.manageable_user(permit.caller(), user_id).await?;
        self.ctx
            .accounts()
            .revoke_user_sessions(user_id, None, "admin_logout")
            .await
    }

    /// Sets a user's password (rank rule), or with `None` generates one that
    /// satisfies the policy and returns it (shown once). Every session of
    /// the user ends.
    pub async fn set_password(
        &self,
        permit: &Permit<UserUpdate>,
        user_id: Uuid,
        password: Option<String>,
    ) -> AuthResult<Option<String>> {
        let user = self.manageable_user(permit.caller(), user_id).await?;
        let email = Email::parse(&user.email).ok();
        let policy = &self.ctx.settings().password_policy;
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
        let hash = self.ctx.hasher().hash(&password).await?;
        self.ctx
            .accounts()
            .set_password(user_id, &hash, None, "password_set_by_admin")
            .await?;
        Ok(generated.then_some(password))
    }

    /// Soft-deletes a user (they can no longer sign in; reactivation undoes
    /// it) or, with `erase`, removes the account and everything that is
    /// theirs for good (rank rule).
    pub async fn delete_user(
        &self,
        permit: &Permit<UserDelete>,
        user_id: Uuid,
        erase: bool,
    ) -> AuthResult<()> {
        self.manageable_user(permit.caller(), user_id).await?;
        self.ctx
            .accounts()
            .delete_user(user_id, erase, Some(KEEP_SUPER_ADMIN))
            .await
    }

    /// Assigns a role to a user (the caller must hold every permission the
    /// role grants and outrank the user).
    pub async fn assign_user_role(
        &self,
        permit: &Permit<RoleAssign>,
        user_id: Uuid,
        role: &str,
    ) -> AuthResult<AdminUser> {
        let caller = permit.caller();
        caller.may_grant(&self.role_grants(role).await?, &format!("role {role}"))?;
        let user = self.manageable_user(caller, user_id).await?;
        self.access().assign_user_role(user_id, role).await?;
        self.admin_user(user).await
    }

    /// Removes a role from a user (as for assigning); the last active
    /// `super_admin` keeps theirs.
    pub async fn remove_user_role(
        &self,
        permit: &Permit<RoleAssign>,
        user_id: Uuid,
        role: &str,
    ) -> AuthResult<AdminUser> {
        let caller = permit.caller();
        caller.may_grant(&self.role_grants(role).await?, &format!("role {role}"))?;
        let user = self.manageable_user(caller, user_id).await?;
        let keep = (role == SUPER_ADMIN).then_some(KEEP_SUPER_ADMIN);
        self.access().remove_user_role(user_id, role, keep).await?;
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

/// A validated new user and the password it is to get (hashed only after
/// the rank checks, so a refused request costs no hash).
struct PendingUser(User, Option<String>);

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
