//! `tessera clients …` as an operator runs it: the real binary against the
//! database of a running server, on every backend. Clients the CLI changes
//! are seen at once (by a second CLI call and by the client service) while
//! the server keeps running.

use std::sync::Arc;

use serde_json::Value;
use tessera_core::{AuthError, ClientAuthSettings, ClientService, SystemClock};

use crate::every_engine;
use crate::helpers::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// What one CLI run printed and how it ended.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    #[track_caller]
    pub(crate) fn ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "stderr: {}\nstdout: {}",
            self.stderr,
            self.stdout
        );
        &self.stdout
    }

    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// Runs `tessera clients <args>` on the app's database.
async fn clients(app: &TestApp, args: &[&str]) -> Run {
    let mut all = vec!["clients"];
    all.extend_from_slice(args);
    tessera(app, &all).await
}

/// Runs `tessera <args>` on the app's database with its master key, with
/// no other `TESSERA_*` variable inherited.
pub(crate) async fn tessera(app: &TestApp, args: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TESSERA_") {
            command.env_remove(name);
        }
    }
    let output = command
        .current_dir(&app.config.data_dir)
        .env("TESSERA_DATABASE_URL", &app.config.database_url)
        .env("TESSERA_MASTER_KEY", crate::helpers::test_master_key())
        .env("TESSERA_LOG", "debug")
        .args(args)
        .output()
        .await
        .expect("run tessera");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Registers a confidential client; returns `(client_id, client_secret)`.
async fn create_confidential(app: &TestApp) -> (String, String) {
    let out = clients(
        app,
        &[
            "create",
            "--name",
            "Billing backend",
            "--type",
            "confidential",
            "--grant-types",
            "authorization_code,refresh_token,client_credentials",
            "--redirect-uri",
            "https://billing.example.com/cb",
            "http://127.0.0.1:8080/cb",
            "--scopes",
            "openid,invoices:read",
            "--first-party",
            "--json",
        ],
    )
    .await
    .json();
    let id = out["client_id"].as_str().expect("client_id").to_owned();
    let secret = out["client_secret"].as_str().expect("client_secret").to_owned();
    (id, secret)
}

/// The client service on the app's database, as the server's token
/// endpoint will use it.
async fn service(app: &TestApp) -> ClientService {
    let store = tessera::open_store(&app.config).await.expect("store");
    let settings = ClientAuthSettings {
        issuer: app.config.issuer.clone(),
        leeway_secs: app.config.tokens.leeway_secs,
        api_audience: app.config.issuer.clone(),
    };
    ClientService::start(store, Arc::new(SystemClock), settings)
        .await
        .expect("service")
}

every_engine! {
    async fn create_and_list_confidential_and_public_clients(app) {
        let (id, secret) = create_confidential(&app).await;
        assert_eq!(secret.len(), 43, "256-bit base64url secret");

        let public = clients(&app, &[
            "create", "--name", "Mobile app", "--type", "public",
            "--grant-types", "authorization_code,refresh_token",
            "--redirect-uri", "com.example.app:/oauth2redirect",
            "--json",
        ]).await.json();
        let public_id = public["client_id"].as_str().expect("client_id").to_owned();
        assert!(public.get("client_secret").is_none(), "public clients have no secret: {public}");

        // Listed at once, while the server that uses this database runs.
        let listed = clients(&app, &["list", "--json"]).await;
        let list = listed.json();
        assert!(!listed.stdout.contains(&secret), "the secret is shown only once");
        assert!(!listed.stdout.contains("secret_hash"));
        let list = list.as_array().expect("array");
        assert_eq!(list.len(), 2, "{list:?}");
        assert_eq!(list[0]["client_id"], id.as_str());
        assert_eq!(list[0]["client_type"], "confidential");
        assert_eq!(list[0]["token_endpoint_auth_method"], "client_secret_basic");
        assert_eq!(
            list[0]["grant_types"],
            serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert_eq!(
            list[0]["redirect_uris"],
            serde_json::json!(["https://billing.example.com/cb", "http://127.0.0.1:8080/cb"])
        );
        assert_eq!(list[0]["scopes"], serde_json::json!(["openid", "invoices:read"]));
        assert_eq!(list[0]["first_party"], true);
        assert_eq!(list[1]["client_id"], public_id.as_str());
        assert_eq!(list[1]["client_type"], "public");
        assert_eq!(list[1]["token_endpoint_auth_method"], "none");
        assert_eq!(list[1]["first_party"], false);

        let table = clients(&app, &["list"]).await;
        let table = table.ok();
        assert!(table.starts_with("CLIENT_ID"), "{table}");
        assert!(table.contains(&id) && table.contains(&public_id) && table.contains("Mobile app"), "{table}");

        // The service sees the new client without any restart.
        let clients_service = service(&app).await;
        let client = clients_service.authenticate_secret(&id, &secret).await.expect("secret works");
        assert_eq!(client.name, "Billing backend");

        // The server kept running all along.
        let health = app.client.get(app.at("/health/ready")).send().await.expect("health");
        assert_eq!(health.status(), 200);
    }

    async fn rotate_secret_keeps_the_previous_secret_and_drops_the_one_before(app) {
        let (id, first) = create_confidential(&app).await;
        let rotated = clients(&app, &["rotate-secret", &id, "--json"]).await.json();
        assert_eq!(rotated["client_id"], id.as_str());
        let second = rotated["client_secret"].as_str().expect("secret").to_owned();
        assert_ne!(first, second);

        let svc = service(&app).await;
        svc.authenticate_secret(&id, &first).await.expect("previous secret still valid");
        svc.authenticate_secret(&id, &second).await.expect("new secret valid");

        let text = clients(&app, &["rotate-secret", &id]).await;
        let text = text.ok();
        let third = text
            .lines()
            .find_map(|l| l.strip_prefix("client_secret: "))
            .expect("secret line")
            .trim()
            .to_owned();
        assert!(
            matches!(svc.authenticate_secret(&id, &first).await, Err(AuthError::InvalidClient(_))),
            "the secret before the previous one is dropped"
        );
        svc.authenticate_secret(&id, &second).await.expect("previous secret valid");
        svc.authenticate_secret(&id, &third).await.expect("new secret valid");
    }

    async fn delete_removes_the_client(app) {
        let (id, secret) = create_confidential(&app).await;
        let deleted = clients(&app, &["delete", &id]).await;
        assert!(deleted.ok().contains(&id));
        let list = clients(&app, &["list", "--json"]).await.json();
        assert_eq!(list, serde_json::json!([]));
        assert!(matches!(
            service(&app).await.authenticate_secret(&id, &secret).await,
            Err(AuthError::InvalidClient(_))
        ));

        let again = clients(&app, &["delete", &id]).await;
        assert_eq!(again.code, Some(1), "{}", again.stderr);
        assert!(again.stderr.contains("no client with id"), "{}", again.stderr);
        let rotate = clients(&app, &["rotate-secret", &id]).await;
        assert_eq!(rotate.code, Some(1), "{}", rotate.stderr);
    }

    async fn bad_input_exits_2_naming_the_rule_and_creates_nothing(app) {
        let cases: [(&[&str], &str); 4] = [
            (
                &["--type", "confidential", "--grant-types", "authorization_code",
                  "--redirect-uri", "http://app.example.com/cb"],
                "insecure_scheme",
            ),
            (
                &["--type", "public", "--grant-types", "client_credentials"],
                "not_allowed_for_public_client",
            ),
            (
                &["--type", "confidential", "--grant-types", "password"],
                "unknown grant type \"password\"",
            ),
            (
                &["--type", "secretive", "--grant-types", "client_credentials"],
                "client_type",
            ),
        ];
        for (args, expected) in cases {
            let mut full = vec!["create", "--name", "Bad", "--json"];
            full.extend_from_slice(args);
            let run = clients(&app, &full).await;
            assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
            assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
            assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        }
        let not_an_id = clients(&app, &["rotate-secret", "not-a-uuid"]).await;
        assert_eq!(not_an_id.code, Some(2), "{}", not_an_id.stderr);
        let list = clients(&app, &["list", "--json"]).await.json();
        assert_eq!(list, serde_json::json!([]));
    }
}
