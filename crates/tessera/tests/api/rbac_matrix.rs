//! The permission matrix, generated from `docs/rbac.md`: the two tables
//! between the `matrix:roles` and `matrix:routes` markers are parsed at test
//! time, each seeded role's effective permissions computed (parent chain,
//! `*` and `resource:*`), and every role is sent to every admin route. A
//! role whose permissions cover the route's must succeed with the
//! documented status; any other must get `403 forbidden`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::every_engine_admin;
use crate::helpers::{admin_token, member_with_roles, unique_email, TestApp, MEMBER_PASSWORD};

/// One row of the roles table.
#[derive(Debug, Clone)]
struct RoleRow {
    name: String,
    parent: Option<String>,
    permissions: Vec<String>,
}

/// One row of the routes table.
#[derive(Debug, Clone)]
struct RouteRow {
    method: String,
    path: String,
    permission: String,
}

/// The parsed document.
struct Matrix {
    roles: Vec<RoleRow>,
    routes: Vec<RouteRow>,
    builtin_permissions: Vec<String>,
}

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rbac.md");
    std::fs::read_to_string(path).expect("docs/rbac.md readable")
}

/// The text between `<!-- matrix:{name} -->` and `<!-- /matrix:{name} -->`.
fn section<'a>(doc: &'a str, name: &str) -> &'a str {
    let open = format!("<!-- matrix:{name} -->");
    let close = format!("<!-- /matrix:{name} -->");
    let start = doc
        .find(&open)
        .unwrap_or_else(|| panic!("{open} in docs/rbac.md"))
        + open.len();
    let end = doc
        .find(&close)
        .unwrap_or_else(|| panic!("{close} in docs/rbac.md"));
    &doc[start..end]
}

/// The backticked tokens of `text`.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, token)| token.trim().to_string())
        .collect()
}

/// The cells of the data rows of a markdown table (header and the `---`
/// separator skipped).
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(str::trim)
        .filter(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect()
}

fn parse(doc: &str) -> Matrix {
    let roles = table_rows(section(doc, "roles"))
        .into_iter()
        .map(|cells| {
            assert_eq!(cells.len(), 3, "roles row with 3 cells: {cells:?}");
            let name = backticked(&cells[0]).pop().expect("role name in backticks");
            let parent = backticked(&cells[1]).pop();
            RoleRow {
                name,
                parent,
                permissions: backticked(&cells[2]),
            }
        })
        .collect();
    let routes = table_rows(section(doc, "routes"))
        .into_iter()
        .map(|cells| {
            assert_eq!(cells.len(), 3, "routes row with 3 cells: {cells:?}");
            RouteRow {
                method: cells[0].clone(),
                path: backticked(&cells[1]).pop().expect("path in backticks"),
                permission: backticked(&cells[2]).pop().expect("permission in backticks"),
            }
        })
        .collect();
    let start = doc
        .find("Built-in permissions:")
        .expect("built-in permission list");
    let list = &doc[start..];
    let end = list.find("\n\n").unwrap_or(list.len());
    Matrix {
        roles,
        routes,
        builtin_permissions: backticked(&list[..end]),
    }
}

/// Whether the grants `held` cover `permission` (`*`, `resource:*`).
fn covers(held: &[String], permission: &str) -> bool {
    held.iter().any(|grant| {
        grant == "*"
            || grant == permission
            || grant
                .strip_suffix(":*")
                .is_some_and(|resource| permission.split(':').next() == Some(resource))
    })
}

/// Each role's effective permissions: its own and its ancestors'.
fn effective(roles: &[RoleRow]) -> BTreeMap<String, Vec<String>> {
    let by_name: BTreeMap<&str, &RoleRow> = roles.iter().map(|r| (r.name.as_str(), r)).collect();
    roles
        .iter()
        .map(|role| {
            let mut permissions = Vec::new();
            let mut current = Some(role);
            let mut hops = 0;
            while let Some(row) = current {
                permissions.extend(row.permissions.iter().cloned());
                hops += 1;
                assert!(
                    hops <= roles.len(),
                    "cycle in the documented role tree at {}",
                    role.name
                );
                current = row
                    .parent
                    .as_deref()
                    .map(|p| *by_name.get(p).unwrap_or_else(|| panic!("parent {p} documented")));
            }
            (role.name.clone(), permissions)
        })
        .collect()
}

/// A call prepared for one role × route cell.
struct Prepared {
    method: Method,
    path: String,
    body: Option<Value>,
    /// The documented success status.
    success: u16,
}

/// Fresh names for everything the matrix creates.
struct Fresh(u32);

impl Fresh {
    fn next(&mut self, prefix: &str) -> String {
        self.0 += 1;
        format!("{prefix}{}", self.0)
    }
}

/// Creates (as `root`) the targets `route` addresses and fills the body.
/// `grantable` is a catalogue permission the caller holds, attached or
/// detached on the role-permission routes: the rank rule (tested in
/// `admin_roles.rs`) would refuse any other even to a caller holding the
/// route's permission, and this file checks the permission guard only.
async fn prepare(
    app: &TestApp,
    root: &str,
    route: &RouteRow,
    grantable: &str,
    fresh: &mut Fresh,
) -> Prepared {
    let method = Method::from_bytes(route.method.as_bytes()).expect("documented method");
    let mut path = route.path.clone();
    let mut body = None;
    let is_user = path.starts_with("/api/v1/admin/users/{id}");
    let is_client = path.starts_with("/api/v1/admin/clients/{id}");
    let is_role = path.starts_with("/api/v1/admin/roles/{name}");
    let is_permission = path.starts_with("/api/v1/admin/permissions/{name}");
    let is_tenant = path.starts_with("/api/v1/admin/tenants/{slug}");

    if is_user {
        let target = member_with_roles(app, root, &["user"]).await;
        let base = format!("/api/v1/admin/users/{}", target.id);
        if path.ends_with("/reactivate") {
            app.admin_ok(Method::POST, &format!("{base}/suspend"), root, None, 200)
                .await;
        }
        if path.ends_with("/roles/{role}") {
            app.admin_ok(
                Method::POST,
                &format!("{base}/roles"),
                root,
                Some(json!({"role": "guest"})),
                200,
            )
            .await;
            path = path.replace("{role}", "guest");
        }
        path = path.replace("{id}", &target.id);
    }
    if is_client {
        let name = fresh.next("matrix-client-");
        let created = app
            .admin_ok(
                Method::POST,
                "/api/v1/admin/clients",
                root,
                Some(json!({"name": name, "client_type": "confidential", "grant_types": ["client_credentials"], "scopes": []})),
                201,
            )
            .await;
        let id = created["client_id"].as_str().expect("client_id").to_string();
        if path.ends_with("/roles/{role}") {
            let roles = format!("/api/v1/admin/clients/{id}/roles");
            app.admin_ok(Method::POST, &roles, root, Some(json!({"role": "guest"})), 200)
                .await;
            path = path.replace("{role}", "guest");
        }
        path = path.replace("{id}", &id);
    }
    if is_role {
        let name = fresh.next("matrix-role-");
        app.admin_ok(
            Method::POST,
            "/api/v1/admin/roles",
            root,
            Some(json!({"name": name})),
            201,
        )
        .await;
        if path.ends_with("/permissions/{permission}") && method == Method::DELETE {
            let grant = format!("/api/v1/admin/roles/{name}/permissions/{grantable}");
            app.admin_ok(Method::PUT, &grant, root, None, 200).await;
        }
        path = path.replace("{name}", &name).replace("{permission}", grantable);
    }
    if is_permission {
        let name = format!("{}:do", fresh.next("x.test"));
        app.admin_ok(
            Method::POST,
            "/api/v1/admin/permissions",
            root,
            Some(json!({"name": name})),
            201,
        )
        .await;
        path = path.replace("{name}", &name);
    }
    if is_tenant {
        let slug = fresh.next("matrix-tenant-");
        app.admin_ok(
            Method::POST,
            "/api/v1/admin/tenants",
            root,
            Some(json!({"slug": slug, "name": "Matrix tenant"})),
            201,
        )
        .await;
        path = path.replace("{slug}", &slug);
    }

    let success = match (route.method.as_str(), route.path.as_str()) {
        ("GET", _) => 200,
        ("POST", "/api/v1/admin/users") => {
            body = Some(json!({"email": unique_email("matrix"), "password": MEMBER_PASSWORD}));
            201
        }
        ("PATCH", "/api/v1/admin/users/{id}") => {
            body = Some(json!({"display_name": "Matrix"}));
            200
        }
        ("POST", "/api/v1/admin/users/{id}/password") => {
            body = Some(json!({"password": "another-Plausible-Passphrase-7"}));
            204
        }
        ("POST", "/api/v1/admin/users/{id}/roles") | ("POST", "/api/v1/admin/clients/{id}/roles") => {
            body = Some(json!({"role": "guest"}));
            200
        }
        ("POST", "/api/v1/admin/roles") => {
            body = Some(json!({"name": fresh.next("matrix-new-role-")}));
            201
        }
        ("PATCH", "/api/v1/admin/roles/{name}") => {
            body = Some(json!({"description": "changed by the matrix"}));
            200
        }
        ("POST", "/api/v1/admin/permissions") => {
            body = Some(json!({"name": format!("{}:do", fresh.next("x.new"))}));
            201
        }
        ("POST", "/api/v1/admin/clients") => {
            body = Some(
                json!({"name": "Matrix", "client_type": "confidential", "grant_types": ["client_credentials"], "scopes": []}),
            );
            201
        }
        ("PATCH", "/api/v1/admin/clients/{id}") => {
            body = Some(json!({"name": "Matrix renamed"}));
            200
        }
        ("POST", "/api/v1/admin/clients/{id}/secret") => 200,
        ("POST", "/api/v1/admin/tenants") => {
            body = Some(json!({"slug": fresh.next("matrix-new-tenant-"), "name": "Matrix"}));
            201
        }
        ("PATCH", "/api/v1/admin/tenants/{slug}") => {
            body = Some(json!({"name": "Matrix renamed"}));
            200
        }
        ("POST", "/api/v1/admin/keys/rotate") => {
            body = Some(json!({}));
            201
        }
        ("POST", "/api/v1/authz/check") => {
            let target = member_with_roles(app, root, &["user"]).await;
            body = Some(json!({"user_id": target.id, "permission": "user:read"}));
            200
        }
        ("DELETE", p) if p.ends_with("/roles/{role}") || p.ends_with("/permissions/{permission}") => 200,
        ("DELETE", _) => 204,
        ("PUT", _) => 200,
        // suspend, disable, reactivate, logout
        ("POST", _) => 200,
        (other, p) => panic!("no request prepared for {other} {p}"),
    };
    Prepared {
        method,
        path,
        body,
        success,
    }
}

every_engine_admin! {
    async fn every_seeded_role_gets_exactly_the_documented_admin_routes(app) {
        let matrix = parse(&doc());
        let names: Vec<&str> = matrix.roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["guest", "user", "moderator", "admin", "super_admin"], "the five seeded roles documented");
        assert!(matrix.routes.len() >= 30, "at least 30 documented routes, parsed {}", matrix.routes.len());
        assert!(matrix.builtin_permissions.len() >= 20, "built-in permission list parsed: {:?}", matrix.builtin_permissions);
        let effective = effective(&matrix.roles);
        assert!(covers(&effective["admin"], "user:read") && !covers(&effective["admin"], "key:rotate"), "admin inherits user:* but no key:*");
        assert!(covers(&effective["super_admin"], "key:rotate"), "super_admin holds *");

        let root = admin_token(&app).await;
        let mut callers = BTreeMap::new();
        for role in &names {
            callers.insert(role.to_string(), member_with_roles(&app, &root, &[role]).await.tokens.access_token);
        }

        let mut fresh = Fresh(0);
        let mut mismatches = Vec::new();
        let mut cells = 0;
        for role in &names {
            let held = &effective[*role];
            let grantable = matrix
                .builtin_permissions
                .iter()
                .find(|p| covers(held, p))
                .cloned()
                .unwrap_or_else(|| "session:read".to_string());
            for route in &matrix.routes {
                let prepared = prepare(&app, &root, route, &grantable, &mut fresh).await;
                let response = app.admin_call(prepared.method.clone(), &prepared.path, &callers[*role], prepared.body.clone()).await;
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                let code = serde_json::from_str::<Value>(&text).ok().and_then(|b| b["code"].as_str().map(str::to_string)).unwrap_or_default();
                let allowed = covers(held, &route.permission);
                let ok = if allowed { status == prepared.success } else { status == 403 && code == "forbidden" };
                cells += 1;
                if !ok {
                    let expected = if allowed { prepared.success.to_string() } else { "403 forbidden".to_string() };
                    let detail: String = text.chars().take(160).collect();
                    mismatches.push(format!(
                        "{role:<12} {:<6} {:<55} needs {:<18} expected {expected:<14} got {status} {code} {detail}",
                        route.method, route.path, route.permission
                    ));
                }
            }
        }
        assert_eq!(cells, names.len() * matrix.routes.len());
        assert!(mismatches.is_empty(), "{} of {cells} role × route cells differ from docs/rbac.md:\n{}", mismatches.len(), mismatches.join("\n"));
    }
}

#[test]
fn the_matrix_parser_understands_wildcards_and_inheritance() {
    let matrix = parse(&doc());
    let effective = effective(&matrix.roles);
    assert!(
        effective["guest"].is_empty(),
        "guest holds nothing: {:?}",
        effective["guest"]
    );
    assert!(covers(&effective["moderator"], "user:suspend"));
    assert!(
        !covers(&effective["moderator"], "role:assign"),
        "moderator may not assign roles"
    );
    assert!(
        covers(&effective["admin"], "user:suspend"),
        "admin inherits moderator"
    );
    assert!(covers(&["user:*".to_string()], "user:delete"));
    assert!(
        !covers(&["user:*".to_string()], "users:delete"),
        "user:* does not cover another resource"
    );
    assert_eq!(backticked("`*` (so also `tenant:*`)"), ["*", "tenant:*"]);
}
