//! `/api/v1/admin/users`: listing (filters, sorts, keyset pagination),
//! creating, changing, suspending, disabling, reactivating, signing out,
//! passwords, soft and hard deletion; the claims of newly registered users;
//! and the bootstrap super_admin.

use std::collections::BTreeSet;

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    admin_token, assert_problem, jwt_part, member_with_roles, unique_email, user_id, with_bootstrap_admin,
    TestApp, MEMBER_PASSWORD, ROOT_EMAIL, ROOT_PASSWORD,
};
use crate::{every_engine, every_engine_admin};

const USERS: &str = "/api/v1/admin/users";

/// GET /admin/users with query parameters.
async fn list_response(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Response {
    app.request(Method::GET, USERS)
        .query(query)
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

/// A 200 listing.
async fn list(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let response = list_response(app, token, query).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("list json");
    assert_eq!(status, 200, "list {query:?}: expected 200, got {body}");
    assert!(body["items"].is_array(), "list answers items: {body}");
    assert!(
        body.get("next_cursor").is_some(),
        "list answers next_cursor (maybe null): {body}"
    );
    body
}

/// The emails of a listing, in order.
fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["email"].as_str().expect("email").to_string())
        .collect()
}

/// Creates a user with `email` (201 expected) and returns the answer.
/// Creates a user through the admin API (201 expected); the clock then
/// moves a millisecond, so users created in a row have increasing creation
/// times, as they would in real time.
async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let user = app.admin_ok(Method::POST, USERS, token, Some(body), 201).await;
    app.clock.advance(chrono::Duration::milliseconds(1));
    user
}

/// The body of a failed login of an unknown user (every failed login must
/// answer it).
async fn unknown_login_body(app: &TestApp) -> Value {
    let response = app
        .login_response("nobody-at-all@example.com", MEMBER_PASSWORD)
        .await;
    assert_problem(response, 401, "invalid_credentials").await
}

/// Asserts a login is refused exactly like an unknown user's.
async fn assert_login_refused(app: &TestApp, email: &str, password: &str, why: &str) {
    let response = app.login_response(email, password).await;
    let body = assert_problem(response, 401, "invalid_credentials").await;
    let mut expected = unknown_login_body(app).await;
    for volatile in ["instance", "trace_id", "request_id"] {
        if let (Some(a), Some(b)) = (body.as_object(), expected.as_object_mut()) {
            if let Some(v) = a.get(volatile) {
                b.insert(volatile.to_string(), v.clone());
            }
        }
    }
    assert_eq!(body, expected, "{why}: the generic login failure expected");
}

/// The `field`s named by a 422 problem.
fn violated_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

every_engine_admin! {
    async fn list_filters_by_prefix_status_role_and_creation_time(app) {
        let root = admin_token(&app).await;
        let tag = format!("flt{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let a = create(&app, &root, json!({"email": format!("{tag}-a@example.com"), "password": MEMBER_PASSWORD})).await;
        let b = create(&app, &root, json!({"email": format!("{tag}-b@example.com"), "password": MEMBER_PASSWORD, "username": format!("u{tag}b"), "roles": ["moderator"]})).await;
        let c = create(&app, &root, json!({"email": format!("{tag}-c@example.com"), "password": MEMBER_PASSWORD})).await;
        let other = create(&app, &root, json!({"email": unique_email("other"), "password": MEMBER_PASSWORD})).await;

        // q: a case-insensitive prefix of the email…
        let page = list(&app, &root, &[("q", &tag.to_uppercase())]).await;
        let mut found = emails(&page);
        found.sort();
        assert_eq!(found, [format!("{tag}-a@example.com"), format!("{tag}-b@example.com"), format!("{tag}-c@example.com")], "q={tag} lists exactly the three users whose email starts with it");
        // … or of the username; not a substring.
        let page = list(&app, &root, &[("q", &format!("U{tag}"))]).await;
        assert_eq!(emails(&page), [format!("{tag}-b@example.com")], "q matches a username prefix");
        let page = list(&app, &root, &[("q", &tag[2..])]).await;
        assert!(emails(&page).is_empty(), "q is a prefix, not a substring: {page}");

        // status
        app.admin_ok(Method::POST, &format!("{USERS}/{}/suspend", user_id(&c)), &root, None, 200).await;
        let page = list(&app, &root, &[("q", &tag), ("status", "suspended")]).await;
        assert_eq!(emails(&page), [format!("{tag}-c@example.com")], "status=suspended lists only the suspended user");
        let page = list(&app, &root, &[("q", &tag), ("status", "active")]).await;
        let mut active = emails(&page);
        active.sort();
        assert_eq!(active, [format!("{tag}-a@example.com"), format!("{tag}-b@example.com")], "status=active leaves the suspended user out");
        let page = list(&app, &root, &[("q", &tag), ("status", "disabled")]).await;
        assert!(emails(&page).is_empty(), "no disabled user yet: {page}");

        // role (direct holders)
        let page = list(&app, &root, &[("role", "moderator")]).await;
        assert_eq!(emails(&page), [format!("{tag}-b@example.com")], "role=moderator lists its only holder");
        let page = list(&app, &root, &[("role", "super_admin")]).await;
        assert_eq!(emails(&page), [ROOT_EMAIL], "role=super_admin lists the bootstrap admin");

        // created_after / created_before, around b
        let created = |u: &Value| chrono::DateTime::parse_from_rfc3339(u["created_at"].as_str().unwrap()).expect("created_at RFC 3339");
        assert!(created(&a) < created(&b) && created(&b) < created(&c), "creation times increase: {a} {b} {c}");
        let pivot = b["created_at"].as_str().unwrap();
        let after = emails(&list(&app, &root, &[("q", &tag), ("created_after", pivot)]).await);
        assert!(after.contains(&format!("{tag}-c@example.com")) && !after.contains(&format!("{tag}-a@example.com")), "created_after={pivot}: c but not a, got {after:?}");
        let before = emails(&list(&app, &root, &[("q", &tag), ("created_before", pivot)]).await);
        assert!(before.contains(&format!("{tag}-a@example.com")) && !before.contains(&format!("{tag}-c@example.com")), "created_before={pivot}: a but not c, got {before:?}");
        let everyone = emails(&list(&app, &root, &[("limit", "200")]).await);
        assert!(everyone.contains(&other["email"].as_str().unwrap().to_string()), "no filter lists everyone");
    }

    async fn list_sorts_by_each_documented_order(app) {
        let root = admin_token(&app).await;
        let tag = format!("srt{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        for letter in ["c", "a", "b"] {
            create(&app, &root, json!({"email": format!("{tag}-{letter}@example.com"), "password": MEMBER_PASSWORD})).await;
        }
        let order = |letters: [&str; 3]| letters.iter().map(|l| format!("{tag}-{l}@example.com")).collect::<Vec<_>>();
        assert_eq!(emails(&list(&app, &root, &[("q", &tag)]).await), order(["c", "a", "b"]), "default order is created_at ascending");
        assert_eq!(emails(&list(&app, &root, &[("q", &tag), ("sort", "created_at")]).await), order(["c", "a", "b"]), "sort=created_at");
        assert_eq!(emails(&list(&app, &root, &[("q", &tag), ("sort", "-created_at")]).await), order(["b", "a", "c"]), "sort=-created_at");
        assert_eq!(emails(&list(&app, &root, &[("q", &tag), ("sort", "email")]).await), order(["a", "b", "c"]), "sort=email");
        assert_eq!(emails(&list(&app, &root, &[("q", &tag), ("sort", "-email")]).await), order(["c", "b", "a"]), "sort=-email");
    }

    async fn cursor_pagination_walks_every_user_once_while_users_are_added(app) {
        let root = admin_token(&app).await;
        let tag = format!("pg{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let mut expected = BTreeSet::new();
        for i in 0..8 {
            let email = format!("{tag}-{i:02}@example.com");
            create(&app, &root, json!({"email": email, "password": MEMBER_PASSWORD})).await;
            expected.insert(email);
        }
        for sort in ["created_at", "-created_at", "email", "-email"] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let mut query = vec![("q", tag.clone()), ("sort", sort.to_string()), ("limit", "3".to_string())];
                if let Some(c) = &cursor {
                    query.push(("cursor", c.clone()));
                }
                let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let page = list(&app, &root, &query).await;
                let items = emails(&page);
                assert!(items.len() <= 3, "limit=3 respected: {page}");
                seen.extend(items);
                pages += 1;
                if pages == 1 && sort == "created_at" {
                    // Added after the first page: keyset pagination must not
                    // repeat or skip anything already listed because of it.
                    let late = format!("{tag}-99@example.com");
                    create(&app, &root, json!({"email": late, "password": MEMBER_PASSWORD})).await;
                    expected.insert(late);
                }
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = Some(next.to_string()),
                    None => break,
                }
                assert!(pages < 10, "pagination terminates");
            }
            let unique: BTreeSet<String> = seen.iter().cloned().collect();
            assert_eq!(unique.len(), seen.len(), "sort={sort}: no duplicates across pages: {seen:?}");
            assert_eq!(unique, expected, "sort={sort}: every user listed exactly once");
            assert!(pages >= 3, "sort={sort}: at least 3 pages of 3, got {pages}");
        }
    }

    async fn invalid_list_parameters_are_422_naming_the_parameter(app) {
        let root = admin_token(&app).await;
        let cases: [(&str, &str); 9] = [
            ("sort", "name"),
            ("sort", "+email"),
            ("limit", "0"),
            ("limit", "201"),
            ("limit", "ten"),
            ("cursor", "not-a-cursor"),
            ("status", "sleeping"),
            ("created_after", "yesterday"),
            ("created_before", "2024-13-01"),
        ];
        let mut wrong = Vec::new();
        for (name, value) in cases {
            let response = list_response(&app, &root, &[(name, value)]).await;
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            let problem: Value = serde_json::from_str(&text).unwrap_or_default();
            if status != 422 || problem["code"] != "validation_failed" || !violated_fields(&problem).contains(&name.to_string()) {
                wrong.push(format!("{name}={value}: expected 422 validation_failed naming {name}, got {status} {text}"));
            }
        }
        assert!(wrong.is_empty(), "invalid list parameters:\n{}", wrong.join("\n"));
        assert_eq!(emails(&list(&app, &root, &[("limit", "1")]).await).len(), 1, "limit=1 is valid");
        list(&app, &root, &[("limit", "200")]).await;
    }

    async fn a_single_user_shows_roles_and_effective_permissions(app) {
        let root = admin_token(&app).await;
        let moderator = member_with_roles(&app, &root, &["moderator"]).await;
        let user = app.admin_ok(Method::GET, &format!("{USERS}/{}", moderator.id), &root, None, 200).await;
        for field in ["id", "email", "email_verified", "username", "display_name", "profile", "status", "created_at", "updated_at", "deleted_at"] {
            assert!(user.get(field).is_some(), "admin user answers {field}: {user}");
        }
        assert_eq!(user["email"], moderator.email.as_str());
        assert_eq!(user["status"], "active");
        assert_eq!(user["deleted_at"], Value::Null);
        assert_eq!(user["roles"], json!(["moderator"]), "directly assigned roles only");
        let permissions: BTreeSet<&str> = user["permissions"].as_array().expect("permissions").iter().map(|p| p.as_str().unwrap()).collect();
        assert_eq!(permissions, BTreeSet::from(["user:read", "user:suspend", "session:revoke", "audit:read"]), "moderator's effective permissions");
        assert!(!user.to_string().contains("argon2"), "no password hash in {user}");
    }

    async fn create_with_password_roles_and_without_password(app) {
        let root = admin_token(&app).await;
        let email = unique_email("made");
        let user = create(&app, &root, json!({"email": email, "password": MEMBER_PASSWORD, "username": "made_by_admin", "display_name": "Made", "email_verified": true})).await;
        assert_eq!(user["roles"], json!(["user"]), "roles default to [user]: {user}");
        assert_eq!((&user["username"], &user["display_name"], &user["email_verified"]), (&json!("made_by_admin"), &json!("Made"), &json!(true)));
        let tokens = app.login(&email, MEMBER_PASSWORD).await;
        assert_eq!(jwt_part(&tokens.access_token, 1)["roles"], json!(["user"]));

        let with_roles = create(&app, &root, json!({"email": unique_email("mod"), "password": MEMBER_PASSWORD, "roles": ["moderator", "user"]})).await;
        let roles: BTreeSet<&str> = with_roles["roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        assert_eq!(roles, BTreeSet::from(["moderator", "user"]), "given roles assigned: {with_roles}");

        let passwordless = unique_email("nopw");
        create(&app, &root, json!({"email": passwordless})).await;
        assert_login_refused(&app, &passwordless, MEMBER_PASSWORD, "account created without a password").await;
        assert_login_refused(&app, &passwordless, "", "account created without a password, empty password").await;

        let duplicate = app.admin_call(Method::POST, USERS, &root, Some(json!({"email": email, "password": MEMBER_PASSWORD}))).await;
        assert_eq!(duplicate.status().as_u16(), 409, "an existing email is a conflict");
        let unknown_role = app.admin_call(Method::POST, USERS, &root, Some(json!({"email": unique_email("x"), "password": MEMBER_PASSWORD, "roles": ["no-such-role"]}))).await;
        assert!(matches!(unknown_role.status().as_u16(), 404 | 422), "an unknown role is refused, got {}", unknown_role.status());
    }

    async fn patch_changes_fields_and_conflicts_are_409(app) {
        let root = admin_token(&app).await;
        let first = member_with_roles(&app, &root, &["user"]).await;
        let second = member_with_roles(&app, &root, &["user"]).await;
        let path = format!("{USERS}/{}", second.id);
        let changed = app.admin_ok(Method::PATCH, &path, &root, Some(json!({"username": "Second_One", "display_name": "Two", "profile": {"team": "b"}})), 200).await;
        assert_eq!((&changed["username"], &changed["display_name"], &changed["profile"]), (&json!("second_one"), &json!("Two"), &json!({"team": "b"})));
        let cleared = app.admin_ok(Method::PATCH, &path, &root, Some(json!({"display_name": null})), 200).await;
        assert_eq!((&cleared["username"], &cleared["display_name"]), (&json!("second_one"), &Value::Null), "null clears only that field");
        let new_email = unique_email("renamed");
        let renamed = app.admin_ok(Method::PATCH, &path, &root, Some(json!({"email": new_email, "email_verified": true})), 200).await;
        assert_eq!((&renamed["email"], &renamed["email_verified"]), (&json!(new_email), &json!(true)));
        app.login(&new_email, MEMBER_PASSWORD).await;

        let taken_email = app.admin_call(Method::PATCH, &path, &root, Some(json!({"email": first.email}))).await;
        assert_eq!(taken_email.status().as_u16(), 409, "another user's email: 409");
        app.admin_ok(Method::PATCH, &format!("{USERS}/{}", first.id), &root, Some(json!({"username": "first_one"})), 200).await;
        let taken_name = app.admin_call(Method::PATCH, &path, &root, Some(json!({"username": "FIRST_ONE"}))).await;
        assert_eq!(taken_name.status().as_u16(), 409, "another user's username (case-insensitive): 409");
        let invalid = app.admin_call(Method::PATCH, &path, &root, Some(json!({"email": "not-an-email"}))).await;
        assert_problem(invalid, 422, "validation_failed").await;
    }

    async fn suspend_and_disable_end_sessions_and_refuse_login_until_reactivated(app) {
        let root = admin_token(&app).await;
        for action in ["suspend", "disable"] {
            let member = member_with_roles(&app, &root, &["user"]).await;
            assert_eq!(app.me(&member.tokens.access_token).await.status(), 200);
            let user = app.admin_ok(Method::POST, &format!("{USERS}/{}/{action}", member.id), &root, None, 200).await;
            let status = if action == "suspend" { "suspended" } else { "disabled" };
            assert_eq!(user["status"], status, "{action} answers the user: {user}");
            assert_problem(app.me(&member.tokens.access_token).await, 401, "invalid_token").await;
            assert_problem(app.refresh_response(&member.tokens.refresh_token).await, 401, "invalid_grant").await;
            assert_login_refused(&app, &member.email, MEMBER_PASSWORD, &format!("{status} user")).await;

            let user = app.admin_ok(Method::POST, &format!("{USERS}/{}/reactivate", member.id), &root, None, 200).await;
            assert_eq!(user["status"], "active", "reactivate after {action}");
            let tokens = app.login(&member.email, MEMBER_PASSWORD).await;
            assert_eq!(app.me(&tokens.access_token).await.status(), 200);
        }
    }

    async fn force_logout_ends_every_session(app) {
        let root = admin_token(&app).await;
        let member = member_with_roles(&app, &root, &["user"]).await;
        let second = app.login(&member.email, MEMBER_PASSWORD).await;
        let answer = app.admin_ok(Method::POST, &format!("{USERS}/{}/logout", member.id), &root, None, 200).await;
        assert!(answer["sessions_ended"].as_u64().is_some_and(|n| n >= 2), "two sessions ended: {answer}");
        for tokens in [&member.tokens, &second] {
            assert_problem(app.me(&tokens.access_token).await, 401, "invalid_token").await;
            assert_problem(app.refresh_response(&tokens.refresh_token).await, 401, "invalid_grant").await;
        }
        let again = app.admin_ok(Method::POST, &format!("{USERS}/{}/logout", member.id), &root, None, 200).await;
        assert_eq!(again["sessions_ended"], 0, "nothing left to end: {again}");
        app.login(&member.email, MEMBER_PASSWORD).await;
    }

    async fn setting_a_password_applies_the_policy_and_ends_sessions(app) {
        let root = admin_token(&app).await;
        let member = member_with_roles(&app, &root, &["user"]).await;
        let path = format!("{USERS}/{}/password", member.id);
        for weak in ["short1", "password"] {
            let response = app.admin_call(Method::POST, &path, &root, Some(json!({"password": weak}))).await;
            let problem = assert_problem(response, 422, "validation_failed").await;
            assert!(violated_fields(&problem).contains(&"password".to_string()), "policy violation names password: {problem}");
        }
        app.me(&member.tokens.access_token).await.error_for_status().expect("weak passwords changed nothing");
        let new_password = "freshly-Chosen-Passphrase-44";
        let answer = app.admin_ok(Method::POST, &path, &root, Some(json!({"password": new_password})), 204).await;
        assert_eq!(answer, Value::Null, "204 without a body");
        assert_problem(app.me(&member.tokens.access_token).await, 401, "invalid_token").await;
        assert_problem(app.refresh_response(&member.tokens.refresh_token).await, 401, "invalid_grant").await;
        assert_login_refused(&app, &member.email, MEMBER_PASSWORD, "old password after an admin set a new one").await;
        app.login(&member.email, new_password).await;
    }

    async fn a_generated_password_is_shown_once_and_works(app) {
        let root = admin_token(&app).await;
        let member = member_with_roles(&app, &root, &["user"]).await;
        let answer = app.admin_ok(Method::POST, &format!("{USERS}/{}/password", member.id), &root, Some(json!({})), 200).await;
        let generated = answer["password"].as_str().expect("generated password").to_string();
        assert!(generated.len() >= 12, "a generated password is long: {generated}");
        assert_problem(app.me(&member.tokens.access_token).await, 401, "invalid_token").await;
        assert_login_refused(&app, &member.email, MEMBER_PASSWORD, "old password after regeneration").await;
        app.login(&member.email, &generated).await;
        let user = app.admin_ok(Method::GET, &format!("{USERS}/{}", member.id), &root, None, 200).await;
        assert!(!user.to_string().contains(&generated), "GET user never shows the password again: {user}");
        let listed = list(&app, &root, &[("q", &member.email)]).await;
        assert!(!listed.to_string().contains(&generated), "the list never shows it either");
    }

    async fn soft_delete_hides_and_refuses_login_until_reactivated(app) {
        let root = admin_token(&app).await;
        let member = member_with_roles(&app, &root, &["user"]).await;
        let path = format!("{USERS}/{}", member.id);
        assert_eq!(app.admin_ok(Method::DELETE, &path, &root, None, 204).await, Value::Null);
        assert!(emails(&list(&app, &root, &[("q", &member.email)]).await).is_empty(), "a soft-deleted user is hidden from the list");
        assert!(emails(&list(&app, &root, &[("q", &member.email), ("status", "active")]).await).is_empty(), "and from status=active");
        let deleted = list(&app, &root, &[("q", &member.email), ("status", "deleted")]).await;
        assert_eq!(emails(&deleted), vec![member.email.clone()], "status=deleted lists it");
        assert!(deleted["items"][0]["deleted_at"].is_string(), "deleted_at set: {deleted}");
        let user = app.admin_ok(Method::GET, &path, &root, None, 200).await;
        assert!(user["deleted_at"].is_string(), "GET shows a soft-deleted user with deleted_at: {user}");
        assert_problem(app.me(&member.tokens.access_token).await, 401, "invalid_token").await;
        assert_login_refused(&app, &member.email, MEMBER_PASSWORD, "soft-deleted user").await;

        let user = app.admin_ok(Method::POST, &format!("{path}/reactivate"), &root, None, 200).await;
        assert_eq!((&user["status"], &user["deleted_at"]), (&json!("active"), &Value::Null), "reactivate undoes the soft delete");
        app.login(&member.email, MEMBER_PASSWORD).await;
        assert_eq!(emails(&list(&app, &root, &[("q", &member.email)]).await), vec![member.email.clone()], "listed again");
    }

    async fn erase_removes_the_account_for_good(app) {
        let root = admin_token(&app).await;
        let member = member_with_roles(&app, &root, &["moderator"]).await;
        let path = format!("{USERS}/{}", member.id);
        app.admin_ok(Method::DELETE, &format!("{path}?erase=true"), &root, None, 204).await;
        assert_problem(app.admin_call(Method::GET, &path, &root, None).await, 404, "not_found").await;
        assert!(emails(&list(&app, &root, &[("q", &member.email), ("status", "deleted")]).await).is_empty(), "an erased user is not even listed as deleted");
        assert_problem(app.me(&member.tokens.access_token).await, 401, "invalid_token").await;
        let again = app.register(&member.email, "brand-New-Owner-Passphrase-5").await;
        assert_ne!(user_id(&again), member.id, "the email is free again, for a new account");
        let tokens = app.login(&member.email, "brand-New-Owner-Passphrase-5").await;
        assert_eq!(jwt_part(&tokens.access_token, 1)["roles"], json!(["user"]), "the new account inherits nothing");
    }

    async fn unknown_and_malformed_ids_are_404(app) {
        let root = admin_token(&app).await;
        let unknown = uuid::Uuid::now_v7().to_string();
        for id in [unknown.as_str(), "not-a-uuid", "42"] {
            for (method, suffix, body) in [
                (Method::GET, "", None),
                (Method::PATCH, "", Some(json!({"display_name": "x"}))),
                (Method::DELETE, "", None),
                (Method::POST, "/suspend", None),
                (Method::POST, "/reactivate", None),
                (Method::POST, "/logout", None),
                (Method::POST, "/password", Some(json!({}))),
                (Method::POST, "/roles", Some(json!({"role": "user"}))),
            ] {
                let path = format!("{USERS}/{id}{suffix}");
                let response = app.admin_call(method.clone(), &path, &root, body).await;
                assert_eq!(response.status().as_u16(), 404, "{method} {path}: expected 404");
                assert_problem(response, 404, "not_found").await;
            }
        }
    }

    async fn registered_users_get_role_user_and_tokens_carry_tid_roles_and_permissions(app) {
        let (user, tokens, _) = app.signed_in_user().await;
        let claims = jwt_part(&tokens.access_token, 1);
        assert!(claims["tid"].as_str().is_some_and(|t| uuid::Uuid::parse_str(t).is_ok()), "tid is the tenant id: {claims}");
        assert_eq!(claims["roles"], json!(["user"]), "registered users hold user: {claims}");
        assert_eq!(claims["permissions"], json!([]), "user grants nothing: {claims}");
        let root = admin_token(&app).await;
        let seen = app.admin_ok(Method::GET, &format!("{USERS}/{}", user_id(&user)), &root, None, 200).await;
        assert_eq!(seen["roles"], json!(["user"]));
        assert_eq!(seen["permissions"], json!([]));
        assert_eq!(jwt_part(&root, 1)["tid"], claims["tid"], "one tenant");
    }

    async fn bootstrap_creates_one_super_admin_holding_everything(app) {
        let tokens = app.login(ROOT_EMAIL, ROOT_PASSWORD).await;
        let claims = jwt_part(&tokens.access_token, 1);
        assert_eq!(claims["roles"], json!(["super_admin"]), "bootstrap admin's roles: {claims}");
        assert_eq!(claims["permissions"], json!(["*"]), "super_admin's effective permissions are just *: {claims}");
        let holders = list(&app, &tokens.access_token, &[("role", "super_admin")]).await;
        assert_eq!(emails(&holders), [ROOT_EMAIL]);

        // A restart with the same settings neither fails nor adds one.
        let second = app.sibling(|_| {}).await;
        let token = admin_token(&second).await;
        let holders = list(&second, &token, &[("role", "super_admin")]).await;
        assert_eq!(emails(&holders), [ROOT_EMAIL], "still exactly one super_admin after a restart");
        let everyone = list(&second, &token, &[("q", "root@")]).await;
        assert_eq!(emails(&everyone), [ROOT_EMAIL], "no second root account");

        // Once a super admin exists the variables are ignored.
        let third = app.sibling(|c| {
            c.bootstrap_admin_email = Some("another-root@example.com".into());
            c.bootstrap_admin_password = Some(ROOT_PASSWORD.to_string().into());
        }).await;
        assert_login_refused(&third, "another-root@example.com", ROOT_PASSWORD, "bootstrap variables with a super_admin present").await;
        let holders = list(&third, &admin_token(&third).await, &[("role", "super_admin")]).await;
        assert_eq!(emails(&holders), [ROOT_EMAIL]);
    }
}

every_engine! {
    async fn without_bootstrap_settings_no_account_exists(app) {
        assert_login_refused(&app, ROOT_EMAIL, ROOT_PASSWORD, "no bootstrap configured").await;
        let db = app.db().await;
        assert_eq!(db.count("user_account").await, 0, "no user created without bootstrap settings");
    }

    async fn bootstrap_promotes_a_registered_email_only_with_its_password(app) {
        // Someone registered the bootstrap email first, with a password of
        // their own: the start refuses, names the conflict, promotes nothing.
        app.register(ROOT_EMAIL, "own-Chosen-Passphrase-88").await;
        let refused = app.try_sibling(with_bootstrap_admin).await.expect_err("start refused");
        let message = format!("{refused:#}");
        assert!(message.contains("bootstrap_admin_email") && message.contains("already exists"), "{message}");
        let squatter = app.login(ROOT_EMAIL, "own-Chosen-Passphrase-88").await;
        let claims = jwt_part(&squatter.access_token, 1);
        assert_eq!(claims["roles"], json!(["user"]), "not promoted: {claims}");

        // The operator's own account (its password is the bootstrap one) is.
        let body = json!({"current_password": "own-Chosen-Passphrase-88", "new_password": ROOT_PASSWORD});
        let changed = app.call(Method::POST, "/api/v1/users/me/password", Some(&squatter.access_token), Some(body)).await;
        assert_eq!(changed.status(), StatusCode::NO_CONTENT);
        let restarted = app.sibling(with_bootstrap_admin).await;
        let tokens = restarted.login(ROOT_EMAIL, ROOT_PASSWORD).await;
        let claims = jwt_part(&tokens.access_token, 1);
        let roles: BTreeSet<&str> = claims["roles"].as_array().expect("roles").iter().map(|r| r.as_str().unwrap()).collect();
        assert!(roles.contains("super_admin"), "promoted with its own password: {claims}");
        assert_eq!(claims["permissions"], json!(["*"]), "{claims}");
        let holders = list(&restarted, &tokens.access_token, &[("role", "super_admin")]).await;
        assert_eq!(emails(&holders), [ROOT_EMAIL], "no second account created");
    }
}
