//! The error table pinned: codes, statuses, OAuth rendering, headers.
use super::*;
use tessera_core::ClientRefusal;

#[test]
fn auth_errors_map_to_pinned_codes_and_statuses() {
    let cases: Vec<(AuthError, &str, u16)> = vec![
        (AuthError::Validation(vec![]), "validation_failed", 422),
        (AuthError::Conflict(Conflict::Email), "email_taken", 409),
        (AuthError::Conflict(Conflict::Username), "username_taken", 409),
        (AuthError::Conflict(Conflict::Kid), "conflict", 409),
        (AuthError::InvalidCredentials, "invalid_credentials", 401),
        (AuthError::InvalidGrant, "invalid_grant", 401),
        (
            AuthError::InvalidClient(ClientRefusal::WrongSecret),
            "invalid_client",
            401,
        ),
        (AuthError::UnauthorizedClient, "unauthorized_client", 400),
        (AuthError::InvalidScope("x".into()), "invalid_scope", 400),
        (AuthError::InvalidToken("expired"), "invalid_token", 401),
        (AuthError::InvalidRequest("x".into()), "invalid_request", 400),
        (AuthError::InsufficientScope("openid"), "insufficient_scope", 403),
        (AuthError::WrongPassword, "wrong_password", 400),
        (AuthError::LinkInvalid("expired"), "link_invalid", 400),
        (AuthError::CodeInvalid, "code_invalid", 400),
        (AuthError::EmailNotVerified, "email_not_verified", 403),
        (
            AuthError::ReauthenticationRequired,
            "reauthentication_required",
            403,
        ),
        (AuthError::NotFound, "not_found", 404),
        (AuthError::Forbidden("user:read"), "forbidden", 403),
        (AuthError::RankRule("x".into()), "rank_rule", 403),
        (AuthError::LastSuperAdmin, "last_super_admin", 409),
        (AuthError::RoleCycle, "role_cycle", 409),
        (AuthError::Builtin("role user".into()), "builtin_protected", 409),
        (AuthError::Overloaded { retry_after_secs: 1 }, "overloaded", 503),
        (AuthError::Unavailable("db".into()), "service_unavailable", 503),
        (AuthError::Internal("bug".into()), "internal_error", 500),
    ];
    for (err, code, status) in cases {
        let api = ApiError::from(err);
        let (got_code, got_status, _) = api.code().describe();
        assert_eq!((got_code, got_status.as_u16()), (code, status));
    }
}

#[tokio::test]
async fn oauth_errors_are_rfc6749_json_with_no_store() {
    let response = ApiError::from(AuthError::InvalidClient(ClientRefusal::UnknownClient))
        .oauth()
        .basic_challenge(true)
        .into_response();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        r#"Basic realm="tessera""#
    );
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(response.headers()[header::PRAGMA], "no-cache");
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(
        body["error_description"],
        format!("client authentication failed: {}", ClientRefusal::UnknownClient)
    );
    assert!(body.get("code").is_none());

    let cases = [
        (ErrorCode::InvalidGrant, "invalid_grant", 400),
        (ErrorCode::UnsupportedMediaType, "invalid_request", 400),
        (ErrorCode::PayloadTooLarge, "invalid_request", 400),
        (ErrorCode::ServiceUnavailable, "temporarily_unavailable", 503),
        (ErrorCode::InternalError, "server_error", 500),
    ];
    for (code, error, status) in cases {
        let response = ApiError::new(code, None).oauth().into_response();
        assert_eq!(response.status(), status, "{error}");
        assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], error);
    }
}

#[test]
fn overload_and_outage_carry_retry_after_and_opaque_bodies() {
    let response = ApiError::from(AuthError::Unavailable("password=hunter2 in dsn".into())).into_response();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let response = ApiError::from(AuthError::Overloaded { retry_after_secs: 1 }).into_response();
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
}
