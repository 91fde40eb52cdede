//! Accounts: registration and the owner's own profile and password.

use tessera_store::{Conflict, OneTimePurpose, User, UserProfileUpdate, UserStatus};
use uuid::Uuid;

use super::*;
use crate::error::{AuthError, AuthResult, FieldViolation};
use crate::identity::{Email, Username};
use crate::mail::templates::MailKind;

impl AuthService {
    /// Creates an active account and queues its verification mail. Every
    /// validation failure is reported at once; a taken email or username is
    /// a `Conflict` naming the field — except a taken email when the tenant
    /// conceals existing accounts: then the address's owner is mailed a
    /// notice and the answer is `Concealed`, like a new account's.
    pub async fn register(&self, input: Registration) -> AuthResult<Registered> {
        let mut violations = Vec::new();
        let email = Email::parse(&input.email).map_err(|v| violations.push(v)).ok();
        let username = match input.username.as_deref() {
            Some(raw) => Username::parse(raw).map_err(|v| violations.push(v)).ok(),
            None => None,
        };
        violations.extend(
            self.ctx
                .settings()
                .password_policy
                .violations(&input.password, email.as_ref()),
        );
        let Some(email) = email else {
            return Err(AuthError::Validation(violations));
        };
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let password_hash = self.ctx.hasher().hash(&input.password).await?;
        let now = self.ctx.now();
        let user = User {
            user_id: Uuid::now_v7(),
            tenant_id: self.ctx.tenant_id(),
            email: email.as_str().to_string(),
            email_verified: false,
            username: username.map(Username::into_string),
            display_name: None,
            profile: serde_json::json!({}),
            status: UserStatus::Active,
            password_hash: Some(password_hash),
            failed_login_count: 0,
            locked_until: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        // The verification mail is queued with the account: a crash cannot
        // leave an account whose mail was lost.
        let issued = self.new_token(&user, OneTimePurpose::VerifyEmail, &user.email);
        let mail = self.token_mail(MailKind::VerifyEmail, &issued)?;
        let created = self
            .ctx
            .accounts()
            .create_user_with_mail(
                &user,
                &[crate::rbac::DEFAULT_USER_ROLE.to_string()],
                &issued.token,
                &[mail],
            )
            .await;
        match created {
            Ok(()) => {
                self.ctx.outbox().wake();
                Ok(Registered::Created(Box::new(user)))
            }
            Err(AuthError::Conflict(Conflict::Email)) if self.conceals_existing_accounts() => {
                // A taken username must answer as it would for a free
                // address, or it would tell the two apart.
                if let Some(username) = &user.username {
                    if self
                        .ctx
                        .accounts()
                        .find_user(username)
                        .await?
                        .is_some_and(|u| u.username.as_ref() == Some(username))
                    {
                        return Err(AuthError::Conflict(Conflict::Username));
                    }
                }
                // The owner of the address learns of the attempt, with a way
                // back in (a reset link and code, under the same cooldown as
                // "forgot password"); the caller learns nothing.
                self.mail_token_later(
                    OneTimePurpose::ResetPassword,
                    MailKind::RegistrationAttempt,
                    email,
                );
                Ok(Registered::Concealed)
            }
            Err(other) => Err(other),
        }
    }

    /// Whether registration answers alike for taken and free addresses
    /// (`accounts.conceal_existing_accounts`).
    pub fn conceals_existing_accounts(&self) -> bool {
        self.ctx.settings().accounts.conceal_existing_accounts
    }

    /// Changes the caller's username, display name or profile.
    pub async fn update_profile(&self, caller: &Authenticated, changes: ProfileChanges) -> AuthResult<User> {
        let mut violations: Vec<FieldViolation> = Vec::new();
        let update = check_profile_changes(changes, &mut violations);
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        self.ctx
            .accounts()
            .update_profile(caller.user().user_id, &update)
            .await
    }

    /// Changes the caller's password after checking the current one, and
    /// ends every other session of the caller.
    pub async fn change_password(
        &self,
        caller: &Authenticated,
        current_password: &str,
        new_password: &str,
    ) -> AuthResult<()> {
        let user_id = caller.user().user_id;
        let user = self.ctx.accounts().user(user_id).await?;
        if !self
            .ctx
            .hasher()
            .verify(user.password_hash.as_deref(), current_password)
            .await?
        {
            return Err(AuthError::WrongPassword);
        }
        let email = Email::parse(&user.email).ok();
        let violations = self
            .ctx
            .settings()
            .password_policy
            .violations(new_password, email.as_ref());
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let new_hash = self.ctx.hasher().hash(new_password).await?;
        self.ctx
            .accounts()
            .set_password(user_id, &new_hash, Some(caller.session_id()), "password_changed")
            .await
    }
}

/// Checks an owner's (or an administrator's) profile changes, adding every
/// broken rule to `violations`, and returns them as a store update (email
/// unchanged).
pub(crate) fn check_profile_changes(
    changes: ProfileChanges,
    violations: &mut Vec<FieldViolation>,
) -> UserProfileUpdate {
    let username = match changes.username {
        Some(Some(raw)) => Username::parse(&raw)
            .map(|u| Some(Some(u.into_string())))
            .unwrap_or_else(|v| {
                violations.push(v);
                None
            }),
        Some(None) => Some(None),
        None => None,
    };
    let display_name = changes
        .display_name
        .map(|name| name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()));
    if let Some(Some(name)) = &display_name {
        if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            violations.push(FieldViolation {
                field: "display_name",
                rule: "too_long",
                message: format!("display name must be at most {MAX_DISPLAY_NAME_CHARS} characters"),
            });
        }
        if name.chars().any(char::is_control) {
            violations.push(FieldViolation {
                field: "display_name",
                rule: "control_character",
                message: "display name must not contain control characters".into(),
            });
        }
    }
    if let Some(profile) = &changes.profile {
        if !profile.is_object() {
            violations.push(FieldViolation {
                field: "profile",
                rule: "not_an_object",
                message: "profile must be a JSON object".into(),
            });
        } else if serde_json::to_vec(profile).map(|b| b.len()).unwrap_or(usize::MAX) > MAX_PROFILE_BYTES {
            violations.push(FieldViolation {
                field: "profile",
                rule: "too_large",
                message: format!("profile must be at most {MAX_PROFILE_BYTES} bytes"),
            });
        } else if json_contains_nul(profile) {
            // PostgreSQL's jsonb cannot store U+0000; refuse it on every backend alike.
            violations.push(FieldViolation {
                field: "profile",
                rule: "nul_character",
                message: "profile keys and strings must not contain U+0000".into(),
            });
        }
    }
    UserProfileUpdate {
        username,
        display_name,
        profile: changes.profile,
        email: None,
        email_verified: None,
    }
}
