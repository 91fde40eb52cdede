//! `tessera clients …` as an operator runs it: the real binary against the
//! database of a running server, on every backend. Clients the CLI changes
//! are seen at once (by a second CLI call and by the client service) while
//! the server keeps running.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use tessera_core::{AuthError, ClientAuthSettings, ClientService, SystemClock};

use crate::helpers::{admin_token, client_credentials_response, client_credentials_token, jwt_part, TestApp};
use crate::{every_engine, every_engine_admin};

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

    async fn disable_and_enable_switch_a_client_off_and_on(app) {
        let (id, secret) = create_confidential(&app).await;
        let disabled = clients(&app, &["disable", &id]).await;
        assert!(disabled.ok().contains(&format!("disabled client {id}")));
        let list = clients(&app, &["list", "--json"]).await.json();
        assert_eq!(list[0]["disabled"], true, "{list}");
        assert!(matches!(
            service(&app).await.authenticate_secret(&id, &secret).await,
            Err(AuthError::InvalidClient(tessera_core::ClientRefusal::Disabled))
        ));
        clients(&app, &["enable", &id]).await.ok();
        service(&app).await.authenticate_secret(&id, &secret).await.expect("enabled again");
        let unknown = clients(&app, &["disable", &uuid::Uuid::now_v7().to_string()]).await;
        assert_eq!(unknown.code, Some(1), "{}", unknown.stderr);
        assert!(unknown.stderr.contains("no client with id"), "{}", unknown.stderr);
    }

    async fn secret_ttl_gives_secrets_an_expiry_shown_at_rotation(app) {
        let created = clients(&app, &[
            "create", "--name", "Cron", "--type", "confidential", "--grant-types", "client_credentials",
            "--secret-ttl-secs", "86400", "--json",
        ]).await.json();
        let id = created["client_id"].as_str().expect("client_id");
        let list = clients(&app, &["list", "--json"]).await.json();
        assert_eq!(list[0]["secret_ttl_secs"], 86400, "{list}");
        let expires = chrono::DateTime::parse_from_rfc3339(list[0]["secret_expires_at"].as_str().expect("expiry"))
            .expect("rfc3339");
        let in_a_day = tessera_core::Clock::now(&tessera_core::SystemClock) + chrono::Duration::days(1);
        assert!((in_a_day - expires.to_utc()).num_seconds().abs() < 120, "{expires}");
        let rotated = clients(&app, &["rotate-secret", id]).await;
        assert!(rotated.ok().contains("expires_at:"), "{}", rotated.stdout);
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

/// Creates tenant `slug` through the admin API, as the bootstrap admin.
pub(crate) async fn create_tenant(app: &TestApp, slug: &str) {
    let root = admin_token(app).await;
    let body = json!({"slug": slug, "name": format!("Tenant {slug}")});
    app.admin_ok(Method::POST, "/api/v1/admin/tenants", &root, Some(body), 201)
        .await;
}

/// Arguments of `tessera clients create` for a machine client, then `extra`.
fn machine<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "create",
        "--name",
        "Reports job",
        "--type",
        "confidential",
        "--grant-types",
        "client_credentials",
        "--scopes",
        "reports:read",
        "--json",
    ];
    args.extend_from_slice(extra);
    args
}

every_engine! {
    async fn create_with_roles_gives_the_machine_token_their_permissions(app) {
        let created = clients(&app, &machine(&["--role", "moderator"])).await.json();
        assert_eq!(created["roles"], json!(["moderator"]), "{created}");
        let id = created["client_id"].as_str().unwrap();
        let secret = created["client_secret"].as_str().unwrap();
        let token = client_credentials_token(&app, id, secret).await;
        let claims = jwt_part(&token, 1);
        assert_eq!(claims["roles"], json!(["moderator"]), "{claims}");
        let permissions = claims["permissions"].as_array().unwrap();
        for granted in ["user:read", "user:suspend"] {
            assert!(permissions.contains(&json!(granted)), "{granted} missing: {claims}");
        }

        let text = clients(&app, &[
            "create", "--name", "Text job", "--type", "confidential",
            "--grant-types", "client_credentials", "--role", "moderator", "--role", "user",
        ]).await;
        assert!(text.ok().contains("roles:         moderator, user"), "{}", text.stdout);

        let refused = clients(&app, &machine(&["--role", "emperor"])).await;
        assert_eq!(refused.code, Some(2), "{}", refused.stderr);
        assert!(refused.stderr.contains("no role named emperor"), "{}", refused.stderr);
        let list = clients(&app, &["list", "--json"]).await.json();
        assert_eq!(list.as_array().unwrap().len(), 2, "the refused client was not registered: {list}");
    }
}

every_engine_admin! {
    async fn tenant_option_registers_and_lists_the_clients_of_that_tenant(app) {
        create_tenant(&app, "acme").await;
        let created = tessera(&app, &[&["clients"][..], &machine(&["--tenant", "acme"])].concat()).await.json();
        let id = created["client_id"].as_str().unwrap();
        let secret = created["client_secret"].as_str().unwrap();
        // The CLI, first to use acme's services, made its signing key by the
        // wall clock, which the server's manual clock has fallen behind.
        app.catch_up_with_wall_clock();

        let response = app
            .client
            .post(app.at("/t/acme/oauth2/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "acme's token endpoint knows it: {body}");
        let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
        assert_eq!(claims["iss"], format!("{}/t/acme", app.url));
        let default = client_credentials_response(&app, id, secret).await;
        assert_eq!(default.status(), 401, "the default tenant does not");

        let acme = tessera(&app, &["clients", "--tenant", "acme", "list", "--json"]).await.json();
        assert_eq!(acme.as_array().unwrap().len(), 1, "{acme}");
        assert_eq!(acme[0]["client_id"], id);
        assert_eq!(clients(&app, &["list", "--json"]).await.json(), json!([]));

        let rotated = tessera(&app, &["clients", "rotate-secret", id, "--tenant", "acme", "--json"]).await.json();
        assert_eq!(rotated["client_id"], id);
        let elsewhere = tessera(&app, &["clients", "delete", id]).await;
        assert_eq!(elsewhere.code, Some(1), "not a client of the default tenant: {}", elsewhere.stderr);
        tessera(&app, &["clients", "delete", id, "--tenant", "acme"]).await.ok();
        let missing = tessera(&app, &["clients", "list", "--tenant", "nope"]).await;
        assert_eq!(missing.code, Some(1));
        assert!(missing.stderr.contains("nope"), "{}", missing.stderr);
    }
}
