//! `/api/v1/admin/roles` and `/api/v1/admin/permissions`: CRUD,
//! inheritance, cycles, built-in protection, wildcards, the rank rule, the
//! last super_admin, and that role changes apply at once.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::every_engine_admin;
use crate::helpers::{
    admin_token, assert_problem, jwt_part, member_with_roles, user_with_role, TestApp, MEMBER_PASSWORD,
};

const ROLES: &str = "/api/v1/admin/roles";
const PERMISSIONS: &str = "/api/v1/admin/permissions";
const USERS: &str = "/api/v1/admin/users";

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("array expected, got {value}"))
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn create_permission(app: &TestApp, token: &str, name: &str) -> Value {
    app.admin_ok(
        Method::POST,
        PERMISSIONS,
        token,
        Some(json!({"name": name, "description": "test"})),
        201,
    )
    .await
}

async fn create_role(app: &TestApp, token: &str, body: Value) -> Value {
    app.admin_ok(Method::POST, ROLES, token, Some(body), 201).await
}

async fn grant(app: &TestApp, token: &str, role: &str, permission: &str) -> reqwest::Response {
    app.admin_call(
        Method::PUT,
        &format!("{ROLES}/{role}/permissions/{permission}"),
        token,
        None,
    )
    .await
}

every_engine_admin! {
    async fn role_crud(app) {
        let root = admin_token(&app).await;
        create_permission(&app, &root, "invoice:approve").await;
        let role = create_role(&app, &root, json!({"name": "approver", "description": "Approves invoices", "parent": "user", "permissions": ["invoice:approve"]})).await;
        for field in ["name", "description", "parent", "permissions", "effective_permissions", "builtin", "created_at", "updated_at"] {
            assert!(role.get(field).is_some(), "role answers {field}: {role}");
        }
        assert_eq!((&role["name"], &role["description"], &role["parent"], &role["builtin"]), (&json!("approver"), &json!("Approves invoices"), &json!("user"), &json!(false)));
        assert_eq!(strings(&role["permissions"]), set(&["invoice:approve"]));

        let listed = app.admin_ok(Method::GET, ROLES, &root, None, 200).await;
        let names: BTreeSet<String> = listed["items"].as_array().expect("items").iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(names, set(&["guest", "user", "moderator", "admin", "super_admin", "approver"]), "seeded roles and the new one");
        let seeded = listed["items"].as_array().unwrap().iter().find(|r| r["name"] == "admin").unwrap();
        assert_eq!((&seeded["builtin"], &seeded["parent"]), (&json!(true), &json!("moderator")), "{seeded}");

        let fetched = app.admin_ok(Method::GET, &format!("{ROLES}/approver"), &root, None, 200).await;
        assert_eq!(fetched["name"], "approver");
        let changed = app.admin_ok(Method::PATCH, &format!("{ROLES}/approver"), &root, Some(json!({"description": "Signs off"})), 200).await;
        assert_eq!((&changed["description"], &changed["parent"]), (&json!("Signs off"), &json!("user")), "PATCH changes only the description");
        let detached = app.admin_ok(Method::PATCH, &format!("{ROLES}/approver"), &root, Some(json!({"parent": null})), 200).await;
        assert_eq!(detached["parent"], Value::Null, "parent: null detaches");

        assert_problem(app.admin_call(Method::POST, ROLES, &root, Some(json!({"name": "approver"}))).await, 409, "conflict").await;
        assert_problem(app.admin_call(Method::POST, ROLES, &root, Some(json!({"name": "Not A Name"}))).await, 422, "validation_failed").await;
        let unknown_parent = app.admin_call(Method::POST, ROLES, &root, Some(json!({"name": "orphan", "parent": "no-such-role"}))).await;
        assert!(matches!(unknown_parent.status().as_u16(), 404 | 422), "unknown parent refused, got {}", unknown_parent.status());

        app.admin_ok(Method::DELETE, &format!("{ROLES}/approver"), &root, None, 204).await;
        assert_problem(app.admin_call(Method::GET, &format!("{ROLES}/approver"), &root, None).await, 404, "not_found").await;
        assert_problem(app.admin_call(Method::DELETE, &format!("{ROLES}/approver"), &root, None).await, 404, "not_found").await;
    }

    async fn parents_are_inherited_in_effective_permissions_and_tokens(app) {
        let root = admin_token(&app).await;
        create_permission(&app, &root, "invoice:approve").await;
        create_permission(&app, &root, "report:read").await;
        create_role(&app, &root, json!({"name": "approver", "permissions": ["invoice:approve"]})).await;
        let senior = create_role(&app, &root, json!({"name": "senior", "parent": "approver"})).await;
        assert_eq!(strings(&senior["permissions"]), set(&[]), "nothing granted directly");
        assert_eq!(strings(&senior["effective_permissions"]), set(&["invoice:approve"]), "inherited from the parent");
        let moderator = app.admin_ok(Method::GET, &format!("{ROLES}/moderator"), &root, None, 200).await;
        assert_eq!(strings(&moderator["effective_permissions"]), set(&["user:read", "user:suspend", "session:revoke", "audit:read"]));

        let member = member_with_roles(&app, &root, &["senior"]).await;
        let claims = jwt_part(&member.tokens.access_token, 1);
        assert_eq!(claims["roles"], json!(["senior"]), "{claims}");
        assert_eq!(strings(&claims["permissions"]), set(&["invoice:approve"]), "token carries inherited permissions");

        let response = grant(&app, &root, "approver", "report:read").await;
        assert_eq!(response.status().as_u16(), 200, "grant to the parent");
        let senior = app.admin_ok(Method::GET, &format!("{ROLES}/senior"), &root, None, 200).await;
        assert_eq!(strings(&senior["effective_permissions"]), set(&["invoice:approve", "report:read"]), "a parent's new grant reaches the child");
        let again = app.login(&member.email, MEMBER_PASSWORD).await;
        assert_eq!(strings(&jwt_part(&again.access_token, 1)["permissions"]), set(&["invoice:approve", "report:read"]), "after re-login the token has it");
    }

    async fn a_parent_that_makes_a_cycle_is_409_role_cycle(app) {
        let root = admin_token(&app).await;
        create_role(&app, &root, json!({"name": "top"})).await;
        create_role(&app, &root, json!({"name": "middle", "parent": "top"})).await;
        create_role(&app, &root, json!({"name": "bottom", "parent": "middle"})).await;
        for (role, parent) in [("top", "bottom"), ("top", "middle"), ("middle", "middle")] {
            let response = app.admin_call(Method::PATCH, &format!("{ROLES}/{role}"), &root, Some(json!({"parent": parent}))).await;
            assert_problem(response, 409, "role_cycle").await;
        }
        let response = app.admin_call(Method::PATCH, &format!("{ROLES}/guest"), &root, Some(json!({"parent": "super_admin"}))).await;
        assert_problem(response, 409, "role_cycle").await;
        let top = app.admin_ok(Method::GET, &format!("{ROLES}/top"), &root, None, 200).await;
        assert_eq!(top["parent"], Value::Null, "refused cycles changed nothing");
    }

    async fn built_in_roles_and_parents_cannot_be_deleted(app) {
        let root = admin_token(&app).await;
        for role in ["guest", "user", "moderator", "admin", "super_admin"] {
            let response = app.admin_call(Method::DELETE, &format!("{ROLES}/{role}"), &root, None).await;
            assert_problem(response, 409, "builtin_protected").await;
        }
        create_role(&app, &root, json!({"name": "base"})).await;
        create_role(&app, &root, json!({"name": "derived", "parent": "base"})).await;
        assert_problem(app.admin_call(Method::DELETE, &format!("{ROLES}/base"), &root, None).await, 409, "conflict").await;
        app.admin_ok(Method::DELETE, &format!("{ROLES}/derived"), &root, None, 204).await;
        app.admin_ok(Method::DELETE, &format!("{ROLES}/base"), &root, None, 204).await;
    }

    async fn granting_and_revoking_permissions_including_wildcards(app) {
        let root = admin_token(&app).await;
        create_role(&app, &root, json!({"name": "ops"})).await;
        for permission in ["user:read", "user:*", "*"] {
            let response = grant(&app, &root, "ops", permission).await;
            assert_eq!(response.status().as_u16(), 200, "grant {permission}");
            let role: Value = response.json().await.unwrap();
            assert!(strings(&role["permissions"]).contains(permission), "{permission} granted: {role}");
        }
        let revoked = app.admin_ok(Method::DELETE, &format!("{ROLES}/ops/permissions/*"), &root, None, 200).await;
        assert_eq!(strings(&revoked["permissions"]), set(&["user:read", "user:*"]));
        let revoked = app.admin_ok(Method::DELETE, &format!("{ROLES}/ops/permissions/user:*"), &root, None, 200).await;
        assert_eq!(strings(&revoked["permissions"]), set(&["user:read"]));
        let response = app.admin_call(Method::DELETE, &format!("{ROLES}/ops/permissions/user:delete"), &root, None).await;
        assert_problem(response, 404, "not_found").await;
        let response = app.admin_call(Method::DELETE, &format!("{ROLES}/moderator/permissions/user:read"), &root, None).await;
        assert_eq!(response.status().as_u16(), 200, "a seeded role's direct grant can be revoked");
        grant(&app, &root, "moderator", "user:read").await.error_for_status().expect("and granted back");

        for missing in ["invoice:approve", "nothing:*"] {
            let response = grant(&app, &root, "ops", missing).await;
            assert_eq!(response.status().as_u16(), 404, "PUT …/permissions/{missing}: not in the catalogue is answered like a missing resource");
            assert_problem(response, 404, "not_found").await;
        }
        let mut wrong = Vec::new();
        for refused in ["User:Read", "user", "user:", ":read", "1user:read"] {
            let response = grant(&app, &root, "ops", refused).await;
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            if status != 422 || !text.contains("\"validation_failed\"") {
                wrong.push(format!("PUT {ROLES}/ops/permissions/{refused}: expected 422 validation_failed, got {status} {text}"));
            }
        }
        assert!(wrong.is_empty(), "invalid permission names must be 422:\n{}", wrong.join("\n"));
        assert_problem(grant(&app, &root, "no-such-role", "user:read").await, 404, "not_found").await;
    }

    async fn custom_permissions_can_be_created_and_deleted_built_in_ones_not(app) {
        let root = admin_token(&app).await;
        let created = create_permission(&app, &root, "invoice.line:approve").await;
        assert_eq!((&created["name"], &created["description"], &created["builtin"]), (&json!("invoice.line:approve"), &json!("test"), &json!(false)));
        assert!(created["created_at"].is_string(), "{created}");
        assert_problem(app.admin_call(Method::POST, PERMISSIONS, &root, Some(json!({"name": "invoice.line:approve"}))).await, 409, "conflict").await;
        for invalid in ["Invoice:approve", "invoice", "invoice:*", "*", "invoice:appr ove"] {
            assert_problem(app.admin_call(Method::POST, PERMISSIONS, &root, Some(json!({"name": invalid}))).await, 422, "validation_failed").await;
        }
        let listed = app.admin_ok(Method::GET, PERMISSIONS, &root, None, 200).await;
        let items = listed["items"].as_array().expect("items");
        assert!(items.iter().any(|p| p["name"] == "invoice.line:approve" && p["builtin"] == false));
        assert!(items.iter().any(|p| p["name"] == "key:rotate" && p["builtin"] == true), "built-ins listed as such");
        assert!(items.len() >= 27, "26 built-ins and ours: {}", items.len());

        create_role(&app, &root, json!({"name": "clerk", "permissions": ["invoice.line:approve", "user:read"]})).await;
        app.admin_ok(Method::DELETE, &format!("{PERMISSIONS}/invoice.line:approve"), &root, None, 204).await;
        let clerk = app.admin_ok(Method::GET, &format!("{ROLES}/clerk"), &root, None, 200).await;
        assert_eq!(strings(&clerk["permissions"]), set(&["user:read"]), "deleting a permission detaches it from every role");
        assert_problem(app.admin_call(Method::DELETE, &format!("{PERMISSIONS}/invoice.line:approve"), &root, None).await, 404, "not_found").await;
        assert_problem(app.admin_call(Method::DELETE, &format!("{PERMISSIONS}/user:read"), &root, None).await, 409, "builtin_protected").await;
    }

    async fn an_admin_cannot_manage_admins_or_super_admins(app) {
        let root = admin_token(&app).await;
        let (_, admin) = user_with_role(&app, &root, "admin").await;
        let (other_admin, _) = user_with_role(&app, &root, "admin").await;
        let root_id = jwt_part(&root, 1)["sub"].as_str().unwrap().to_string();
        for (target, held) in [(&other_admin, "admin"), (&root_id, "super_admin")] {
            let base = format!("{USERS}/{target}");
            let calls: [(Method, String, Option<Value>); 8] = [
                (Method::PATCH, base.clone(), Some(json!({"display_name": "pwned"}))),
                (Method::POST, format!("{base}/suspend"), None),
                (Method::POST, format!("{base}/disable"), None),
                (Method::POST, format!("{base}/logout"), None),
                (Method::POST, format!("{base}/password"), Some(json!({}))),
                (Method::POST, format!("{base}/roles"), Some(json!({"role": "guest"}))),
                (Method::DELETE, format!("{base}/roles/{held}"), None),
                (Method::DELETE, base.clone(), None),
            ];
            for (method, path, body) in calls {
                let response = app.admin_call(method.clone(), &path, &admin, body).await;
                assert_eq!(response.status().as_u16(), 403, "admin → {method} {path}: expected 403 rank_rule");
                assert_problem(response, 403, "rank_rule").await;
            }
        }
        let (plain, _) = user_with_role(&app, &root, "user").await;
        app.admin_ok(Method::POST, &format!("{USERS}/{plain}/suspend"), &admin, None, 200).await;
        let response = app.admin_call(Method::POST, &format!("{USERS}/{plain}/roles"), &admin, Some(json!({"role": "super_admin"}))).await;
        assert_problem(response, 403, "rank_rule").await;
        let response = app.admin_call(Method::POST, USERS, &admin, Some(json!({"email": crate::helpers::unique_email("esc"), "password": MEMBER_PASSWORD, "roles": ["super_admin"]}))).await;
        assert_problem(response, 403, "rank_rule").await;
        let response = app.admin_call(Method::POST, &format!("{USERS}/{plain}/roles"), &admin, Some(json!({"role": "moderator"}))).await;
        assert_eq!(response.status().as_u16(), 200, "an admin may hand out roles below it");
    }

    async fn an_admin_cannot_grant_permissions_it_lacks(app) {
        let root = admin_token(&app).await;
        let (_, admin) = user_with_role(&app, &root, "admin").await;
        app.admin_ok(Method::POST, ROLES, &admin, Some(json!({"name": "helpdesk", "permissions": ["user:read"]})), 201).await;
        for permission in ["key:rotate", "key:*", "tenant:create", "*"] {
            assert_problem(grant(&app, &admin, "helpdesk", permission).await, 403, "rank_rule").await;
        }
        assert_eq!(grant(&app, &admin, "helpdesk", "user:*").await.status().as_u16(), 200, "user:* is within admin's user:*");
        let response = app.admin_call(Method::POST, ROLES, &admin, Some(json!({"name": "tenant-maker", "permissions": ["tenant:create"]}))).await;
        assert_problem(response, 403, "rank_rule").await;
        let response = app.admin_call(Method::POST, ROLES, &admin, Some(json!({"name": "shadow", "parent": "super_admin"}))).await;
        assert_problem(response, 403, "rank_rule").await;
        let response = app.admin_call(Method::PATCH, &format!("{ROLES}/helpdesk"), &admin, Some(json!({"parent": "super_admin"}))).await;
        assert_problem(response, 403, "rank_rule").await;
        let response = app.admin_call(Method::PATCH, &format!("{ROLES}/super_admin"), &admin, Some(json!({"description": "mine"}))).await;
        assert_problem(response, 403, "rank_rule").await;
        let helpdesk = app.admin_ok(Method::GET, &format!("{ROLES}/helpdesk"), &root, None, 200).await;
        assert!(strings(&helpdesk["permissions"]).iter().all(|p| p.starts_with("user:")), "refusals changed nothing: {helpdesk}");
    }

    async fn a_moderator_can_suspend_users_but_not_admins_nor_assign_roles(app) {
        let root = admin_token(&app).await;
        let (_, moderator) = user_with_role(&app, &root, "moderator").await;
        let (plain, _) = user_with_role(&app, &root, "user").await;
        let (admin, _) = user_with_role(&app, &root, "admin").await;
        let suspended = app.admin_ok(Method::POST, &format!("{USERS}/{plain}/suspend"), &moderator, None, 200).await;
        assert_eq!(suspended["status"], "suspended");
        assert_problem(app.admin_call(Method::POST, &format!("{USERS}/{admin}/suspend"), &moderator, None).await, 403, "rank_rule").await;
        let response = app.admin_call(Method::POST, &format!("{USERS}/{plain}/roles"), &moderator, Some(json!({"role": "guest"}))).await;
        let problem = assert_problem(response, 403, "forbidden").await;
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("role:assign")), "the refusal names role:assign: {problem}");
        app.admin_ok(Method::POST, &format!("{USERS}/{plain}/reactivate"), &moderator, None, 200).await;
        app.admin_ok(Method::POST, &format!("{USERS}/{plain}/disable"), &root, None, 200).await;
        let response = app.admin_call(Method::POST, &format!("{USERS}/{plain}/reactivate"), &moderator, None).await;
        assert_problem(response, 403, "forbidden").await;
    }

    async fn the_last_super_admin_cannot_be_removed(app) {
        let root = admin_token(&app).await;
        let root_id = jwt_part(&root, 1)["sub"].as_str().unwrap().to_string();
        let base = format!("{USERS}/{root_id}");
        let attempts: [(Method, String); 5] = [
            (Method::DELETE, format!("{base}/roles/super_admin")),
            (Method::POST, format!("{base}/suspend")),
            (Method::POST, format!("{base}/disable")),
            (Method::DELETE, base.clone()),
            (Method::DELETE, format!("{base}?erase=true")),
        ];
        for (method, path) in &attempts {
            let response = app.admin_call(method.clone(), path, &root, None).await;
            assert_eq!(response.status().as_u16(), 409, "{method} {path} on the only super_admin: expected 409 last_super_admin");
            assert_problem(response, 409, "last_super_admin").await;
        }
        assert_eq!(app.me(&root).await.status(), 200, "root still signed in");

        let second = member_with_roles(&app, &root, &["super_admin"]).await;
        let removed = app.admin_ok(Method::DELETE, &format!("{USERS}/{}/roles/super_admin", second.id), &root, None, 200).await;
        assert_eq!(removed["roles"], json!([]), "a super_admin may take the role from another: {removed}");
        for (method, path) in &attempts[..2] {
            assert_problem(app.admin_call(method.clone(), path, &root, None).await, 409, "last_super_admin").await;
        }

        // With two, one can step down; the other is then the last one.
        let third = member_with_roles(&app, &root, &["super_admin"]).await;
        app.admin_ok(Method::POST, &format!("{USERS}/{root_id}/suspend"), &third.tokens.access_token, None, 200).await;
        let path = format!("{USERS}/{}/roles/super_admin", third.id);
        assert_problem(app.admin_call(Method::DELETE, &path, &third.tokens.access_token, None).await, 409, "last_super_admin").await;
    }

    async fn wildcard_roles_cover_their_resource_or_everything(app) {
        let root = admin_token(&app).await;
        create_role(&app, &root, json!({"name": "user-ops", "permissions": ["user:*"]})).await;
        create_role(&app, &root, json!({"name": "everything", "permissions": ["*"]})).await;
        let (_, ops) = user_with_role(&app, &root, "user-ops").await;
        let (_, all) = user_with_role(&app, &root, "everything").await;
        let (plain, _) = user_with_role(&app, &root, "user").await;
        app.admin_ok(Method::GET, USERS, &ops, None, 200).await;
        app.admin_ok(Method::POST, &format!("{USERS}/{plain}/suspend"), &ops, None, 200).await;
        assert_problem(app.admin_call(Method::GET, ROLES, &ops, None).await, 403, "forbidden").await;
        assert_problem(app.admin_call(Method::GET, "/api/v1/admin/keys", &ops, None).await, 403, "forbidden").await;

        app.admin_ok(Method::GET, ROLES, &all, None, 200).await;
        app.admin_ok(Method::GET, "/api/v1/admin/keys", &all, None, 200).await;
        app.admin_ok(Method::POST, &format!("{USERS}/{plain}/reactivate"), &all, None, 200).await;
        app.admin_ok(Method::POST, PERMISSIONS, &all, Some(json!({"name": "wild:card"})), 201).await;
    }

    async fn a_removed_role_stops_working_at_once_with_the_same_token(app) {
        let root = admin_token(&app).await;
        let (id, token) = user_with_role(&app, &root, "admin").await;
        app.admin_ok(Method::GET, USERS, &token, None, 200).await;
        app.admin_ok(Method::DELETE, &format!("{USERS}/{id}/roles/admin"), &root, None, 200).await;
        let response = app.admin_call(Method::GET, USERS, &token, None).await;
        assert_problem(response, 403, "forbidden").await;
        app.admin_ok(Method::POST, &format!("{USERS}/{id}/roles"), &root, Some(json!({"role": "moderator"})), 200).await;
        app.admin_ok(Method::GET, USERS, &token, None, 200).await;
        assert_problem(app.admin_call(Method::GET, ROLES, &token, None).await, 403, "forbidden").await;
    }
}
