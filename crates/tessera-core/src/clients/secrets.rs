//! Checking a presented client secret against the stored hashes, and the
//! refusals of client authentication.

use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;
use tessera_store::{Client, TokenEndpointAuthMethod};

use super::ClientRefusal;
use crate::error::{AuthError, AuthResult};

/// `InvalidClient` for `refusal`.
pub(super) fn refused(refusal: ClientRefusal) -> AuthError {
    AuthError::InvalidClient(refusal)
}

/// Refuses a disabled client.
pub(super) fn usable(client: &Client) -> AuthResult<()> {
    match client.disabled_at {
        Some(_) => Err(refused(ClientRefusal::Disabled)),
        None => Ok(()),
    }
}

/// When a secret issued at `now` expires, for a client whose secrets live
/// `ttl_secs` (`None` = never; validation bounds the lifetime, so the sum
/// cannot overflow, and would mean "never" if it did).
pub(super) fn secret_expiry(ttl_secs: Option<i64>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    ttl_secs.and_then(|secs| now.checked_add_signed(chrono::Duration::seconds(secs)))
}

/// Whether `client` accepts a secret (hex SHA-256 `presented`) sent by
/// `method` at `now`: enabled, registered for that method, the secret its
/// current or previous one and unexpired.
pub(super) fn check_presented(
    client: &Client,
    method: TokenEndpointAuthMethod,
    presented: &str,
    now: DateTime<Utc>,
) -> AuthResult<()> {
    usable(client)?;
    if client.token_endpoint_auth_method != method {
        return Err(refused(ClientRefusal::MethodMismatch {
            registered: client.token_endpoint_auth_method,
            used: method,
        }));
    }
    check_secret_of(client, presented, now)
}

/// Whether `client` is an enabled public client (one registered with `none`).
pub(super) fn is_public_and_usable(client: &Client) -> AuthResult<()> {
    usable(client)?;
    if client.token_endpoint_auth_method != TokenEndpointAuthMethod::None {
        return Err(refused(ClientRefusal::MethodMismatch {
            registered: client.token_endpoint_auth_method,
            used: TokenEndpointAuthMethod::None,
        }));
    }
    Ok(())
}

/// Whether `presented` (a hex SHA-256) is the client's current or previous
/// secret and has not expired at `now`. Both comparisons always run: no
/// early exit that would tell which matched before the answer does.
pub(super) fn check_secret_of(client: &Client, presented: &str, now: DateTime<Utc>) -> AuthResult<()> {
    let current = bool::from(hash_matches(presented, client.secret_hash.as_deref()));
    let previous = bool::from(hash_matches(presented, client.previous_secret_hash.as_deref()));
    let expiry = match (current, previous) {
        (true, _) => client.secret_expires_at,
        (false, true) => client.previous_secret_expires_at,
        (false, false) => return Err(refused(ClientRefusal::WrongSecret)),
    };
    match expiry {
        Some(at) if at <= now => Err(refused(ClientRefusal::SecretExpired(at))),
        _ => Ok(()),
    }
}

/// Constant-time equality of two hex digests (absent never matches).
fn hash_matches(presented: &str, stored: Option<&str>) -> subtle::Choice {
    match stored {
        Some(stored) => presented.as_bytes().ct_eq(stored.as_bytes()),
        None => subtle::Choice::from(0),
    }
}
