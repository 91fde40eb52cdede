//! Changing one's email address: the new address must be proven before it
//! replaces the old one, and the old one is told.

use chrono::Duration;
use tessera_store::{Conflict, OneTimePurpose};

use super::*;
use crate::error::{AuthError, AuthResult};
use crate::identity::Email;
use crate::mail::templates::{MailKind, MailVars};

/// How recent a sign-in must be for a sensitive change without the current
/// password (NIST SP 800-63B-4 re-authentication; the issue's 5 minutes).
pub const REAUTHENTICATION_WINDOW_SECS: i64 = 300;

impl AuthService {
    /// Checks that the caller signed in within the last 5 minutes or gave
    /// the right current password; otherwise `ReauthenticationRequired`
    /// (or `WrongPassword` for a wrong one).
    pub(crate) async fn reauthenticated(
        &self,
        caller: &Authenticated,
        current_password: Option<&str>,
    ) -> AuthResult<()> {
        match current_password {
            Some(password) => {
                let user = self.ctx.accounts().user(caller.user().user_id).await?;
                if self
                    .ctx
                    .hasher()
                    .verify(user.password_hash.as_deref(), password)
                    .await?
                {
                    Ok(())
                } else {
                    Err(AuthError::WrongPassword)
                }
            }
            None => {
                let auth_time = caller.state.session.auth_time;
                if self.ctx.now() - auth_time <= Duration::seconds(REAUTHENTICATION_WINDOW_SECS) {
                    Ok(())
                } else {
                    Err(AuthError::ReauthenticationRequired)
                }
            }
        }
    }

    /// Asks to change the caller's address to `new_email`: a verification
    /// mail (link and code) goes to the new address and a notice to the
    /// old one, in one transaction; the address changes only when the new
    /// one is verified (`verify_email`). Needs a recent sign-in or the
    /// current password. Returns the new address in canonical form.
    pub async fn request_email_change(
        &self,
        caller: &Authenticated,
        new_email: &str,
        current_password: Option<&str>,
    ) -> AuthResult<String> {
        let new_email = Email::parse(new_email).map_err(|v| AuthError::Validation(vec![v]))?;
        self.reauthenticated(caller, current_password).await?;
        let accounts = self.ctx.accounts();
        let user = accounts.user(caller.user().user_id).await?;
        let new_email = new_email.as_str().to_string();
        if new_email == user.email {
            return Err(AuthError::Validation(vec![crate::error::FieldViolation {
                field: "email",
                rule: "unchanged",
                message: "this is already the account's address".into(),
            }]));
        }
        if accounts
            .find_user(&new_email)
            .await?
            .is_some_and(|other| other.email == new_email)
        {
            if self.conceals_existing_accounts() {
                // Answered as for a free address; nothing is sent.
                return Ok(new_email);
            }
            return Err(AuthError::Conflict(Conflict::Email));
        }
        let issued = self.new_token(&user, OneTimePurpose::VerifyEmail, &new_email);
        let token = &issued.token;
        let minutes = (token.expires_at - token.created_at).num_minutes().max(1);
        let verify = MailVars {
            link: Some(self.link_of(&issued)),
            code: Some(issued.code.clone()),
            expires_in_minutes: u64::try_from(minutes).ok(),
            new_email: Some(new_email.clone()),
            ..self.mail_vars(&user.email)
        };
        let notice = MailVars {
            new_email: Some(new_email.clone()),
            ..self.mail_vars(&user.email)
        };
        let mail = [
            self.ctx
                .compose_mail(MailKind::EmailChangeVerify, &new_email, &verify)?,
            self.ctx
                .compose_mail(MailKind::EmailChangeNotice, &user.email, &notice)?,
        ];
        let now = self.ctx.now();
        let quiet_since = now - crate::accounts::secs(self.ctx.settings().accounts.mail_cooldown_secs);
        // Under the same once-a-minute cooldown as the other mails, so an
        // account cannot make Tessera mail an address without end.
        if accounts
            .issue_token(token, now - Duration::hours(24), Some(quiet_since), &mail)
            .await?
        {
            self.ctx.outbox().wake();
        }
        Ok(new_email)
    }
}
