//! `POST /api/v1/authz/check`: role-based decisions for other services,
//! about a token or a user.

use reqwest::Method;
use serde_json::{json, Value};

use crate::every_engine_admin;
use crate::helpers::{admin_token, assert_problem, member_with_roles, user_with_role, TestApp};

const CHECK: &str = "/api/v1/authz/check";

/// A 200 decision.
async fn check(app: &TestApp, caller: &str, body: Value) -> Value {
    app.admin_ok(Method::POST, CHECK, caller, Some(body), 200).await
}

fn decision(allowed: bool, reason: &str) -> Value {
    json!({"allowed": allowed, "reason": reason})
}

/// The `allowed` and `reason` of a decision (other fields ignored).
fn verdict(answer: &Value) -> Value {
    json!({"allowed": answer["allowed"], "reason": answer["reason"]})
}

every_engine_admin! {
    async fn decisions_about_a_token(app) {
        let root = admin_token(&app).await;
        let (_, admin) = user_with_role(&app, &root, "admin").await;
        let (_, plain) = user_with_role(&app, &root, "user").await;
        let answer = check(&app, &root, json!({"token": admin, "permission": "user:read"})).await;
        assert_eq!(verdict(&answer), decision(true, "granted_by_role:admin"), "{answer}");
        let answer = check(&app, &root, json!({"token": admin, "permission": "user:read", "resource": "invoice/42"})).await;
        assert_eq!(verdict(&answer), decision(true, "granted_by_role:admin"), "resource does not change the answer");
        let answer = check(&app, &root, json!({"token": admin, "permission": "key:rotate"})).await;
        assert_eq!(verdict(&answer), decision(false, "missing_permission"));
        let answer = check(&app, &root, json!({"token": plain, "permission": "user:read"})).await;
        assert_eq!(verdict(&answer), decision(false, "missing_permission"));
        for garbage in ["garbage", "a.b.c", ""] {
            let answer = check(&app, &root, json!({"token": garbage, "permission": "user:read"})).await;
            assert_eq!(verdict(&answer), decision(false, "invalid_token"), "token {garbage:?}");
        }
        // A signed-out session's token is invalid too.
        let member = member_with_roles(&app, &root, &["admin"]).await;
        app.admin_call(Method::POST, "/api/v1/auth/logout", &member.tokens.access_token, None).await.error_for_status().unwrap();
        let answer = check(&app, &root, json!({"token": member.tokens.access_token, "permission": "user:read"})).await;
        assert_eq!(verdict(&answer), decision(false, "invalid_token"), "ended session");
    }

    async fn decisions_about_a_user_id(app) {
        let root = admin_token(&app).await;
        let (moderator, _) = user_with_role(&app, &root, "moderator").await;
        let answer = check(&app, &root, json!({"user_id": moderator, "permission": "user:suspend"})).await;
        assert_eq!(verdict(&answer), decision(true, "granted_by_role:moderator"));
        let answer = check(&app, &root, json!({"user_id": moderator, "permission": "user:delete"})).await;
        assert_eq!(verdict(&answer), decision(false, "missing_permission"));
        app.admin_ok(Method::POST, &format!("/api/v1/admin/users/{moderator}/suspend"), &root, None, 200).await;
        let answer = check(&app, &root, json!({"user_id": moderator, "permission": "user:suspend"})).await;
        assert_eq!(verdict(&answer), decision(false, "account_inactive"));
        let response = app.admin_call(Method::POST, CHECK, &root, Some(json!({"user_id": uuid::Uuid::now_v7().to_string(), "permission": "user:read"}))).await;
        assert_problem(response, 404, "not_found").await;
        let response = app.admin_call(Method::POST, CHECK, &root, Some(json!({"user_id": "not-a-uuid", "permission": "user:read"}))).await;
        assert_problem(response, 404, "not_found").await;
    }

    async fn wildcards_cover_their_resource_and_everything(app) {
        let root = admin_token(&app).await;
        app.admin_ok(Method::POST, "/api/v1/admin/permissions", &root, Some(json!({"name": "invoice:approve"})), 201).await;
        app.admin_ok(Method::POST, "/api/v1/admin/roles", &root, Some(json!({"name": "accountant", "permissions": ["invoice:*"]})), 201).await;
        let (accountant, _) = user_with_role(&app, &root, "accountant").await;
        for permission in ["invoice:approve", "invoice:refund"] {
            let answer = check(&app, &root, json!({"user_id": accountant, "permission": permission})).await;
            assert_eq!(verdict(&answer), decision(true, "granted_by_role:accountant"), "invoice:* covers {permission}");
        }
        let answer = check(&app, &root, json!({"user_id": accountant, "permission": "invoices:approve"})).await;
        assert_eq!(verdict(&answer), decision(false, "missing_permission"), "invoice:* does not cover another resource");
        let answer = check(&app, &root, json!({"user_id": accountant, "permission": "invoice:*"})).await;
        assert_eq!(verdict(&answer), decision(true, "granted_by_role:accountant"), "invoice:* covers itself");
        let answer = check(&app, &root, json!({"user_id": accountant, "permission": "*"})).await;
        assert_eq!(verdict(&answer), decision(false, "missing_permission"), "only * covers *");
        let answer = check(&app, &root, json!({"token": root, "permission": "anything.at:all"})).await;
        assert_eq!(verdict(&answer), decision(true, "granted_by_role:super_admin"), "* covers everything");
    }

    async fn the_caller_needs_user_read_and_valid_input(app) {
        let root = admin_token(&app).await;
        let (plain_id, plain) = user_with_role(&app, &root, "user").await;
        let body = json!({"user_id": plain_id, "permission": "user:read"});
        let problem = assert_problem(app.admin_call(Method::POST, CHECK, &plain, Some(body.clone())).await, 403, "forbidden").await;
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("user:read")), "names user:read: {problem}");
        let (_, moderator) = user_with_role(&app, &root, "moderator").await;
        check(&app, &moderator, body.clone()).await;
        let response = app.call(Method::POST, CHECK, None, Some(body.clone())).await;
        assert_problem(response, 401, "invalid_token").await;
        let response = app.call(Method::POST, CHECK, Some("garbage"), Some(body)).await;
        assert_problem(response, 401, "invalid_token").await;
        for bad in ["Not Valid", "user", "user:", "", "user:read:extra"] {
            let response = app.admin_call(Method::POST, CHECK, &root, Some(json!({"user_id": plain_id, "permission": bad}))).await;
            let problem = assert_problem(response, 422, "validation_failed").await;
            assert!(problem["errors"].as_array().is_some_and(|e| e.iter().any(|v| v["field"] == "permission")), "names permission for {bad:?}: {problem}");
        }
        let response = app.admin_call(Method::POST, CHECK, &root, Some(json!({"user_id": plain_id, "permission": "user:read", "resource": ""}))).await;
        assert_problem(response, 422, "validation_failed").await;
    }
}
