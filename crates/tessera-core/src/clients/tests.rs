//! Unit tests of client validation and authentication.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::clock::Clock as _;
use tessera_store::{ClientType, GrantType};

use super::*;
use serde_json::json;

fn input() -> NewClient {
    NewClient {
        name: "Web app".into(),
        client_type: "confidential".into(),
        redirect_uris: vec!["https://app.example.com/cb".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into(), "profile".into()],
        ..NewClient::default()
    }
}

/// The `(field, rule)` pairs of a failed validation.
fn violations(input: NewClient) -> Vec<(&'static str, &'static str)> {
    match validate(
        input,
        Uuid::nil(),
        crate::clock::ManualClock::starting_now().now(),
    ) {
        Err(AuthError::Validation(errors)) => errors.iter().map(|e| (e.field, e.rule)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_valid_confidential_client_defaults_to_client_secret_basic() {
    let client = validate(
        input(),
        Uuid::nil(),
        crate::clock::ManualClock::starting_now().now(),
    )
    .unwrap();
    assert_eq!(client.client_type, ClientType::Confidential);
    assert_eq!(
        client.token_endpoint_auth_method,
        TokenEndpointAuthMethod::ClientSecretBasic
    );
    assert_eq!(
        client.grant_types,
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    );
    assert_eq!(
        client.redirect_uris,
        vec!["https://app.example.com/cb".to_owned()]
    );
}

#[test]
fn a_public_client_defaults_to_none_and_duplicates_are_dropped() {
    let client = validate(
        NewClient {
            client_type: "public".into(),
            grant_types: vec!["authorization_code".into(), "authorization_code".into()],
            redirect_uris: vec![
                "http://127.0.0.1:7777/cb".into(),
                "http://127.0.0.1:7777/cb".into(),
            ],
            scopes: vec!["openid".into(), "openid".into()],
            ..input()
        },
        Uuid::nil(),
        crate::clock::ManualClock::starting_now().now(),
    )
    .unwrap();
    assert_eq!(client.token_endpoint_auth_method, TokenEndpointAuthMethod::None);
    assert_eq!(client.grant_types, vec![GrantType::AuthorizationCode]);
    assert_eq!(client.redirect_uris.len(), 1);
    assert_eq!(client.scopes, vec!["openid".to_owned()]);
}

#[test]
fn redirect_uris_are_stored_exactly_as_given() {
    // The url crate normalises this (case, default port, dot segments);
    // matching is by exact string, so the registry keeps what was given.
    let uri = "HTTPS://App.Example.com:443/a/../cb?x=1";
    let client = validate(
        NewClient {
            redirect_uris: vec![uri.into()],
            ..input()
        },
        Uuid::nil(),
        crate::clock::ManualClock::starting_now().now(),
    )
    .unwrap();
    assert_eq!(client.redirect_uris, vec![uri.to_owned()]);
}

#[test]
fn http_redirect_uris_are_allowed_only_on_loopback_hosts() {
    for ok in [
        "http://127.0.0.1/cb",
        "http://127.0.0.1:8080/cb",
        "http://[::1]:8080/cb",
        "http://localhost:3000/cb",
        "com.example.app:/oauth2redirect",
    ] {
        let result = validate(
            NewClient {
                redirect_uris: vec![ok.into()],
                ..input()
            },
            Uuid::nil(),
            crate::clock::ManualClock::starting_now().now(),
        );
        assert!(result.is_ok(), "{ok}: {result:?}");
    }
    for (bad, rule) in [
        ("http://app.example.com/cb", "insecure_scheme"),
        ("http://127.0.0.2/cb", "insecure_scheme"),
        ("http://localhost.evil.com/cb", "insecure_scheme"),
        ("https://app.example.com/cb#frag", "fragment_not_allowed"),
        ("javascript:alert(1)", "unsupported_scheme"),
        ("/relative/cb", "invalid_uri"),
    ] {
        assert_eq!(
            violations(NewClient {
                redirect_uris: vec![bad.into()],
                ..input()
            }),
            vec![("redirect_uris", rule)],
            "{bad}"
        );
    }
}

#[test]
fn grant_type_rules_are_enforced() {
    assert_eq!(
        violations(NewClient {
            grant_types: vec!["password".into()],
            ..input()
        }),
        vec![("grant_types", "unknown_value")]
    );
    assert_eq!(
        violations(NewClient {
            grant_types: vec![],
            ..input()
        }),
        vec![("grant_types", "required")]
    );
    assert_eq!(
        violations(NewClient {
            client_type: "public".into(),
            grant_types: vec!["authorization_code".into(), "client_credentials".into()],
            ..input()
        }),
        vec![("grant_types", "not_allowed_for_public_client")]
    );
    assert_eq!(
        violations(NewClient {
            grant_types: vec!["client_credentials".into(), "refresh_token".into()],
            redirect_uris: vec![],
            ..input()
        }),
        vec![("grant_types", "requires_authorization_code")]
    );
    assert_eq!(
        violations(NewClient {
            redirect_uris: vec![],
            ..input()
        }),
        vec![("redirect_uris", "required")]
    );
}

#[test]
fn auth_method_must_match_the_client_type_and_jwks() {
    assert_eq!(
        violations(NewClient {
            client_type: "public".into(),
            token_endpoint_auth_method: Some("client_secret_post".into()),
            ..input()
        }),
        vec![("token_endpoint_auth_method", "mismatch")]
    );
    assert_eq!(
        violations(NewClient {
            token_endpoint_auth_method: Some("none".into()),
            ..input()
        }),
        vec![("token_endpoint_auth_method", "mismatch")]
    );
    assert_eq!(
        violations(NewClient {
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            ..input()
        }),
        vec![("jwks", "required")]
    );
    assert_eq!(
        violations(NewClient {
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            jwks: Some(json!({"keys": []})),
            ..input()
        }),
        vec![("jwks", "invalid")]
    );
    assert_eq!(
        violations(NewClient {
            jwks: Some(json!({"keys": [{"kty": "EC"}]})),
            ..input()
        }),
        vec![("jwks", "not_allowed")]
    );
    let jwt_client = validate(
        NewClient {
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            jwks: Some(json!({"keys": [{"kty": "EC"}]})),
            ..input()
        },
        Uuid::nil(),
        crate::clock::ManualClock::starting_now().now(),
    )
    .unwrap();
    assert_eq!(
        jwt_client.token_endpoint_auth_method,
        TokenEndpointAuthMethod::PrivateKeyJwt
    );
}

#[test]
fn every_broken_rule_is_reported_at_once() {
    let got = violations(NewClient {
        name: " ".into(),
        client_type: "secretive".into(),
        grant_types: vec!["implicit".into()],
        scopes: vec!["has space".into(), "".into(), "quote\"".into()],
        access_token_ttl_secs: Some(0),
        refresh_idle_ttl_secs: Some(MAX_REFRESH_IDLE_TTL_SECS + 1),
        ..input()
    });
    assert_eq!(
        got,
        vec![
            ("name", "required"),
            ("client_type", "unknown_value"),
            ("grant_types", "unknown_value"),
            ("scopes", "invalid"),
            ("scopes", "invalid"),
            ("scopes", "invalid"),
            ("access_token_ttl_secs", "out_of_range"),
            ("refresh_idle_ttl_secs", "out_of_range"),
        ]
    );
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let secret = ClientSecret {
        value: "s3cr3t".into(),
        expires_at: None,
    };
    assert!(!format!("{secret:?}").contains("s3cr3t"));
    assert_eq!(secret.expose(), "s3cr3t");
}
