//! The client registry over a real (SQLite) store with an injected clock:
//! registration, secret checks, rotation, deletion, and visibility of
//! clients registered by another process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::Duration;
use tessera_core::clients::CLIENT_CACHE_TTL_SECS;
use tessera_core::{
    AuthError, ClientAuthEndpoint, ClientAuthSettings, ClientRefusal, ClientService, Clock, ManualClock,
    NewClient, PresentedClient,
};
use tessera_store::prelude::*;
use tessera_store::{ClientType, TokenEndpointAuthMethod};

async fn store() -> Arc<dyn Store> {
    let store = tessera_sqlite::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
}

fn settings() -> ClientAuthSettings {
    ClientAuthSettings {
        issuer: "https://id.example.com".into(),
        leeway_secs: 30,
        api_audience: "https://id.example.com".into(),
    }
}

fn confidential() -> NewClient {
    NewClient {
        name: "Billing".into(),
        client_type: "confidential".into(),
        redirect_uris: vec!["https://billing.example.com/cb".into()],
        grant_types: vec!["authorization_code".into(), "client_credentials".into()],
        scopes: vec!["invoices:read".into()],
        ..NewClient::default()
    }
}

#[tokio::test]
async fn a_confidential_client_gets_a_secret_that_authenticates_and_is_stored_hashed() {
    let store = store().await;
    let clients = ClientService::start(store.clone(), Arc::new(ManualClock::starting_now()), settings())
        .await
        .unwrap();
    let registered = clients.create(confidential()).await.unwrap();
    let secret = registered.secret.expect("confidential clients get a secret");
    assert_eq!(secret.expose().len(), 43, "256 bits, base64url");
    let id = registered.client.client_id.to_string();

    let stored = clients.get(registered.client.client_id).await.unwrap();
    assert_eq!(stored.secret_hash.as_deref().map(str::len), Some(64));
    assert_ne!(stored.secret_hash.as_deref(), Some(secret.expose()));

    let client = clients.authenticate_secret(&id, secret.expose()).await.unwrap();
    assert_eq!(client.client_id, registered.client.client_id);
    for (client_id, presented, why) in [
        (id.as_str(), "wrong", ClientRefusal::WrongSecret),
        (id.as_str(), "", ClientRefusal::WrongSecret),
        ("not-a-uuid", secret.expose(), ClientRefusal::UnknownClient),
        (
            "01890000-0000-7000-8000-000000000000",
            secret.expose(),
            ClientRefusal::UnknownClient,
        ),
    ] {
        match clients.authenticate_secret(client_id, presented).await {
            Err(AuthError::InvalidClient(refusal)) => assert_eq!(refusal, why, "{client_id} / {presented}"),
            other => panic!("{client_id} / {presented}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_public_client_has_no_secret_and_never_authenticates_with_one() {
    let clients = ClientService::start(store().await, Arc::new(ManualClock::starting_now()), settings())
        .await
        .unwrap();
    let registered = clients
        .create(NewClient {
            client_type: "public".into(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            ..confidential()
        })
        .await
        .unwrap();
    assert!(registered.secret.is_none());
    assert_eq!(registered.client.client_type, ClientType::Public);
    assert_eq!(
        registered.client.token_endpoint_auth_method,
        TokenEndpointAuthMethod::None
    );
    let id = registered.client.client_id.to_string();
    assert!(matches!(
        clients.authenticate_secret(&id, "").await,
        Err(AuthError::InvalidClient(ClientRefusal::MethodMismatch {
            registered: TokenEndpointAuthMethod::None,
            ..
        }))
    ));
    assert!(matches!(
        clients.rotate_secret(registered.client.client_id).await,
        Err(AuthError::Validation(v)) if v[0].rule == "no_secret"
    ));
}

#[tokio::test]
async fn rotation_keeps_the_current_secret_valid_and_drops_the_one_before() {
    let clock = Arc::new(ManualClock::starting_now());
    let clients = ClientService::start(store().await, clock.clone(), settings())
        .await
        .unwrap();
    let registered = clients.create(confidential()).await.unwrap();
    let id = registered.client.client_id;
    let first = registered.secret.unwrap();

    clock.advance(Duration::minutes(1));
    let second = clients.rotate_secret(id).await.unwrap();
    assert_ne!(first, second);
    for s in [&first, &second] {
        clients
            .authenticate_secret(&id.to_string(), s.expose())
            .await
            .expect("both secrets valid during the rotation");
    }
    assert_eq!(clients.get(id).await.unwrap().updated_at, clock.now());

    let third = clients.rotate_secret(id).await.unwrap();
    assert!(matches!(
        clients.authenticate_secret(&id.to_string(), first.expose()).await,
        Err(AuthError::InvalidClient(ClientRefusal::WrongSecret))
    ));
    for s in [&second, &third] {
        clients
            .authenticate_secret(&id.to_string(), s.expose())
            .await
            .expect("current and previous valid");
    }
}

#[tokio::test]
async fn deleted_and_unknown_clients_are_not_found() {
    let clients = ClientService::start(store().await, Arc::new(ManualClock::starting_now()), settings())
        .await
        .unwrap();
    let registered = clients.create(confidential()).await.unwrap();
    let id = registered.client.client_id;
    clients.delete(id).await.unwrap();
    assert!(matches!(clients.get(id).await, Err(AuthError::NotFound)));
    assert!(matches!(clients.delete(id).await, Err(AuthError::NotFound)));
    assert!(matches!(
        clients.rotate_secret(id).await,
        Err(AuthError::NotFound)
    ));
    assert!(matches!(
        clients
            .authenticate_secret(&id.to_string(), registered.secret.unwrap().expose())
            .await,
        Err(AuthError::InvalidClient(ClientRefusal::UnknownClient))
    ));
    assert!(clients.list().await.unwrap().is_empty());
}

/// Two services on one database, like a running server and the CLI: a
/// client registered through one is seen by the other at once.
#[tokio::test]
async fn a_client_registered_elsewhere_is_usable_at_once() {
    let path = std::env::temp_dir().join(format!("tessera-clients-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}", path.display());
    let clock = Arc::new(ManualClock::starting_now());
    let open = || async {
        let store = tessera_sqlite::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        ClientService::start(store, clock.clone(), settings())
            .await
            .unwrap()
    };
    let server = open().await;
    assert!(server.list().await.unwrap().is_empty());

    let cli = open().await;
    let registered = cli.create(confidential()).await.unwrap();
    let id = registered.client.client_id;

    let listed = server.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].client_id, id);
    server
        .authenticate_secret(&id.to_string(), registered.secret.unwrap().expose())
        .await
        .expect("the server sees the new client without a restart");

    let rotated = cli.rotate_secret(id).await.unwrap();
    server
        .authenticate_secret(&id.to_string(), rotated.expose())
        .await
        .expect("and its rotated secret");
    cli.delete(id).await.unwrap();
    assert!(matches!(server.get(id).await, Err(AuthError::NotFound)));

    drop((server, cli));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// `authenticate` (the OAuth endpoints' check) accepts only the registered
/// method, and never a method without a secret.
#[tokio::test]
async fn authenticate_requires_the_registered_method() {
    let clients = ClientService::start(store().await, Arc::new(ManualClock::starting_now()), settings())
        .await
        .unwrap();
    let registered = clients.create(confidential()).await.unwrap();
    let presented = |method| PresentedClient {
        client_id: registered.client.client_id.to_string(),
        secret: registered.secret.as_ref().map(|s| s.expose().to_owned()),
        method,
    };
    let client = clients
        .authenticate(&presented(TokenEndpointAuthMethod::ClientSecretBasic))
        .await
        .expect("registered method");
    assert_eq!(client.client_id, registered.client.client_id);
    assert!(matches!(
        clients
            .authenticate(&presented(TokenEndpointAuthMethod::ClientSecretPost))
            .await,
        Err(AuthError::InvalidClient(ClientRefusal::MethodMismatch {
            registered: TokenEndpointAuthMethod::ClientSecretBasic,
            used: TokenEndpointAuthMethod::ClientSecretPost,
        }))
    ));
    for method in [
        TokenEndpointAuthMethod::PrivateKeyJwt,
        TokenEndpointAuthMethod::None,
    ] {
        assert!(matches!(
            clients.authenticate(&presented(method)).await,
            Err(AuthError::InvalidClient(_))
        ));
    }
}

/// Two services on one database, like a running server and the CLI: the
/// server's cache finds a new client and a rotated secret at once, and lets
/// a client deleted elsewhere go within `CLIENT_CACHE_TTL_SECS`.
#[tokio::test]
async fn the_client_cache_sees_new_clients_at_once_and_deletions_within_its_ttl() {
    let path = std::env::temp_dir().join(format!("tessera-client-cache-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}", path.display());
    let clock = Arc::new(ManualClock::starting_now());
    let open = || async {
        let store = tessera_sqlite::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        ClientService::start(store, clock.clone(), settings())
            .await
            .unwrap()
    };
    let server = open().await;
    let cli = open().await;
    let registered = cli.create(confidential()).await.unwrap();
    let id = registered.client.client_id;
    let basic = |secret: &str| PresentedClient {
        client_id: id.to_string(),
        secret: Some(secret.to_owned()),
        method: TokenEndpointAuthMethod::ClientSecretBasic,
    };
    let first = registered.secret.unwrap();
    server
        .authenticate(&basic(first.expose()))
        .await
        .expect("new client found at once");

    let second = cli.rotate_secret(id).await.unwrap();
    server
        .authenticate(&basic(second.expose()))
        .await
        .expect("rotated secret at once");

    cli.delete(id).await.unwrap();
    server
        .authenticate(&basic(second.expose()))
        .await
        .expect("still cached right after a deletion elsewhere");
    clock.advance(Duration::seconds(i64::try_from(CLIENT_CACHE_TTL_SECS).unwrap()));
    assert!(matches!(
        server.authenticate(&basic(second.expose())).await,
        Err(AuthError::InvalidClient(_))
    ));

    drop((server, cli));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// An ES256 key pair and a signer of client assertions with it.
struct AssertionSigner {
    pair: ring::signature::EcdsaKeyPair,
}

impl AssertionSigner {
    fn generate() -> AssertionSigner {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        AssertionSigner { pair }
    }

    fn jwks(&self) -> serde_json::Value {
        use ring::signature::KeyPair;
        let point = self.pair.public_key().as_ref();
        serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": "k1",
            "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65]),
        }]})
    }

    fn sign(&self, claims: serde_json::Value) -> String {
        let header = serde_json::json!({"alg": "ES256", "kid": "k1"});
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", B64.encode(signature.as_ref()))
    }
}

#[tokio::test]
async fn a_client_assertion_works_once_and_only_until_it_expires() {
    let clock = Arc::new(ManualClock::starting_now());
    let clients = ClientService::start(store().await, clock.clone(), settings())
        .await
        .unwrap();
    let signer = AssertionSigner::generate();
    let registered = clients
        .create(NewClient {
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            jwks: Some(signer.jwks()),
            ..confidential()
        })
        .await
        .unwrap();
    assert!(registered.secret.is_none());
    let id = registered.client.client_id.to_string();
    let claims = |aud: &str, jti: &str, exp_in: i64| {
        let now = clock.now().timestamp();
        serde_json::json!({"iss": id, "sub": id, "aud": aud, "iat": now, "exp": now + exp_in, "jti": jti})
    };
    let token_endpoint = "https://id.example.com/oauth2/token";

    let assertion = signer.sign(claims(token_endpoint, "a", 60));
    let client = clients
        .authenticate_assertion(Some(&id), &assertion, ClientAuthEndpoint::Token)
        .await
        .expect("a valid assertion");
    assert_eq!(client.client_id, registered.client.client_id);
    assert!(
        matches!(
            clients
                .authenticate_assertion(None, &assertion, ClientAuthEndpoint::Token)
                .await,
            Err(AuthError::InvalidClient(_))
        ),
        "replay"
    );

    // Accepted until exp plus the 30 s leeway, not after.
    let late = signer.sign(claims(token_endpoint, "b", 60));
    clock.advance(Duration::seconds(91));
    assert!(
        matches!(
            clients
                .authenticate_assertion(None, &late, ClientAuthEndpoint::Token)
                .await,
            Err(AuthError::InvalidClient(_))
        ),
        "expired"
    );

    // The endpoint's own URL is an audience only at that endpoint.
    let introspect = "https://id.example.com/oauth2/introspect";
    for (jti, endpoint, accepted) in [
        ("c", ClientAuthEndpoint::Token, false),
        ("d", ClientAuthEndpoint::Revocation, false),
        ("e", ClientAuthEndpoint::Introspection, true),
    ] {
        let outcome = clients
            .authenticate_assertion(None, &signer.sign(claims(introspect, jti, 60)), endpoint)
            .await;
        assert_eq!(outcome.is_ok(), accepted, "{endpoint:?}");
    }

    // At most five minutes of lifetime.
    let long = signer.sign(claims("https://id.example.com", "f", 301));
    assert!(clients
        .authenticate_assertion(None, &long, ClientAuthEndpoint::Token)
        .await
        .is_err());
}
