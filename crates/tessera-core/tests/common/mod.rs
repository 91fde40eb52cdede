//! Shared set-up of the service tests: an `AuthService` over an in-memory
//! SQLite store with a manual clock, cheap hashing and one registered user.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;

use tessera_core::mail::{MailTemplates, MailTheme, Outbox};
use tessera_core::{
    AccountPolicy, AuthService, Clock, HashSettings, KeyEncryptor, KeyRing, LockoutPolicy, ManualClock,
    MemoryEventSink, MemoryMailer, PasswordHasher, PasswordPolicy, Ports, Registration, ServiceSettings,
    SigningAlg, TenantContext, TokenSettings,
};
use tessera_store::prelude::*;

/// Email of the registered user.
pub const EMAIL: &str = "ada@example.com";
/// Password of the registered user.
pub const PASSWORD: &str = "plausible-Passphrase-93";
/// Issuer of the service.
pub const ISSUER: &str = "http://tessera.test";

/// The service, its key ring and its clock.
pub struct TestService {
    pub service: AuthService,
    pub keys: Arc<KeyRing>,
    pub clock: Arc<ManualClock>,
}

/// Starts a service with `tokens` and a key cache of `key_cache_ttl_secs`,
/// and registers [`EMAIL`] with [`PASSWORD`].
pub async fn test_service(tokens: TokenSettings, key_cache_ttl_secs: u64) -> TestService {
    let store = tessera_sqlite::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::starting_now());
    let keys = Arc::new(KeyRing::new(
        store.clone(),
        KeyEncryptor::new(&[1; 32]).unwrap(),
        SigningAlg::ES256,
        key_cache_ttl_secs,
    ));
    let hasher = PasswordHasher::new(&HashSettings {
        memory_kib: 64,
        iterations: 1,
        ..HashSettings::default()
    })
    .unwrap();
    let settings = ServiceSettings {
        issuer: ISSUER.into(),
        tokens,
        password_policy: PasswordPolicy::default(),
        lockout: LockoutPolicy::default(),
        accounts: AccountPolicy::default(),
    };
    let tenant = store
        .ensure_tenant(tessera_store::DEFAULT_TENANT_SLUG, "Default", clock.now())
        .await
        .unwrap();
    let ports = Ports {
        clock: clock.clone(),
        mailer: Arc::new(MemoryMailer::default()),
        events: Arc::new(MemoryEventSink::default()),
    };
    let outbox =
        Arc::new(Outbox::new(&[1; 32], MailTemplates::new(None).unwrap(), MailTheme::default()).unwrap());
    let context = TenantContext::start(store, ports, keys.clone(), hasher, settings, tenant, outbox)
        .await
        .unwrap();
    let service = AuthService::new(context);
    service
        .register(Registration {
            email: EMAIL.into(),
            password: PASSWORD.into(),
            username: None,
        })
        .await
        .unwrap();
    TestService { service, keys, clock }
}
