//! `tessera keys …` as an operator runs it: the real binary rotating the
//! keys of a running server's database, on every backend. The server picks
//! the new key up within its key-cache TTL (1 s here), without a restart.

use reqwest::StatusCode;
use serde_json::Value;

use crate::clients_cli::{create_tenant, tessera};
use crate::every_engine_with;
use crate::helpers::{jwt_part, with_bootstrap_admin, TestApp};

/// The key-cache TTL of these tests' servers.
const CACHE_TTL_SECS: u64 = 1;

fn short_key_cache(config: &mut tessera::Config) {
    config.keys.cache_ttl_secs = CACHE_TTL_SECS;
}

fn short_key_cache_and_an_admin(config: &mut tessera::Config) {
    short_key_cache(config);
    with_bootstrap_admin(config);
}

/// The kids `tessera keys list` prints for `args` (e.g. a `--tenant`).
async fn listed_kids(app: &TestApp, args: &[&str]) -> Vec<String> {
    let listed = tessera(app, &[&["keys", "list", "--json"][..], args].concat())
        .await
        .json();
    listed
        .as_array()
        .expect("array")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

fn jwks_kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys array")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// The server's JWKS once its key cache has expired (by its clock, caught
/// up with the wall clock the CLI wrote the key by), which must list `kid`.
async fn jwks_after_the_key_cache_expired(app: &TestApp, kid: &str) -> Value {
    app.catch_up_with_wall_clock();
    app.advance(i64::try_from(CACHE_TTL_SECS).unwrap());
    let jwks = app.jwks().await;
    assert!(
        jwks_kids(&jwks).iter().any(|k| k == kid),
        "{kid} not in JWKS: {jwks}"
    );
    jwks
}

every_engine_with! {
    async fn rotation_publishes_the_new_key_which_then_signs_while_old_tokens_still_work(app)
        with short_key_cache; {
        let (_, before, password) = app.signed_in_user().await;
        let old_kid = jwt_part(&before.access_token, 0)["kid"].as_str().unwrap().to_owned();
        let email = app.me(&before.access_token).await.json::<Value>().await.unwrap()["email"]
            .as_str()
            .unwrap()
            .to_owned();

        let rotated = tessera(&app, &["keys", "rotate", "--activation-delay-secs", "0", "--json"])
            .await
            .json();
        let new_kid = rotated["kid"].as_str().unwrap().to_owned();
        assert_eq!(rotated["alg"], "ES256");
        assert_ne!(new_kid, old_kid);

        let jwks = jwks_after_the_key_cache_expired(&app, &new_kid).await;
        assert!(jwks_kids(&jwks).contains(&old_kid), "old key stays published: {jwks}");

        let after = app.login(&email, &password).await;
        assert_eq!(jwt_part(&after.access_token, 0)["kid"], new_kid.as_str());
        assert_eq!(app.me(&after.access_token).await.status(), StatusCode::OK);
        assert_eq!(app.me(&before.access_token).await.status(), StatusCode::OK);

        let listed = tessera(&app, &["keys", "list", "--json"]).await.json();
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 2, "{listed:?}");
        let by_kid = |kid: &str| listed.iter().find(|k| k["kid"] == kid).unwrap().clone();
        assert_eq!(by_kid(&old_kid)["state"], "retired");
        assert!(by_kid(&old_kid)["not_after"].is_string());
        assert_eq!(by_kid(&new_kid)["state"], "active");
        assert!(by_kid(&new_kid)["not_after"].is_null());
    }

    async fn delayed_rsa_key_is_published_but_does_not_sign_access_tokens(app)
        with short_key_cache; {
        let (_, before, _) = app.signed_in_user().await;
        let es_kid = jwt_part(&before.access_token, 0)["kid"].as_str().unwrap().to_owned();

        let rotated = tessera(&app, &["keys", "rotate", "--alg", "RS256", "--json"])
            .await
            .json();
        let rsa_kid = rotated["kid"].as_str().unwrap().to_owned();
        assert_eq!(rotated["alg"], "RS256");

        let jwks = jwks_after_the_key_cache_expired(&app, &rsa_kid).await;
        let rsa = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == rsa_kid.as_str())
            .unwrap();
        let mut members: Vec<&str> = rsa.as_object().unwrap().keys().map(String::as_str).collect();
        members.sort_unstable();
        assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"], "{rsa}");
        assert!(jwks_kids(&jwks).contains(&es_kid));

        // Access tokens keep the configured algorithm and its key.
        let (_, after, _) = app.signed_in_user().await;
        assert_eq!(jwt_part(&after.access_token, 0)["kid"], es_kid.as_str());
        assert_eq!(jwt_part(&after.access_token, 0)["alg"], "ES256");

        let table = tessera(&app, &["keys", "list"]).await;
        let table = table.ok();
        assert!(table.starts_with("KID"), "{table}");
        assert!(table.contains(&rsa_kid) && table.contains("pending"), "{table}");
    }

    async fn rotate_refuses_an_unknown_algorithm(app) with short_key_cache; {
        let run = tessera(&app, &["keys", "rotate", "--alg", "HS256"]).await;
        assert_eq!(run.code, Some(2), "{}", run.stderr);
        assert!(run.stderr.contains("HS256"), "{}", run.stderr);
        let listed = tessera(&app, &["keys", "list", "--json"]).await.json();
        assert_eq!(listed.as_array().unwrap().len(), 1);
    }
}

every_engine_with! {
    async fn tenant_option_lists_and_rotates_the_keys_of_that_tenant(app)
        with short_key_cache_and_an_admin; {
        create_tenant(&app, "acme").await;
        let acme_jwks: Value = app.client.get(app.at("/t/acme/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        let acme = listed_kids(&app, &["--tenant", "acme"]).await;
        let default = listed_kids(&app, &[]).await;
        assert!(!acme.is_empty() && !default.is_empty());
        assert!(acme.iter().all(|kid| !default.contains(kid)), "{acme:?} / {default:?}");
        assert!(acme.iter().all(|kid| jwks_kids(&acme_jwks).contains(kid)), "{acme:?} / {acme_jwks}");

        let rotated = tessera(&app, &["keys", "--tenant", "acme", "rotate", "--json"]).await.json();
        let kid = rotated["kid"].as_str().unwrap().to_owned();
        assert!(listed_kids(&app, &["--tenant", "acme"]).await.contains(&kid));
        assert!(!listed_kids(&app, &[]).await.contains(&kid), "the default tenant's keys are untouched");
    }
}
