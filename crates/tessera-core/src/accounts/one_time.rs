//! The accounts component's part of mailed one-time tokens: issuing,
//! finding, counting wrong codes and spending — each write dropping the
//! cached state it changes.

use chrono::{DateTime, Utc};
use tessera_store::{MailQuery, MailRecord, OneTimePurpose, OneTimeToken, OutgoingMail, TokenEffect, User};

use super::{found, Accounts};
use crate::error::AuthResult;

impl Accounts {
    /// The tenant's mail delivery records matching `query`.
    pub async fn list_mail(&self, query: &MailQuery) -> AuthResult<Vec<MailRecord>> {
        Ok(self.store.list_mail(self.tenant_id, query).await?)
    }

    /// Stores a new user holding `roles`, with the verification token of
    /// their address and its mail, in one transaction.
    pub async fn create_user_with_mail(
        &self,
        user: &User,
        roles: &[String],
        token: &OneTimeToken,
        mail: &[OutgoingMail],
    ) -> AuthResult<()> {
        Ok(self
            .store
            .create_user_with_mail(user, roles, Some(token), mail)
            .await?)
    }

    /// Stores `token` (retiring the user's older ones of its purpose,
    /// keeping their count of wrong codes since `failures_since`) and
    /// queues `mail`, in one transaction — unless a token of the same
    /// purpose was issued after `quiet_since` (then `false`, nothing
    /// written).
    pub async fn issue_token(
        &self,
        token: &OneTimeToken,
        failures_since: DateTime<Utc>,
        quiet_since: Option<DateTime<Utc>>,
        mail: &[OutgoingMail],
    ) -> AuthResult<bool> {
        Ok(self
            .store
            .issue_one_time_token(token, failures_since, quiet_since, mail)
            .await?
            .is_some())
    }

    /// The unused token of `purpose` whose link secret hashes to `hash`.
    pub async fn one_time_token(
        &self,
        purpose: OneTimePurpose,
        hash: &str,
    ) -> AuthResult<Option<OneTimeToken>> {
        found(
            self.store
                .find_one_time_token(self.tenant_id, purpose, hash)
                .await,
        )
    }

    /// The newest unused token of `purpose` sent to `email` (canonical
    /// form): the address it proves, the account's own or a new one.
    pub async fn latest_token_for_email(
        &self,
        purpose: OneTimePurpose,
        email: &str,
    ) -> AuthResult<Option<OneTimeToken>> {
        found(
            self.store
                .latest_one_time_token_for_email(self.tenant_id, purpose, email)
                .await,
        )
    }

    /// Counts one wrong code against `token`.
    pub async fn record_code_failure(&self, token: &OneTimeToken) -> AuthResult<i32> {
        Ok(self
            .store
            .record_code_failure(self.tenant_id, token.token_id)
            .await?)
    }

    /// Spends `token` (`NotFound` when it is spent, expired or has
    /// `max_failures` wrong codes), applies `effect` and queues `mail`, in
    /// one transaction; the user's cached state is dropped.
    pub async fn spend_token(
        &self,
        token: &OneTimeToken,
        max_failures: i32,
        effect: TokenEffect<'_>,
        mail: &[OutgoingMail],
    ) -> AuthResult<()> {
        self.store
            .spend_one_time_token(
                self.tenant_id,
                token.token_id,
                max_failures,
                self.clock.now(),
                effect,
                mail,
            )
            .await?;
        if effect != TokenEffect::Nothing {
            self.forget_user_sessions(token.user_id);
        }
        Ok(())
    }
}
