//! Flows that go through mail: proving an email address and recovering a
//! password. A mailed link opens a page that changes nothing; only a POST
//! with the link's token, or with the address and the mail's 6-digit code,
//! spends it. Requests that name an address (`resend`, `forgot`) answer
//! alike whether or not an account has it: the work happens after the
//! answer.

use chrono::Duration;
use rand::Rng;
use subtle::ConstantTimeEq;
use tessera_store::{OneTimePurpose, OneTimeToken, OutgoingMail, TokenEffect, User};
use uuid::Uuid;

use super::*;
use crate::error::{AuthError, AuthResult, FieldViolation};
use crate::identity::Email;
use crate::mail::templates::{MailKind, MailVars};

/// How a person proves they received a mail: the link's token, or the
/// address it went to and the code it carried.
#[derive(Debug, Clone)]
pub enum MailedProof {
    /// The token from the link (`?token=…`).
    Link(String),
    /// The address and the 6-digit code.
    Code {
        /// The address the code was sent to.
        email: String,
        /// The code as typed.
        code: String,
    },
}

/// A freshly issued one-time token with the secrets that go into the mail
/// (and nowhere else).
pub(crate) struct IssuedToken {
    pub(crate) token: OneTimeToken,
    pub(crate) link_secret: String,
    pub(crate) code: String,
}

/// The purpose's path on the hosted pages (the mailed link).
fn link_path(purpose: OneTimePurpose) -> &'static str {
    match purpose {
        OneTimePurpose::VerifyEmail => "verify-email",
        OneTimePurpose::ResetPassword => "reset-password",
        OneTimePurpose::SignIn => "magic-link",
    }
}

impl AuthService {
    /// A new token of `purpose` for `user`, proving `email`: 256 random
    /// bits for the link (only their SHA-256 is stored) and a uniformly
    /// drawn 6-digit code (stored as a keyed hash).
    pub(crate) fn new_token(&self, user: &User, purpose: OneTimePurpose, email: &str) -> IssuedToken {
        let policy = &self.ctx.settings().accounts;
        let ttl = match purpose {
            OneTimePurpose::VerifyEmail => policy.verify_email_ttl_secs,
            OneTimePurpose::ResetPassword | OneTimePurpose::SignIn => policy.reset_password_ttl_secs,
        };
        let link_secret = crate::tokens::new_opaque_token();
        let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
        let token_id = Uuid::now_v7();
        let now = self.ctx.now();
        let token = OneTimeToken {
            token_id,
            tenant_id: self.ctx.tenant_id(),
            user_id: user.user_id,
            purpose,
            token_hash: crate::tokens::token_hash(&link_secret),
            code_hash: self.ctx.outbox().code_hash(token_id, &code),
            email: email.to_string(),
            failed_attempts: 0,
            created_at: now,
            expires_at: now + crate::accounts::secs(ttl),
            used_at: None,
        };
        IssuedToken {
            token,
            link_secret,
            code,
        }
    }

    /// The mail carrying `issued`'s link and code.
    pub(crate) fn token_mail(&self, kind: MailKind, issued: &IssuedToken) -> AuthResult<OutgoingMail> {
        let token = &issued.token;
        let link = self.link_of(issued);
        let minutes = (token.expires_at - token.created_at).num_minutes().max(1);
        let vars = MailVars {
            link: Some(link),
            code: Some(issued.code.clone()),
            expires_in_minutes: u64::try_from(minutes).ok(),
            ..self.mail_vars(&token.email)
        };
        self.ctx.compose_mail(kind, &token.email, &vars)
    }

    /// The mailed link of `issued`: its purpose's page on the tenant's
    /// issuer, with the link secret.
    pub(crate) fn link_of(&self, issued: &IssuedToken) -> String {
        format!(
            "{}/{}?token={}",
            self.ctx.issuer(),
            link_path(issued.token.purpose),
            issued.link_secret
        )
    }

    /// The variables every mail of this tenant to `email` has.
    pub(crate) fn mail_vars(&self, email: &str) -> MailVars {
        MailVars {
            issuer: self.ctx.issuer().to_string(),
            tenant_name: self.ctx.tenant().name.clone(),
            email: email.to_string(),
            ..MailVars::default()
        }
    }

    /// Spends a mailed proof of `purpose`, applying `effect` and queueing
    /// `mail` in the same transaction; returns the spent token. A link that
    /// is unknown, spent, replaced or expired, and a code that is wrong,
    /// expired or void, are refused with why — as far as that reveals
    /// nothing about whether an address has an account.
    pub(crate) async fn spend_proof(
        &self,
        purpose: OneTimePurpose,
        proof: &MailedProof,
        effect: TokenEffect<'_>,
        mail: impl FnOnce(&OneTimeToken) -> AuthResult<Vec<OutgoingMail>>,
    ) -> AuthResult<OneTimeToken> {
        let token = self.proven_token(purpose, proof).await?;
        let mail = mail(&token)?;
        let max = i32::try_from(self.ctx.settings().accounts.max_code_failures).unwrap_or(i32::MAX);
        // The link's 256 bits need no failure limit; only a code's do.
        let max = if matches!(proof, MailedProof::Link(_)) {
            i32::MAX
        } else {
            max
        };
        match self.ctx.accounts().spend_token(&token, max, effect, &mail).await {
            Ok(()) => {
                self.ctx.outbox().wake();
                Ok(token)
            }
            Err(AuthError::NotFound) => Err(refused(proof, "it was used a moment ago")),
            Err(other) => Err(other),
        }
    }

    /// The live token a proof names; counts a wrong code.
    async fn proven_token(&self, purpose: OneTimePurpose, proof: &MailedProof) -> AuthResult<OneTimeToken> {
        let now = self.ctx.now();
        let accounts = self.ctx.accounts();
        match proof {
            MailedProof::Link(secret) => {
                let token = accounts
                    .one_time_token(purpose, &crate::tokens::token_hash(secret))
                    .await?
                    .ok_or(AuthError::LinkInvalid(
                        "unknown, already used, or replaced by a newer one",
                    ))?;
                if token.expires_at <= now {
                    return Err(AuthError::LinkInvalid("expired"));
                }
                Ok(token)
            }
            MailedProof::Code { email, code } => {
                check_code_format(code)?;
                let Ok(email) = Email::parse(email) else {
                    return Err(AuthError::CodeInvalid);
                };
                let Some(token) = accounts.latest_token_for_email(purpose, email.as_str()).await? else {
                    return Err(AuthError::CodeInvalid);
                };
                let max = i64::from(self.ctx.settings().accounts.max_code_failures);
                if token.expires_at <= now || i64::from(token.failed_attempts) >= max {
                    return Err(AuthError::CodeInvalid);
                }
                let presented = self.ctx.outbox().code_hash(token.token_id, code);
                if !bool::from(presented.as_bytes().ct_eq(token.code_hash.as_bytes())) {
                    accounts.record_code_failure(&token).await?;
                    return Err(AuthError::CodeInvalid);
                }
                Ok(token)
            }
        }
    }

    /// Issues a token of `purpose` to the account with address `email` and
    /// queues its mail of `kind` — unless there is no such active account,
    /// or one was sent within the cooldown — all after the caller has been
    /// answered, so that the answer and its timing say nothing.
    pub(crate) fn mail_token_later(&self, purpose: OneTimePurpose, kind: MailKind, email: Email) {
        let service = AuthService::new(self.ctx.clone());
        tokio::spawn(async move {
            if let Err(err) = service.mail_token_now(purpose, kind, email.as_str()).await {
                tracing::warn!(error = %err, purpose = purpose.as_str(), "mailed token not issued");
            }
        });
    }

    async fn mail_token_now(&self, purpose: OneTimePurpose, kind: MailKind, email: &str) -> AuthResult<()> {
        let accounts = self.ctx.accounts();
        let Some(user) = accounts.find_user(email).await? else {
            return Ok(());
        };
        if user.email != email || !crate::accounts::user_may_sign_in(&user) {
            return Ok(());
        }
        if purpose == OneTimePurpose::VerifyEmail && user.email_verified {
            return Ok(());
        }
        let policy = &self.ctx.settings().accounts;
        let now = self.ctx.now();
        let quiet_since = now - crate::accounts::secs(policy.mail_cooldown_secs);
        let issued = self.new_token(&user, purpose, email);
        let mail = self.token_mail(kind, &issued)?;
        let failures_since = now - Duration::hours(24);
        if accounts
            .issue_token(&issued.token, failures_since, Some(quiet_since), &[mail])
            .await?
        {
            self.ctx.outbox().wake();
        } else {
            tracing::info!(user_id = %user.user_id, purpose = purpose.as_str(), "mail within cooldown not sent");
        }
        Ok(())
    }

    /// Proves an email address (the registration's, or a new one): the
    /// user's `email` becomes the token's address, verified.
    pub async fn verify_email(&self, proof: MailedProof) -> AuthResult<()> {
        self.spend_proof(
            OneTimePurpose::VerifyEmail,
            &proof,
            TokenEffect::VerifyEmail,
            |_| Ok(Vec::new()),
        )
        .await
        .map(drop)
    }

    /// Sends a new verification mail to `email` if an active, unverified
    /// account has it (after answering; see the module).
    pub fn resend_verification(&self, email: &str) -> AuthResult<()> {
        let email = Email::parse(email).map_err(|v| AuthError::Validation(vec![v]))?;
        self.mail_token_later(OneTimePurpose::VerifyEmail, MailKind::VerifyEmail, email);
        Ok(())
    }

    /// Mails a password-reset link and code to `email` if an active account
    /// has it (after answering; see the module).
    pub fn forgot_password(&self, email: &str) -> AuthResult<()> {
        let email = Email::parse(email).map_err(|v| AuthError::Validation(vec![v]))?;
        self.mail_token_later(OneTimePurpose::ResetPassword, MailKind::PasswordReset, email);
        Ok(())
    }

    /// Sets a new password with a mailed proof: the policy applies, every
    /// session and browser session of the user ends, a lockout is lifted,
    /// and a notice is mailed. Issues no tokens: a user with a second factor
    /// still passes it at the next login.
    pub async fn reset_password(&self, proof: MailedProof, new_password: &str) -> AuthResult<()> {
        let token = self.proven_token(OneTimePurpose::ResetPassword, &proof).await?;
        let user = self.ctx.accounts().user(token.user_id).await?;
        let violations = self
            .ctx
            .settings()
            .password_policy
            .violations(new_password, Email::parse(&user.email).ok().as_ref());
        if !violations.is_empty() {
            // Named as the request names it.
            let violations = violations
                .into_iter()
                .map(|v| FieldViolation {
                    field: "new_password",
                    ..v
                })
                .collect();
            return Err(AuthError::Validation(violations));
        }
        let hash = self.ctx.hasher().hash(new_password).await?;
        let effect = TokenEffect::SetPassword {
            password_hash: &hash,
            reason: "password_reset",
        };
        self.spend_proof(OneTimePurpose::ResetPassword, &proof, effect, |_| {
            let notice = self.ctx.compose_mail(
                MailKind::PasswordChanged,
                &user.email,
                &self.mail_vars(&user.email),
            )?;
            Ok(vec![notice])
        })
        .await?;
        Ok(())
    }

    /// Whether a mailed link is still good, without spending it: what the
    /// page a link opens shows (a button, or why the link no longer works).
    pub async fn check_link(&self, purpose: OneTimePurpose, secret: &str) -> AuthResult<()> {
        self.proven_token(purpose, &MailedProof::Link(secret.to_string()))
            .await
            .map(drop)
    }
}

/// The refusal of a proof that lost a race.
fn refused(proof: &MailedProof, why: &'static str) -> AuthError {
    match proof {
        MailedProof::Link(_) => AuthError::LinkInvalid(why),
        MailedProof::Code { .. } => AuthError::CodeInvalid,
    }
}

/// A code is six ASCII digits; anything else is a malformed request.
fn check_code_format(code: &str) -> AuthResult<()> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AuthError::Validation(vec![FieldViolation {
            field: "code",
            rule: "format",
            message: "the code is the 6 digits from the mail".into(),
        }]))
    }
}
