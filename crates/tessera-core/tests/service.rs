//! Service logic with an injected clock: expiry and lockout are tested by
//! moving time, not by sleeping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::Duration;
use tessera_core::{AuthError, AuthService, LoginRequest, ManualClock, TokenSettings};

mod common;

use common::{test_service, PASSWORD};

async fn service(tokens: TokenSettings) -> (AuthService, Arc<ManualClock>) {
    let started = test_service(tokens, 5).await;
    (started.service, started.clock)
}

fn login(password: &str) -> LoginRequest {
    LoginRequest {
        identifier: "ada@example.com".into(),
        password: password.into(),
        ip: None,
        user_agent: None,
    }
}

#[tokio::test]
async fn refresh_token_expires_after_idle_time_and_activity_extends_it() {
    let (service, clock) = service(TokenSettings::default()).await;
    let tokens = service.login(login(PASSWORD)).await.unwrap();
    clock.advance(Duration::days(13));
    let tokens = service.refresh(&tokens.refresh_token).await.unwrap();
    clock.advance(Duration::days(13));
    let tokens = service.refresh(&tokens.refresh_token).await.unwrap();
    clock.advance(Duration::days(14) + Duration::seconds(1));
    assert!(matches!(
        service.refresh(&tokens.refresh_token).await,
        Err(AuthError::InvalidGrant)
    ));
}

#[tokio::test]
async fn session_ends_at_its_absolute_lifetime_despite_activity() {
    let (service, clock) = service(TokenSettings::default()).await;
    let mut tokens = service.login(login(PASSWORD)).await.unwrap();
    for _ in 0..8 {
        clock.advance(Duration::days(10));
        tokens = service.refresh(&tokens.refresh_token).await.unwrap();
    }
    clock.advance(Duration::days(10));
    assert!(matches!(
        service.refresh(&tokens.refresh_token).await,
        Err(AuthError::InvalidGrant)
    ));
}

#[tokio::test]
async fn access_token_is_refused_after_expiry_plus_leeway() {
    let (service, clock) = service(TokenSettings::default()).await;
    let tokens = service.login(login(PASSWORD)).await.unwrap();
    clock.advance(Duration::seconds(15 * 60 + 29));
    assert!(service.authenticate(&tokens.access_token).await.is_ok());
    clock.advance(Duration::seconds(2));
    assert!(matches!(
        service.authenticate(&tokens.access_token).await,
        Err(AuthError::InvalidToken(_))
    ));
}

#[tokio::test]
async fn lockout_grows_with_failures_and_a_success_resets_it() {
    let (service, clock) = service(TokenSettings::default()).await;
    for _ in 0..5 {
        assert!(matches!(
            service.login(login("wrong-password-1")).await,
            Err(AuthError::InvalidCredentials)
        ));
    }
    // Locked for 60 s: even the right password fails, indistinguishably.
    assert!(matches!(
        service.login(login(PASSWORD)).await,
        Err(AuthError::InvalidCredentials)
    ));
    clock.advance(Duration::seconds(61));
    // One more failure after the lock: 120 s this time.
    assert!(service.login(login("wrong-password-1")).await.is_err());
    clock.advance(Duration::seconds(119));
    assert!(matches!(
        service.login(login(PASSWORD)).await,
        Err(AuthError::InvalidCredentials)
    ));
    clock.advance(Duration::seconds(2));
    service.login(login(PASSWORD)).await.unwrap();
    // The success reset the count: four failures do not lock.
    for _ in 0..4 {
        assert!(service.login(login("wrong-password-1")).await.is_err());
    }
    service.login(login(PASSWORD)).await.unwrap();
}

#[tokio::test]
async fn spent_refresh_token_revokes_the_session_and_its_access_tokens() {
    let (service, _clock) = service(TokenSettings::default()).await;
    let first = service.login(login(PASSWORD)).await.unwrap();
    let second = service.refresh(&first.refresh_token).await.unwrap();
    assert!(matches!(
        service.refresh(&first.refresh_token).await,
        Err(AuthError::InvalidGrant)
    ));
    assert!(matches!(
        service.refresh(&second.refresh_token).await,
        Err(AuthError::InvalidGrant)
    ));
    assert!(matches!(
        service.authenticate(&second.access_token).await,
        Err(AuthError::InvalidToken(_))
    ));
}

#[tokio::test]
async fn expiry_is_judged_by_the_service_clock_on_first_verification_too() {
    let (service, clock) = service(TokenSettings::default()).await;
    let tokens = service.login(login(PASSWORD)).await.unwrap();
    clock.advance(Duration::seconds(15 * 60 + 31));
    assert!(matches!(
        service.authenticate(&tokens.access_token).await,
        Err(AuthError::InvalidToken("expired"))
    ));
}
