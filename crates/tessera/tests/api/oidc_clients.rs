//! Real relying parties against the real server: the certified
//! `openid-client` library (with `jose` checking every token against the
//! published JWKS) and headless Chromium, both from
//! `tests/oidc-conformance/`, run with Node against a server started by the
//! harness, with clients registered through the real `tessera clients create`.
//!
//! Node packages and Debian's Chromium are installed by `scripts/test`; when
//! they are missing these tests fail (never skip) and say so.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::clients_cli::tessera;
use crate::helpers::{admin_token, TestApp, MEMBER_PASSWORD};
use crate::private_key_jwt::{write_jwks, Es256Key};
use crate::{every_engine, every_engine_admin};

/// Where the npm project lives, from the crate's manifest directory.
fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-conformance")
}

/// Chromium as Debian packages it (`apt-get install chromium`).
const CHROMIUM: &str = "/usr/bin/chromium";

/// Generous: a full conformance run is a few dozen requests, but Chromium's
/// first start on a cold machine can take several seconds.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

const USER_EMAIL: &str = "ada@example.com";
const USER_PASSWORD: &str = "correct horse battery staple 42";

// Nothing listens on these: the scripts stop at the redirect (openid-client
// reads the code from the Location header; Chromium's request is intercepted).
const WEB_REDIRECT_URI: &str = "http://127.0.0.1:9/web/callback";
const WEB_POST_LOGOUT_REDIRECT_URI: &str = "http://127.0.0.1:9/web/signed-out";
const PUBLIC_REDIRECT_URI: &str = "http://127.0.0.1:9/app/callback";
const M2M_SCOPE: &str = "reports:read";

/// Fails the test unless `scripts/test` has installed the npm packages.
fn require_node_modules() {
    let modules = suite_dir().join("node_modules");
    let dir = modules.display();
    for package in ["openid-client", "jose", "playwright-core", "axe-core"] {
        assert!(
            modules.join(package).join("package.json").is_file(),
            "{package} is not installed in {dir}: run scripts/test (it runs `npm ci --prefix tests/oidc-conformance`)"
        );
    }
}

/// Fails the test unless Debian's Chromium is installed.
fn require_chromium() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: run scripts/test (it runs `apt-get install -y chromium`)"
    );
}

/// Runs `tessera clients create --json <args>`; returns `(client_id, client_secret)`
/// (the secret is empty for a public client).
async fn create_client(app: &TestApp, name: &str, args: &[&str]) -> (String, String) {
    let mut all = vec!["clients", "create", "--name", name, "--json"];
    all.extend_from_slice(args);
    let out = tessera(app, &all).await.json();
    (
        out["client_id"].as_str().expect("client_id").to_owned(),
        out["client_secret"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Registers the user and the four clients the scripts drive; returns the
/// environment the scripts read.
async fn arrange(app: &TestApp) -> Vec<(&'static str, String)> {
    app.register(USER_EMAIL, USER_PASSWORD).await;
    let (web_id, web_secret) = create_client(
        app,
        "Conformance web app",
        &[
            "--type",
            "confidential",
            "--grant-types",
            "authorization_code,refresh_token",
            "--redirect-uri",
            WEB_REDIRECT_URI,
            "--post-logout-redirect-uri",
            WEB_POST_LOGOUT_REDIRECT_URI,
            "--scopes",
            "openid,profile,email",
            "--auth-method",
            "client_secret_basic",
        ],
    )
    .await;
    let (public_id, _) = create_client(
        app,
        "Conformance single-page app",
        &[
            "--type",
            "public",
            "--grant-types",
            "authorization_code,refresh_token",
            "--redirect-uri",
            PUBLIC_REDIRECT_URI,
            "--scopes",
            "openid,profile,email",
            "--auth-method",
            "none",
        ],
    )
    .await;
    let (m2m_id, m2m_secret) = create_client(
        app,
        "Conformance reporting job",
        &[
            "--type",
            "confidential",
            "--grant-types",
            "client_credentials",
            "--scopes",
            M2M_SCOPE,
            "--auth-method",
            "client_secret_basic",
        ],
    )
    .await;
    // Node cannot write the JWK Set before the client exists, so the key is
    // made here and its private half handed to the script.
    let pkj_key = Es256Key::generate("conformance-pkj");
    let pkj_jwks = write_jwks(app, "conformance-pkj.json", &[&pkj_key]);
    let (pkj_id, _) = create_client(
        app,
        "Conformance signed-assertion job",
        &[
            "--type",
            "confidential",
            "--grant-types",
            "client_credentials",
            "--scopes",
            M2M_SCOPE,
            "--auth-method",
            "private_key_jwt",
            "--jwks",
            &pkj_jwks,
        ],
    )
    .await;
    vec![
        ("TESSERA_ISSUER", app.config.issuer.clone()),
        ("TESSERA_USER_EMAIL", USER_EMAIL.into()),
        ("TESSERA_USER_PASSWORD", USER_PASSWORD.into()),
        ("TESSERA_WEB_CLIENT_ID", web_id),
        ("TESSERA_WEB_CLIENT_SECRET", web_secret),
        ("TESSERA_WEB_REDIRECT_URI", WEB_REDIRECT_URI.into()),
        (
            "TESSERA_WEB_POST_LOGOUT_REDIRECT_URI",
            WEB_POST_LOGOUT_REDIRECT_URI.into(),
        ),
        ("TESSERA_PUBLIC_CLIENT_ID", public_id),
        ("TESSERA_PUBLIC_REDIRECT_URI", PUBLIC_REDIRECT_URI.into()),
        ("TESSERA_M2M_CLIENT_ID", m2m_id),
        ("TESSERA_M2M_CLIENT_SECRET", m2m_secret),
        ("TESSERA_M2M_SCOPE", M2M_SCOPE.into()),
        ("TESSERA_PKJ_CLIENT_ID", pkj_id),
        ("TESSERA_PKJ_PRIVATE_JWK", pkj_key.private_jwk().to_string()),
        ("CHROMIUM_PATH", CHROMIUM.into()),
    ]
}

/// Like [`arrange`], inside tenant `slug` (created through the admin API of
/// the default tenant, with its first super_admin, who registers the
/// clients through the tenant's own admin API): the scripts then talk to
/// the issuer `{url}/t/{slug}` and nothing else.
async fn arrange_in_tenant(app: &TestApp, slug: &str) -> Vec<(&'static str, String)> {
    let root = admin_token(app).await;
    let admin_email = format!("admin@{slug}.example");
    app.admin_ok(
        Method::POST,
        "/api/v1/admin/tenants",
        &root,
        Some(
            json!({"slug": slug, "name": slug, "admin": {"email": admin_email, "password": MEMBER_PASSWORD}}),
        ),
        201,
    )
    .await;
    let base = format!("/t/{slug}");
    let login: Value = app
        .post_json(
            &format!("{base}/api/v1/auth/login"),
            json!({"identifier": admin_email, "password": MEMBER_PASSWORD}),
        )
        .await
        .json()
        .await
        .expect("login json");
    let admin = login["access_token"]
        .as_str()
        .expect("tenant admin token")
        .to_owned();
    let registered = app
        .post_json(
            &format!("{base}/api/v1/auth/register"),
            json!({"email": USER_EMAIL, "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(registered.status(), 201, "user registered in the tenant");
    let clients = format!("{base}/api/v1/admin/clients");
    let create = |body: Value| {
        let (clients, admin) = (clients.clone(), admin.clone());
        async move {
            let created = app
                .admin_ok(Method::POST, &clients, &admin, Some(body), 201)
                .await;
            (
                created["client_id"].as_str().expect("client_id").to_owned(),
                created["client_secret"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    let (web_id, web_secret) = create(json!({
        "name": "Conformance web app", "client_type": "confidential",
        "grant_types": ["authorization_code", "refresh_token"], "redirect_uris": [WEB_REDIRECT_URI],
        "post_logout_redirect_uris": [WEB_POST_LOGOUT_REDIRECT_URI], "scopes": ["openid", "profile", "email"],
        "token_endpoint_auth_method": "client_secret_basic"}))
    .await;
    let (public_id, _) = create(json!({
        "name": "Conformance single-page app", "client_type": "public",
        "grant_types": ["authorization_code", "refresh_token"], "redirect_uris": [PUBLIC_REDIRECT_URI],
        "scopes": ["openid", "profile", "email"], "token_endpoint_auth_method": "none"}))
    .await;
    let (m2m_id, m2m_secret) = create(json!({
        "name": "Conformance reporting job", "client_type": "confidential",
        "grant_types": ["client_credentials"], "scopes": [M2M_SCOPE],
        "token_endpoint_auth_method": "client_secret_basic"}))
    .await;
    let pkj_key = Es256Key::generate("conformance-pkj");
    let (pkj_id, _) = create(json!({
        "name": "Conformance signed-assertion job", "client_type": "confidential",
        "grant_types": ["client_credentials"], "scopes": [M2M_SCOPE],
        "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [pkj_key.public_jwk()]}}))
    .await;
    vec![
        ("TESSERA_ISSUER", format!("{}{base}", app.config.issuer)),
        ("TESSERA_USER_EMAIL", USER_EMAIL.into()),
        ("TESSERA_USER_PASSWORD", USER_PASSWORD.into()),
        ("TESSERA_WEB_CLIENT_ID", web_id),
        ("TESSERA_WEB_CLIENT_SECRET", web_secret),
        ("TESSERA_WEB_REDIRECT_URI", WEB_REDIRECT_URI.into()),
        (
            "TESSERA_WEB_POST_LOGOUT_REDIRECT_URI",
            WEB_POST_LOGOUT_REDIRECT_URI.into(),
        ),
        ("TESSERA_PUBLIC_CLIENT_ID", public_id),
        ("TESSERA_PUBLIC_REDIRECT_URI", PUBLIC_REDIRECT_URI.into()),
        ("TESSERA_M2M_CLIENT_ID", m2m_id),
        ("TESSERA_M2M_CLIENT_SECRET", m2m_secret),
        ("TESSERA_M2M_SCOPE", M2M_SCOPE.into()),
        ("TESSERA_PKJ_CLIENT_ID", pkj_id),
        ("TESSERA_PKJ_PRIVATE_JWK", pkj_key.private_jwk().to_string()),
        ("CHROMIUM_PATH", CHROMIUM.into()),
    ]
}

/// Runs `node <script>` in the suite directory with `env` (and no inherited
/// `TESSERA_*`), killing it after `SCRIPT_TIMEOUT`; panics with everything
/// it printed unless it exits with status 0.
async fn run_script(app: &TestApp, script: &str, env: &[(&'static str, String)]) {
    // Output goes to files so that a script killed on timeout still shows
    // how far it got.
    let stdout_path = app.config.data_dir.join(format!("{script}.stdout"));
    let stderr_path = app.config.data_dir.join(format!("{script}.stderr"));
    let stdout = std::fs::File::create(&stdout_path).expect("stdout file");
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");

    let mut command = tokio::process::Command::new("node");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TESSERA_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .arg(script)
        .current_dir(suite_dir())
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `node` ({e}): install Node.js 20, then run scripts/test"));

    let status = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait()).await;
    if status.is_err() {
        let _ = child.kill().await;
    }
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    match status {
        // The checks it passed, for the test log (shown with --nocapture).
        Ok(Ok(status)) if status.success() => println!("node {script}:\n{stdout}"),
        Ok(Ok(status)) => panic!("node {script} failed ({status})\n--- stdout\n{stdout}\n--- stderr\n{stderr}"),
        Ok(Err(e)) => panic!("waiting for node {script}: {e}"),
        Err(_) => panic!(
            "node {script} did not finish within {SCRIPT_TIMEOUT:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        ),
    }
}

every_engine! {
    async fn openid_client_conformance_suite_passes(app) {
        require_node_modules();
        let env = arrange(&app).await;
        run_script(&app, "conformance.mjs", &env).await;
    }

    async fn chromium_completes_the_authorization_code_flow(app) {
        require_node_modules();
        require_chromium();
        let env = arrange(&app).await;
        run_script(&app, "browser.mjs", &env).await;
    }
}

every_engine_admin! {
    async fn openid_client_conformance_suite_passes_against_a_tenant_issuer(app) {
        require_node_modules();
        let env = arrange_in_tenant(&app, "acme").await;
        run_script(&app, "conformance.mjs", &env).await;
    }

    async fn chromium_completes_the_authorization_code_flow_in_a_tenant(app) {
        require_node_modules();
        require_chromium();
        let env = arrange_in_tenant(&app, "acme").await;
        run_script(&app, "browser.mjs", &env).await;
    }
}
