//! Keys, tokens and a JWKS stub for the tests.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use tessera_guard::{Guard, GuardConfig};

/// A signing key of the kind Tessera uses, with its public JWK.
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    encoding: EncodingKey,
    pub jwk: Value,
}

impl TestKey {
    /// A fresh P-256 key (ES256).
    pub fn es256(kid: &str) -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap();
        let point = pair.public_key().as_ref();
        TestKey {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65]),
                "kid": kid, "alg": "ES256", "use": "sig"
            }),
        }
    }

    /// A fresh Ed25519 key (EdDSA).
    pub fn ed25519(kid: &str) -> TestKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        TestKey {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "OKP", "crv": "Ed25519", "x": B64.encode(pair.public_key().as_ref()),
                "kid": kid, "alg": "EdDSA", "use": "sig"
            }),
        }
    }

    /// A fresh 2048-bit RSA key (RS256).
    pub fn rs256(kid: &str) -> TestKey {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let der = key.to_pkcs1_der().unwrap();
        TestKey {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk: json!({
                "kty": "RSA", "n": B64.encode(key.n().to_bytes_be()), "e": B64.encode(key.e().to_bytes_be()),
                "kid": kid, "alg": "RS256", "use": "sig"
            }),
        }
    }

    /// `claims` signed as an access token (`typ: at+jwt`, this key's kid).
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_typ(Some("at+jwt"), claims)
    }

    /// `claims` signed with another `typ` header (or none).
    pub fn sign_typ(&self, typ: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.typ = typ.map(str::to_string);
        header.kid = Some(self.kid.clone());
        self.sign_with(&header, claims)
    }

    /// `claims` signed with this key under an arbitrary `header`.
    pub fn sign_with(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding).unwrap()
    }

    /// The same key pair published under another kid (a token signed with
    /// it names a kid the JWKS does not have).
    pub fn with_kid(&self, kid: &str) -> TestKey {
        let mut jwk = self.jwk.clone();
        jwk["kid"] = json!(kid);
        TestKey {
            kid: kid.into(),
            alg: self.alg,
            encoding: self.encoding.clone(),
            jwk,
        }
    }
}

/// Seconds since the epoch, by the clock the guard checks `exp` and `nbf`
/// with (jsonwebtoken's: the guard verifies against the wall clock).
pub fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// The claims of a Tessera user token of `issuer`, valid for 5 minutes,
/// with role `admin` and the permissions `audit:read` and `user:*`.
pub fn claims(issuer: &str) -> Value {
    let now = now();
    json!({
        "iss": issuer,
        "sub": "0192f5a0-0000-7000-8000-000000000001",
        "aud": issuer,
        "exp": now + 300,
        "iat": now,
        "nbf": now,
        "jti": "0192f5a0-0000-7000-8000-00000000beef",
        "client_id": "tessera",
        "sid": "0192f5a0-0000-7000-8000-0000000000aa",
        "scope": "openid email",
        "tid": "0192f5a0-0000-7000-8000-0000000000ff",
        "email": "ada@example.com",
        "roles": ["admin"],
        "permissions": ["audit:read", "user:*"]
    })
}

/// A JWKS server on 127.0.0.1:0 that counts its requests and can be made
/// to fail. Its URL is the issuer, so the default JWKS path applies.
pub struct Stub {
    pub url: String,
    state: StubState,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct StubState {
    jwks: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Stub {
    /// Serves `keys`.
    pub async fn start(keys: &[&TestKey]) -> Stub {
        let state = StubState {
            jwks: Arc::new(Mutex::new(jwks(keys))),
            hits: Arc::new(AtomicUsize::new(0)),
            failing: Arc::new(AtomicBool::new(false)),
        };
        let app = Router::new()
            .route("/.well-known/jwks.json", get(serve_jwks))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Stub { url, state, task }
    }

    /// Publishes `keys` instead (a key rotation).
    pub fn publish(&self, keys: &[&TestKey]) {
        *self.state.jwks.lock().unwrap() = jwks(keys);
    }

    /// How many times the JWKS was requested.
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Makes the JWKS answer 500 (or recover).
    pub fn fail(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    /// The defaults for this issuer.
    pub fn config(&self) -> GuardConfig {
        GuardConfig::new(self.url.clone())
    }

    /// A guard with the defaults for this issuer.
    pub fn guard(&self) -> Guard {
        Guard::new(self.config()).unwrap()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|key| key.jwk.clone()).collect::<Vec<_>>() })
}

async fn serve_jwks(State(state): State<StubState>) -> Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    if state.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let body = state.jwks.lock().unwrap().clone();
    Json(body).into_response()
}

/// An issuer URL where nothing listens.
pub async fn dead_issuer() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A compact JWS with the given raw header and claims and `signature`
/// (for hand-made attacks such as `alg: none`).
pub fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string()),
        B64.encode(signature)
    )
}
