//! What `Guard::verify` accepts and refuses.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tessera_guard::GuardError;

use crate::support::{claims, now, raw_token, Stub, TestKey};

fn reason(result: Result<tessera_guard::Claims, GuardError>) -> &'static str {
    match result {
        Err(GuardError::InvalidToken(reason)) => reason,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_token_yields_its_claims() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let token = key.sign(&claims(&stub.url));

    let verified = stub.guard().verify(&token).await.unwrap();

    assert_eq!(verified.iss, stub.url);
    assert_eq!(verified.sub, "0192f5a0-0000-7000-8000-000000000001");
    assert_eq!(verified.client_id, "tessera");
    assert_eq!(verified.tid.to_string(), "0192f5a0-0000-7000-8000-0000000000ff");
    assert_eq!(verified.email.as_deref(), Some("ada@example.com"));
    assert_eq!(verified.roles, ["admin"]);
    assert!(verified.has_permission("user:delete"));
    assert!(!verified.has_permission("client:delete"));
    assert_eq!(verified.scopes().collect::<Vec<_>>(), ["openid", "email"]);
}

#[tokio::test]
async fn eddsa_and_rs256_tokens_are_accepted() {
    let ed = TestKey::ed25519("ed");
    let rs = TestKey::rs256("rs");
    let stub = Stub::start(&[&ed, &rs]).await;
    let guard = stub.guard();

    assert!(guard.verify(&ed.sign(&claims(&stub.url))).await.is_ok());
    assert!(guard.verify(&rs.sign(&claims(&stub.url))).await.is_ok());
}

#[tokio::test]
async fn a_client_credentials_token_without_user_claims_is_accepted() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let mut body = claims(&stub.url);
    for name in ["sid", "email", "roles", "permissions", "scope"] {
        body.as_object_mut().unwrap().remove(name);
    }
    body["sub"] = json!("reporting-job");
    body["client_id"] = json!("reporting-job");

    let verified = stub.guard().verify(&key.sign(&body)).await.unwrap();

    assert!(verified.roles.is_empty());
    assert_eq!(verified.permissions, None);
    assert_eq!(verified.sid, None);
}

#[tokio::test]
async fn an_expired_token_is_refused_beyond_the_leeway_only() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let guard = stub.guard();
    let mut expired = claims(&stub.url);
    expired["exp"] = json!(now() - 120);
    let mut within_leeway = claims(&stub.url);
    within_leeway["exp"] = json!(now() - 10);

    assert_eq!(reason(guard.verify(&key.sign(&expired)).await), "expired");
    assert!(guard.verify(&key.sign(&within_leeway)).await.is_ok());
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let mut body = claims(&stub.url);
    body["nbf"] = json!(now() + 600);

    assert_eq!(
        reason(stub.guard().verify(&key.sign(&body)).await),
        "not yet valid"
    );
}

#[tokio::test]
async fn a_token_of_another_issuer_is_refused() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let mut body = claims(&stub.url);
    body["iss"] = json!(format!("{}/t/other", stub.url));

    assert_eq!(
        reason(stub.guard().verify(&key.sign(&body)).await),
        "wrong issuer"
    );
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_unless_configured() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let mut body = claims(&stub.url);
    body["aud"] = json!("https://billing.example.com");
    let token = key.sign(&body);

    assert_eq!(reason(stub.guard().verify(&token).await), "wrong audience");
    let billing = tessera_guard::Guard::new(stub.config().audience("https://billing.example.com")).unwrap();
    assert!(billing.verify(&token).await.is_ok());
}

#[tokio::test]
async fn only_the_access_token_typ_is_accepted() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let guard = stub.guard();
    let body = claims(&stub.url);

    assert_eq!(
        reason(guard.verify(&key.sign_typ(Some("JWT"), &body)).await),
        "wrong typ"
    );
    assert_eq!(
        reason(guard.verify(&key.sign_typ(None, &body)).await),
        "wrong typ"
    );
    assert!(guard
        .verify(&key.sign_typ(Some("application/at+jwt"), &body))
        .await
        .is_ok());
    assert!(guard.verify(&key.sign_typ(Some("AT+JWT"), &body)).await.is_ok());
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let header = json!({"alg": "none", "typ": "at+jwt", "kid": "k1"});

    let unsigned = raw_token(&header, &claims(&stub.url), b"");
    let unsigned_without_dot = unsigned.trim_end_matches('.').to_string();

    assert!(matches!(
        stub.guard().verify(&unsigned).await,
        Err(GuardError::InvalidToken(_))
    ));
    assert!(matches!(
        stub.guard().verify(&unsigned_without_dot).await,
        Err(GuardError::InvalidToken(_))
    ));
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let guard = stub.guard();
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("k1".into());
    // Every form of the public key an attacker could try as the HMAC secret.
    let secrets = [
        key.jwk.to_string(),
        key.jwk["x"].as_str().unwrap().to_string(),
        format!(
            "{}{}",
            key.jwk["x"].as_str().unwrap(),
            key.jwk["y"].as_str().unwrap()
        ),
    ];

    for secret in secrets {
        let forged = jsonwebtoken::encode(
            &header,
            &claims(&stub.url),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        assert_eq!(reason(guard.verify(&forged).await), "wrong algorithm");
    }
}

#[tokio::test]
async fn a_symmetric_key_in_the_jwks_is_never_used() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let mut hmac = key.with_kid("hmac");
    hmac.jwk = json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"});
    stub.publish(&[&key, &hmac]);
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("hmac".into());
    let forged =
        jsonwebtoken::encode(&header, &claims(&stub.url), &EncodingKey::from_secret(b"secret")).unwrap();

    assert_eq!(reason(stub.guard().verify(&forged).await), "unknown key");
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_a_published_kid_is_refused() {
    let published = TestKey::es256("k1");
    let impostor = TestKey::es256("k1");
    let stub = Stub::start(&[&published]).await;

    let forged = impostor.sign(&claims(&stub.url));

    assert_eq!(reason(stub.guard().verify(&forged).await), "bad signature");
}

#[tokio::test]
async fn a_tampered_payload_is_refused() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let token = key.sign(&claims(&stub.url));
    let mut elevated = claims(&stub.url);
    elevated["permissions"] = json!(["*"]);
    let forged_payload = raw_token(&json!({}), &elevated, b"");
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        forged_payload.split('.').nth(1).unwrap(),
        parts[2]
    );

    assert_eq!(reason(stub.guard().verify(&tampered).await), "bad signature");
}

#[tokio::test]
async fn garbage_and_kidless_tokens_are_refused() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let guard = stub.guard();
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    let kidless = key.sign_with(&header, &claims(&stub.url));

    assert_eq!(reason(guard.verify("not-a-jwt").await), "malformed");
    assert_eq!(reason(guard.verify("").await), "malformed");
    assert_eq!(reason(guard.verify(&kidless).await), "no kid");
    assert_eq!(
        stub.hits(),
        0,
        "nothing is fetched for tokens refused before the key lookup"
    );
}

#[tokio::test]
async fn a_token_missing_required_claims_is_refused() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let mut body = claims(&stub.url);
    body.as_object_mut().unwrap().remove("tid");

    assert_eq!(reason(stub.guard().verify(&key.sign(&body)).await), "malformed");
}
