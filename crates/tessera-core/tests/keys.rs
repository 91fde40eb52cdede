//! Signing-key rotation with an injected clock: publication, activation and
//! retirement are tested by moving time, not by sleeping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::Duration;
use serde_json::Value;
use tessera_core::jwt::{self, Expectations};
use tessera_core::{
    retention_secs, AccessClaims, AuthError, AuthService, Clock, KeyRing, KeyStatus, LoginRequest,
    ManualClock, SigningAlg, TokenSettings,
};
use uuid::Uuid;

mod common;

use common::{test_service, ISSUER, PASSWORD};

const CACHE_TTL_SECS: u64 = 5;

struct Harness {
    service: AuthService,
    keys: Arc<KeyRing>,
    clock: Arc<ManualClock>,
    tenant_id: Uuid,
}

async fn harness() -> Harness {
    let started = test_service(TokenSettings::default(), CACHE_TTL_SECS).await;
    let tenant_id = started.service.tenant().tenant_id;
    Harness {
        service: started.service,
        keys: started.keys,
        clock: started.clock,
        tenant_id,
    }
}

impl Harness {
    async fn access_token(&self) -> String {
        self.service
            .login(LoginRequest {
                identifier: "ada@example.com".into(),
                password: PASSWORD.into(),
                ip: None,
                user_agent: None,
            })
            .await
            .unwrap()
            .access_token
    }

    async fn jwks_kids(&self) -> Vec<String> {
        let jwks = self.service.jwks().await.unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Verifies `token` as a relying party would: by its kid, against the
    /// key ring at the clock's time.
    async fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let now = self.clock.now();
        let (kid, _) = jwt::peek_header(token)?;
        let key = self
            .keys
            .verification_key(self.tenant_id, &kid, now)
            .await?
            .ok_or(AuthError::InvalidToken("unknown key"))?;
        jwt::verify_access_token(
            token,
            &key,
            &Expectations {
                issuer: ISSUER,
                audience: Some(ISSUER),
                // The tokens' own expiry is not what these tests are about.
                leeway_secs: 1_000_000,
                now: now.timestamp(),
            },
        )
    }
}

fn kid_of(token: &str) -> String {
    jwt::peek_header(token).unwrap().0
}

fn retention() -> u64 {
    retention_secs(&TokenSettings::default(), [])
}

#[tokio::test]
async fn rotated_key_is_published_at_once_but_signs_only_after_activation() {
    let h = harness().await;
    let old_kid = kid_of(&h.access_token().await);
    let new = h
        .keys
        .rotate(h.tenant_id, SigningAlg::ES256, 600, retention(), h.clock.now())
        .await
        .unwrap();

    assert!(h.jwks_kids().await.contains(&new.kid));
    assert!(h.jwks_kids().await.contains(&old_kid));
    assert_eq!(kid_of(&h.access_token().await), old_kid);

    h.clock.advance(Duration::seconds(599));
    assert_eq!(kid_of(&h.access_token().await), old_kid);

    h.clock.advance(Duration::seconds(1));
    assert_eq!(kid_of(&h.access_token().await), new.kid);
}

#[tokio::test]
async fn old_key_verifies_until_its_not_after_and_is_refused_after() {
    let h = harness().await;
    let old_token = h.access_token().await;
    let old_kid = kid_of(&old_token);
    let new = h
        .keys
        .rotate(h.tenant_id, SigningAlg::ES256, 60, retention(), h.clock.now())
        .await
        .unwrap();
    let listed = h.keys.list(h.tenant_id, h.clock.now()).await.unwrap();
    let old_info = listed.iter().find(|k| k.kid == old_kid).unwrap();
    let not_after = old_info.not_after.unwrap();
    // Successor's activation + cache TTL + longest token lifetime + leeway.
    let expected_secs = 60 + CACHE_TTL_SECS + TokenSettings::default().access_token_ttl_secs + 30;
    assert_eq!(
        not_after,
        new.created_at + Duration::seconds(i64::try_from(expected_secs).unwrap())
    );

    h.clock.advance(Duration::seconds(61));
    assert_eq!(kid_of(&h.access_token().await), new.kid);
    let statuses: Vec<_> = h
        .keys
        .list(h.tenant_id, h.clock.now())
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kid, k.state))
        .collect();
    assert!(statuses.contains(&(old_kid.clone(), KeyStatus::Retired)));
    assert!(statuses.contains(&(new.kid.clone(), KeyStatus::Active)));
    h.verify(&old_token).await.unwrap();

    h.clock
        .advance(not_after - h.clock.now() - Duration::milliseconds(1));
    h.verify(&old_token).await.unwrap();
    assert!(h.jwks_kids().await.contains(&old_kid));

    h.clock.advance(Duration::milliseconds(1));
    assert!(matches!(
        h.verify(&old_token).await,
        Err(AuthError::InvalidToken("unknown key"))
    ));
    assert_eq!(h.jwks_kids().await, vec![new.kid]);
}

#[tokio::test]
async fn rs256_es256_and_eddsa_keys_sign_side_by_side() {
    let h = harness().await;
    let now = h.clock.now();
    for alg in [SigningAlg::RS256, SigningAlg::EdDSA] {
        h.keys
            .rotate(h.tenant_id, alg, 0, retention(), now)
            .await
            .unwrap();
    }
    // The default (ES256) still signs access tokens; no ES256 key retired.
    let es_kid = kid_of(&h.access_token().await);
    assert_eq!(h.jwks_kids().await.len(), 3);
    for alg in SigningAlg::ALL {
        let key = h.keys.signing_key_for(h.tenant_id, alg, now).await.unwrap();
        assert_eq!(key.alg, alg);
        let claims = AccessClaims {
            iss: ISSUER.into(),
            sub: Uuid::new_v4().to_string(),
            aud: ISSUER.into(),
            exp: now.timestamp() + 60,
            iat: now.timestamp(),
            nbf: Some(now.timestamp()),
            jti: Uuid::new_v4().to_string(),
            client_id: "tessera".into(),
            sid: Some(Uuid::new_v4()),
            scope: None,
            tid: h.tenant_id,
            email: None,
            roles: vec!["user".into()],
            permissions: Some(vec![]),
        };
        let token = jwt::sign(&key, jwt::ACCESS_TOKEN_TYP, &claims).unwrap();
        let header: Value =
            serde_json::from_slice(&base64_url_decode(token.split('.').next().unwrap())).unwrap();
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(h.verify(&token).await.unwrap(), claims);
        if alg == SigningAlg::ES256 {
            assert_eq!(key.kid, es_kid);
        }
    }
}

#[tokio::test]
async fn rsa_jwk_has_only_public_members() {
    let h = harness().await;
    let new = h
        .keys
        .rotate(h.tenant_id, SigningAlg::RS256, 0, retention(), h.clock.now())
        .await
        .unwrap();
    let jwks = h.service.jwks().await.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == new.kid.as_str())
        .unwrap()
        .clone();
    let mut members: Vec<&str> = jwk.as_object().unwrap().keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["e"], "AQAB");
    let n = base64_url_decode(jwk["n"].as_str().unwrap());
    assert_eq!(n.len(), 256, "2048-bit modulus without a leading zero");
    assert_ne!(n[0], 0);
}

#[tokio::test]
async fn signing_with_an_algorithm_without_a_key_is_an_error() {
    let h = harness().await;
    assert!(h
        .keys
        .signing_key_for(h.tenant_id, SigningAlg::RS256, h.clock.now())
        .await
        .is_err());
}

fn base64_url_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}
