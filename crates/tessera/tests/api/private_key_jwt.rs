//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OIDC Core
//! §9): clients registered with a JWK Set through the real `tessera clients
//! create` binary, assertions signed here with ES256 keys made by `ring`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use reqwest::Response;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use crate::clients_cli::tessera;
use crate::every_engine;
use crate::helpers::TestApp;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An ES256 key pair, as a client keeps it.
pub(crate) struct Es256Key {
    pair: EcdsaKeyPair,
    /// The private scalar, base64url (for the JWK's `d`).
    d: String,
    kid: String,
}

impl Es256Key {
    pub(crate) fn generate(kid: &str) -> Es256Key {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("generate");
        let pkcs8 = pkcs8.as_ref();
        // ring's PKCS#8 holds an RFC 5915 ECPrivateKey: version 1 (02 01 01)
        // then the 32-byte private key as an octet string (04 20).
        let at = pkcs8
            .windows(5)
            .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
            .expect("ECPrivateKey in PKCS#8")
            + 5;
        let d = B64.encode(&pkcs8[at..at + 32]);
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng).expect("parse");
        Es256Key {
            pair,
            d,
            kid: kid.to_owned(),
        }
    }

    /// The public JWK (uncompressed point 04 || x || y split in two).
    pub(crate) fn public_jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "alg": "ES256",
            "kid": self.kid,
            "x": B64.encode(&point[1..33]),
            "y": B64.encode(&point[33..65]),
        })
    }

    /// The private JWK (public members plus `d`).
    pub(crate) fn private_jwk(&self) -> Value {
        let mut jwk = self.public_jwk();
        jwk["d"] = json!(self.d);
        jwk
    }

    /// A compact JWS of `claims` with `header`, signed with this key.
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("sign");
        format!("{input}.{}", B64.encode(signature.as_ref()))
    }
}

/// Writes `{"keys": [..]}` into the app's data directory; returns its path.
pub(crate) fn write_jwks(app: &TestApp, name: &str, keys: &[&Es256Key]) -> String {
    let jwks = json!({ "keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() });
    let path = std::path::Path::new(&app.config.data_dir).join(name);
    std::fs::write(&path, jwks.to_string()).expect("write jwks");
    path.to_str().expect("utf-8 path").to_owned()
}

/// Registers a client_credentials client that authenticates with
/// `private_key_jwt` and `key`; returns its id.
async fn jwt_client(app: &TestApp, key: &Es256Key) -> String {
    let jwks = write_jwks(app, &format!("jwks-{}.json", key.kid), &[key]);
    let out = tessera(
        app,
        &[
            "clients",
            "create",
            "--name",
            "Signer",
            "--json",
            "--type",
            "confidential",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "invoices:read",
            "--auth-method",
            "private_key_jwt",
            "--jwks",
            &jwks,
        ],
    )
    .await
    .json();
    assert!(out.get("client_secret").is_none_or(Value::is_null), "{out}");
    out["client_id"].as_str().expect("client_id").to_owned()
}

/// The server's now, seconds (its clock is the test's).
fn now(app: &TestApp) -> i64 {
    tessera_core::Clock::now(app.clock.as_ref()).timestamp()
}

/// Claims of a valid assertion of `client_id` for `aud`.
fn claims(app: &TestApp, client_id: &str, aud: &str) -> Value {
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now(app),
        "exp": now(app) + 60,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

fn es256_header(key: &Es256Key) -> Value {
    json!({ "alg": "ES256", "typ": "JWT", "kid": key.kid })
}

/// POSTs a form carrying `assertion` (plus `extra` fields) to `path`.
async fn post_assertion(app: &TestApp, path: &str, assertion: &str, extra: &[(&str, &str)]) -> Response {
    let mut form = vec![
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    app.client
        .post(app.at(path))
        .form(&form)
        .send()
        .await
        .expect("request")
}

async fn token_with(app: &TestApp, assertion: &str, extra: &[(&str, &str)]) -> Response {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    post_assertion(app, "/oauth2/token", assertion, &form).await
}

async fn assert_invalid_client(response: Response, case: &str) {
    assert_eq!(response.status().as_u16(), 401, "{case}");
    let body: Value = response.json().await.expect("oauth error json");
    assert_eq!(body["error"], "invalid_client", "{case}: {body}");
}

/// A named refusal case: the assertion and extra form fields.
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

every_engine! {
    async fn a_valid_assertion_gets_a_token_once_and_its_replay_is_invalid_client(app) {
        let key = Es256Key::generate("k1");
        let client_id = jwt_client(&app, &key).await;
        let aud = format!("{}/oauth2/token", app.url);
        let assertion = key.sign(&es256_header(&key), &claims(&app, &client_id, &aud));

        let response = token_with(&app, &assertion, &[("client_id", &client_id)]).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("token json");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "invoices:read");
        assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()), "{body}");

        assert_invalid_client(token_with(&app, &assertion, &[]).await, "replay").await;

        // A fresh assertion (new jti) with the issuer as audience, no kid
        // and no client_id works again.
        let mut fresh = claims(&app, &client_id, &app.url);
        fresh["aud"] = json!([app.url]);
        let response = token_with(&app, &key.sign(&json!({"alg": "ES256"}), &fresh), &[]).await;
        assert_eq!(response.status(), 200);
    }

    async fn assertions_breaking_any_rule_are_invalid_client(app) {
        let key = Es256Key::generate("k1");
        let client_id = jwt_client(&app, &key).await;
        let stranger = Es256Key::generate("k1");
        let aud = format!("{}/oauth2/token", app.url);
        let header = es256_header(&key);
        let valid = || claims(&app, &client_id, &aud);
        let with = |name: &str, value: Value| {
            let mut c = valid();
            c[name] = value;
            c
        };
        let without = |name: &str| {
            let mut c = valid();
            c.as_object_mut().expect("claims").remove(name);
            c
        };
        let unsigned = format!(
            "{}.{}.",
            B64.encode(json!({"alg": "none"}).to_string()),
            B64.encode(valid().to_string())
        );
        let hs256 = format!(
            "{}.{}.{}",
            B64.encode(json!({"alg": "HS256"}).to_string()),
            B64.encode(valid().to_string()),
            B64.encode([0u8; 32])
        );
        let other_id = uuid::Uuid::now_v7().to_string();
        let cases: Vec<Case> = vec![
            ("signed with another key", stranger.sign(&header, &valid()), vec![]),
            ("wrong audience", key.sign(&header, &with("aud", json!("https://elsewhere.example.com"))), vec![]),
            ("expired", key.sign(&header, &with("exp", json!(now(&app) - 120))), vec![]),
            ("expires too late", key.sign(&header, &with("exp", json!(now(&app) + 3600))), vec![]),
            ("no jti", key.sign(&header, &without("jti")), vec![]),
            ("no exp", key.sign(&header, &without("exp")), vec![]),
            ("iss is not sub", key.sign(&header, &with("sub", json!(other_id))), vec![]),
            ("alg none", unsigned, vec![]),
            ("alg HS256", hs256, vec![]),
            ("unknown kid", key.sign(&json!({"alg": "ES256", "kid": "nope"}), &valid()), vec![]),
            ("client_id is not iss", key.sign(&header, &valid()), vec![("client_id", other_id.as_str())]),
            ("crit names an unknown extension", key.sign(&with_crit(&header, json!(["urn:example:must-check"])), &valid()), vec![]),
            ("crit is empty", key.sign(&with_crit(&header, json!([])), &valid()), vec![]),
        ];
        for (case, assertion, extra) in cases {
            assert_invalid_client(token_with(&app, &assertion, &extra).await, case).await;
        }
        let response = app
            .client
            .post(app.at("/oauth2/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:example:other"),
                ("client_assertion", key.sign(&header, &valid()).as_str()),
            ])
            .send()
            .await
            .expect("request");
        assert_invalid_client(response, "wrong assertion type").await;
        // None of the refusals spent the jti of a valid assertion.
        let response = token_with(&app, &key.sign(&header, &valid()), &[]).await;
        assert_eq!(response.status(), 200);
    }

    async fn an_assertion_from_a_client_secret_basic_client_is_invalid_client(app) {
        let key = Es256Key::generate("k1");
        let out = tessera(
            &app,
            &[
                "clients", "create", "--name", "Basic", "--json", "--type", "confidential",
                "--grant-types", "client_credentials", "--scopes", "invoices:read",
                "--auth-method", "client_secret_basic",
            ],
        )
        .await
        .json();
        let client_id = out["client_id"].as_str().expect("client_id");
        let aud = format!("{}/oauth2/token", app.url);
        let assertion = key.sign(&es256_header(&key), &claims(&app, client_id, &aud));
        assert_invalid_client(token_with(&app, &assertion, &[]).await, "secret client").await;
    }

    async fn introspection_and_revocation_accept_assertions(app) {
        let key = Es256Key::generate("k1");
        let client_id = jwt_client(&app, &key).await;
        let token_aud = format!("{}/oauth2/token", app.url);
        let response = token_with(&app, &key.sign(&es256_header(&key), &claims(&app, &client_id, &token_aud)), &[]).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("token json");
        let access_token = body["access_token"].as_str().expect("access_token");

        let introspect_aud = format!("{}/oauth2/introspect", app.url);
        let assertion = key.sign(&es256_header(&key), &claims(&app, &client_id, &introspect_aud));
        let response = post_assertion(&app, "/oauth2/introspect", &assertion, &[("token", access_token)]).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("introspection json");
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["client_id"], client_id.as_str());

        // The token endpoint is an audience every endpoint accepts.
        let assertion = key.sign(&es256_header(&key), &claims(&app, &client_id, &token_aud));
        let response = post_assertion(&app, "/oauth2/revoke", &assertion, &[("token", access_token)]).await;
        assert_eq!(response.status(), 200);

        // The revocation endpoint is not an audience of introspection.
        let revoke_aud = format!("{}/oauth2/revoke", app.url);
        let assertion = key.sign(&es256_header(&key), &claims(&app, &client_id, &revoke_aud));
        let response = post_assertion(&app, "/oauth2/introspect", &assertion, &[("token", access_token)]).await;
        assert_invalid_client(response, "revocation audience at introspection").await;

        let assertion = key.sign(&es256_header(&key), &claims(&app, &client_id, &introspect_aud));
        let response = post_assertion(&app, "/oauth2/introspect", &assertion, &[("token", access_token)]).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("introspection json");
        assert_eq!(body, json!({"active": false}));
    }
}

/// `header` plus a `crit` parameter (RFC 7515 §4.1.11) and the extension
/// it names.
fn with_crit(header: &Value, crit: Value) -> Value {
    let mut header = header.clone();
    header["crit"] = crit;
    header["urn:example:must-check"] = json!(true);
    header
}
