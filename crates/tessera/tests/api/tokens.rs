//! Access tokens (RFC 9068 JWTs) and the published keys: header, claims,
//! signature against the JWKS, key persistence and encryption at rest, and
//! every way a forged or foreign token must be rejected.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, header, jwt_part, TestApp};
use crate::{every_engine, every_engine_with};

/// Asserts that `/users/me` refuses `token` as RFC 6750 asks.
async fn assert_rejected(app: &TestApp, token: &str, what: &str) {
    let response = app.me(token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
    assert_eq!(
        header(&response, "www-authenticate"),
        r#"Bearer error="invalid_token""#,
        "{what}"
    );
    assert_problem(response, 401, "invalid_token").await;
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// The one published key.
async fn only_key(app: &TestApp) -> Value {
    let jwks = app.jwks().await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    keys[0].clone()
}

every_engine! {
    async fn access_token_header_and_claims_follow_rfc_9068(app) {
        let (user, tokens, _) = app.signed_in_user().await;
        let head = jwt_part(&tokens.access_token, 0);
        assert_eq!(head["typ"], "at+jwt");
        assert_eq!(head["alg"], "ES256");
        let key = only_key(&app).await;
        assert_eq!(head["kid"], key["kid"]);

        let claims = jwt_part(&tokens.access_token, 1);
        assert_eq!(claims["iss"], app.url.as_str());
        assert_eq!(claims["sub"], user["id"]);
        assert_eq!(claims["aud"], app.url.as_str());
        assert_eq!(claims["sid"], tokens.session_id.as_str());
        assert_eq!(claims["email"], user["email"]);
        let (iat, exp, nbf) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap(), claims["nbf"].as_i64().unwrap());
        assert_eq!(exp - iat, 900);
        assert_eq!(nbf, iat);
        assert_eq!(iat, tessera_core::Clock::now(app.clock.as_ref()).timestamp(), "iat is the server's now");
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
        assert_eq!(claims["client_id"], "tessera");
        let tenants = app.db().await.ids("tenant", "tenant_id").await;
        assert_eq!(claims["tid"], tenants[0].to_string());

        let second = app.login(user["email"].as_str().unwrap(), "plausible-Passphrase-93").await;
        assert_ne!(jwt_part(&second.access_token, 1)["jti"], claims["jti"]);
    }

    async fn access_token_signature_verifies_with_the_published_key(app) {
        let (user, tokens, _) = app.signed_in_user().await;
        let key = only_key(&app).await;
        let decoding = DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap()).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[app.url.as_str()]);
        validation.set_audience(&[app.url.as_str()]);
        let data = jsonwebtoken::decode::<Value>(&tokens.access_token, &decoding, &validation).unwrap();
        assert_eq!(data.claims["sub"], user["id"]);

        let (_, mut signature) = tokens.access_token.rsplit_once('.').map(|(a, b)| (a.to_string(), b.to_string())).unwrap();
        signature.replace_range(0..1, if signature.starts_with('A') { "B" } else { "A" });
        let forged = format!("{}.{signature}", tokens.access_token.rsplit_once('.').unwrap().0);
        assert!(jsonwebtoken::decode::<Value>(&forged, &decoding, &validation).is_err());
    }

    async fn jwks_publishes_only_public_ec_members(app) {
        let response = app.client.get(app.at("/.well-known/jwks.json")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "content-type"), "application/jwk-set+json");
        let jwks: Value = response.json().await.unwrap();
        let key = &jwks["keys"][0];
        assert_eq!((&key["kty"], &key["crv"], &key["alg"], &key["use"]), (&json!("EC"), &json!("P-256"), &json!("ES256"), &json!("sig")));
        for member in ["x", "y", "kid"] {
            assert!(key[member].as_str().is_some_and(|v| !v.is_empty()), "{member} in {key}");
        }
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{private} published: {key}");
        }
    }

    async fn signing_key_survives_a_restart(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        let kid = only_key(&app).await["kid"].clone();
        let issuer = app.url.clone();
        let restarted = app.sibling(|c| c.issuer = issuer).await;
        app.stop().await;
        assert_eq!(only_key(&restarted).await["kid"], kid);
        assert_eq!(restarted.me(&tokens.access_token).await.status(), StatusCode::OK);
    }

    async fn wrong_master_key_refuses_to_start(app) {
        let other_key = STANDARD.encode([7u8; 32]);
        let result = app.try_sibling(|c| c.master_key = Some(other_key.into())).await;
        let Err(error) = result else { panic!("start-up with the wrong master key must fail") };
        let message = format!("{error:#}");
        assert!(message.to_lowercase().contains("master key"), "{message}");
    }

    async fn private_key_is_encrypted_at_rest(app) {
        let sealed = app.db().await.blobs("select private_key_encrypted from signing_key").await;
        assert_eq!(sealed.len(), 1);
        // nonce (12) + PKCS#8 of a P-256 key from ring (138) + GCM tag (16).
        assert_eq!(sealed[0].len(), 12 + 138 + 16);
        let pkcs8_prefix = [0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13];
        assert!(!sealed[0].windows(pkcs8_prefix.len()).any(|w| w == pkcs8_prefix), "plain PKCS#8 stored");
    }

    async fn alg_none_is_rejected(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        let kid = jwt_part(&tokens.access_token, 0)["kid"].clone();
        let claims = jwt_part(&tokens.access_token, 1);
        for alg in ["none", "None", "NONE"] {
            let head = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
            assert_rejected(&app, &format!("{}.{}.", b64_json(&head), b64_json(&claims)), alg).await;
        }
    }

    async fn hs256_signed_with_the_public_key_is_rejected(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        let key = only_key(&app).await;
        let jwks_bytes = app.client.get(app.at("/.well-known/jwks.json")).send().await.unwrap().bytes().await.unwrap().to_vec();
        let claims = jwt_part(&tokens.access_token, 1);
        let mut head = Header::new(Algorithm::HS256);
        head.typ = Some("at+jwt".into());
        head.kid = key["kid"].as_str().map(String::from);
        let x = key["x"].as_str().unwrap();
        let secrets: Vec<(&str, Vec<u8>)> = vec![
            ("jwks document", jwks_bytes),
            ("jwk", serde_json::to_vec(&key).unwrap()),
            ("raw x", URL_SAFE_NO_PAD.decode(x).unwrap()),
            ("x text", x.as_bytes().to_vec()),
        ];
        for (what, secret) in secrets {
            let forged = jsonwebtoken::encode(&head, &claims, &EncodingKey::from_secret(&secret)).unwrap();
            assert_rejected(&app, &forged, what).await;
        }
    }

    async fn tampered_payload_is_rejected(app) {
        let (_, mine, _) = app.signed_in_user().await;
        let (victim, _, _) = app.signed_in_user().await;
        let mut claims = jwt_part(&mine.access_token, 1);
        claims["sub"] = victim["id"].clone();
        let parts: Vec<&str> = mine.access_token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], b64_json(&claims), parts[2]);
        assert_rejected(&app, &forged, "changed sub").await;
        assert_eq!(app.me(&mine.access_token).await.status(), StatusCode::OK);
    }

    async fn unknown_kid_is_rejected(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        let mut head = jwt_part(&tokens.access_token, 0);
        head["kid"] = json!("no-such-key");
        let parts: Vec<&str> = tokens.access_token.split('.').collect();
        assert_rejected(&app, &format!("{}.{}.{}", b64_json(&head), parts[1], parts[2]), "unknown kid").await;
        head.as_object_mut().unwrap().remove("kid");
        assert_rejected(&app, &format!("{}.{}.{}", b64_json(&head), parts[1], parts[2]), "no kid").await;
    }

    async fn tokens_of_another_issuer_are_rejected_both_ways(app) {
        let audience = app.url.clone();
        // same keys (same database) and same audience: only `iss` differs.
        let other = app
            .sibling(|c| {
                c.issuer = "http://other.example".into();
                c.tokens.audience = audience;
            })
            .await;
        let (_, ours, _) = app.signed_in_user().await;
        let (_, theirs, _) = other.signed_in_user().await;
        assert_eq!(jwt_part(&theirs.access_token, 1)["iss"], "http://other.example");
        assert_eq!(other.me(&theirs.access_token).await.status(), StatusCode::OK);
        assert_rejected(&app, &theirs.access_token, "token of the other issuer").await;
        assert_rejected(&other, &ours.access_token, "token of the first issuer").await;
    }

    async fn tokens_for_another_audience_are_rejected_both_ways(app) {
        let issuer = app.url.clone();
        // same keys and issuer: only `aud` differs.
        let other = app
            .sibling(|c| {
                c.issuer = issuer;
                c.tokens.audience = "someone-else".into();
            })
            .await;
        let (_, ours, _) = app.signed_in_user().await;
        let (_, theirs, _) = other.signed_in_user().await;
        assert_eq!(jwt_part(&theirs.access_token, 1)["aud"], "someone-else");
        assert_eq!(other.me(&theirs.access_token).await.status(), StatusCode::OK);
        assert_rejected(&app, &theirs.access_token, "token for someone-else").await;
        assert_rejected(&other, &ours.access_token, "token for the issuer").await;
    }

    async fn missing_credentials_get_a_bare_bearer_challenge(app) {
        let response = app.client.get(app.at("/api/v1/users/me")).send().await.unwrap();
        assert_eq!(header(&response, "www-authenticate"), "Bearer");
        assert_problem(response, 401, "invalid_token").await;
    }

    async fn non_bearer_authorization_is_rejected(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        for value in ["Basic dXNlcjpwYXNz".to_string(), format!("Token {}", tokens.access_token), "Bearer ".into(), tokens.access_token.clone()] {
            let response = app.client.get(app.at("/api/v1/users/me")).header("authorization", value.as_str()).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{value}");
            assert!(header(&response, "www-authenticate").starts_with("Bearer"), "{value}");
            assert_problem(response, 401, "invalid_token").await;
        }
        for garbage in ["not-a-jwt", "a.b.c", "...", "eyJhbGciOiJFUzI1NiJ9.e30."] {
            assert_rejected(&app, garbage, garbage).await;
        }
    }
}

every_engine_with! {
    async fn expired_access_token_is_rejected(app) with |c| {
        c.tokens.access_token_ttl_secs = 1;
        c.tokens.leeway_secs = 0;
    }; {
        let (_, tokens, _) = app.signed_in_user().await;
        assert_eq!(app.me(&tokens.access_token).await.status(), StatusCode::OK);
        app.advance(1);
        assert_rejected(&app, &tokens.access_token, "expired").await;
    }
}
