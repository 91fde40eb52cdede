//! Conformance checks of the OpenID Connect storage, by aggregate: browser
//! sessions (and the OAuth sessions granted from them), authorization
//! codes, consents, and the housekeeping (purge, client assertions).
//!
//! This module holds the fixtures they share.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::conformance::{confidential_client, session};
use crate::{AuthorizationCode, BrowserSession, Client, Consent, Session, Store, User};

mod browser_session_ends;
mod browser_sessions;
mod codes;
mod consents;
mod housekeeping;

pub use browser_session_ends::*;
pub use browser_sessions::*;
pub use codes::*;
pub use consents::*;
pub use housekeeping::*;

// --- helpers -----------------------------------------------------------------

fn random_hash() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

pub(super) async fn created_client<S: Store>(
    store: &S,
    tenant_id: Uuid,
    created_at: DateTime<Utc>,
) -> Client {
    let c = confidential_client(tenant_id, created_at);
    store.create_client(&c).await.expect("create_client");
    c
}

fn browser_session(u: &User, now: DateTime<Utc>) -> BrowserSession {
    BrowserSession {
        browser_session_id: Uuid::now_v7(),
        tenant_id: u.tenant_id,
        user_id: u.user_id,
        token_hash: random_hash(),
        auth_time: now - Duration::minutes(1),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        created_at: now,
        expires_at: now + Duration::days(1),
        revoked_at: None,
        ip: Some("203.0.113.7".to_owned()),
        user_agent: Some("Mozilla/5.0 (conformance)".to_owned()),
        last_seen_at: None,
    }
}

pub(super) async fn created_browser_session<S: Store>(
    store: &S,
    u: &User,
    now: DateTime<Utc>,
) -> BrowserSession {
    let bs = browser_session(u, now);
    store
        .create_browser_session(&bs)
        .await
        .expect("create_browser_session");
    bs
}

fn code(client: &Client, bs: &BrowserSession, now: DateTime<Utc>) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: random_hash(),
        tenant_id: bs.tenant_id,
        client_id: client.client_id,
        user_id: bs.user_id,
        browser_session_id: bs.browser_session_id,
        redirect_uri: "https://billing.example.com/callback".to_owned(),
        redirect_uri_sent: true,
        scope: "openid profile".to_owned(),
        resource: Some("https://orders.example.com/api".to_owned()),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        auth_time: bs.auth_time,
        amr: bs.amr.clone(),
        created_at: now,
        expires_at: now + Duration::seconds(60),
        used_at: None,
        session_id: None,
    }
}

pub(super) async fn inserted_code<S: Store>(
    store: &S,
    client: &Client,
    bs: &BrowserSession,
    now: DateTime<Utc>,
) -> AuthorizationCode {
    let c = code(client, bs, now);
    store
        .insert_authorization_code(&c)
        .await
        .expect("insert_authorization_code");
    c
}

/// A session granted to `client` from `bs`, valid for 30 days.
fn oauth_session(client: &Client, bs: &BrowserSession, now: DateTime<Utc>) -> Session {
    Session {
        client_id: Some(client.client_id),
        scope: Some("openid profile offline_access".to_owned()),
        browser_session_id: Some(bs.browser_session_id),
        auth_time: bs.auth_time,
        amr: bs.amr.clone(),
        ..session(bs.tenant_id, bs.user_id, now, now + Duration::days(30))
    }
}

async fn created_oauth_session<S: Store>(
    store: &S,
    client: &Client,
    bs: &BrowserSession,
    now: DateTime<Utc>,
) -> Session {
    let s = oauth_session(client, bs, now);
    store.create_session(&s, None).await.expect("create_session");
    s
}

pub(super) fn consent(u: &User, client: &Client, scopes: &[&str], at: DateTime<Utc>) -> Consent {
    Consent {
        tenant_id: u.tenant_id,
        user_id: u.user_id,
        client_id: client.client_id,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        created_at: at,
        updated_at: at,
    }
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}
