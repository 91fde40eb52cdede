//! The client registry over a real (SQLite) store with an injected clock:
//! registration, secret checks, rotation, deletion, and visibility of
//! clients registered by another process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use tessera_core::clients::CLIENT_CACHE_TTL_SECS;
use tessera_core::{AuthError, ClientService, Clock, ManualClock, NewClient, PresentedClient};
use tessera_sqlite::SqliteStore;
use tessera_store::{ClientType, Store, TokenEndpointAuthMethod};

async fn store() -> Arc<dyn Store> {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
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
    let clients = ClientService::start(store.clone(), Arc::new(ManualClock::new(Utc::now())))
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
    for (client_id, presented) in [
        (id.as_str(), "wrong"),
        (id.as_str(), ""),
        ("not-a-uuid", secret.expose()),
        ("01890000-0000-7000-8000-000000000000", secret.expose()),
    ] {
        assert!(
            matches!(
                clients.authenticate_secret(client_id, presented).await,
                Err(AuthError::InvalidClient)
            ),
            "{client_id} / {presented}"
        );
    }
}

#[tokio::test]
async fn a_public_client_has_no_secret_and_never_authenticates_with_one() {
    let clients = ClientService::start(store().await, Arc::new(ManualClock::new(Utc::now())))
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
        Err(AuthError::InvalidClient)
    ));
    assert!(matches!(
        clients.rotate_secret(registered.client.client_id).await,
        Err(AuthError::Validation(v)) if v[0].rule == "no_secret"
    ));
}

#[tokio::test]
async fn rotation_keeps_the_current_secret_valid_and_drops_the_one_before() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let clients = ClientService::start(store().await, clock.clone()).await.unwrap();
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
        Err(AuthError::InvalidClient)
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
    let clients = ClientService::start(store().await, Arc::new(ManualClock::new(Utc::now())))
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
        Err(AuthError::InvalidClient)
    ));
    assert!(clients.list().await.unwrap().is_empty());
}

/// Two services on one database, like a running server and the CLI: a
/// client registered through one is seen by the other at once.
#[tokio::test]
async fn a_client_registered_elsewhere_is_usable_at_once() {
    let path = std::env::temp_dir().join(format!("tessera-clients-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}", path.display());
    let open = || async {
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        ClientService::start(store, Arc::new(ManualClock::new(Utc::now())))
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
    let clients = ClientService::start(store().await, Arc::new(ManualClock::new(Utc::now())))
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
    for method in [
        TokenEndpointAuthMethod::ClientSecretPost,
        TokenEndpointAuthMethod::PrivateKeyJwt,
        TokenEndpointAuthMethod::None,
    ] {
        assert!(matches!(
            clients.authenticate(&presented(method)).await,
            Err(AuthError::InvalidClient)
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
    let open = || async {
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        ClientService::start(store, Arc::new(ManualClock::new(Utc::now())))
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
    tokio::time::sleep(std::time::Duration::from_secs(CLIENT_CACHE_TTL_SECS + 1)).await;
    assert!(matches!(
        server.authenticate(&basic(second.expose())).await,
        Err(AuthError::InvalidClient)
    ));

    drop((server, cli));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
