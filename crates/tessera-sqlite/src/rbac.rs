//! Permissions, roles and their assignment to users and machine clients.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::Row;
use tessera_store::{KeepLastHolder, Permission, Role, RoleUpdate, StoreError, StoreResult};
use uuid::Uuid;

use crate::error::{conflict_on, map_err};
use crate::row::{self, id, ms};
use crate::user_admin::{assign_role, guard_last_holder};
use crate::BEGIN_WRITE;

/// Columns of `role`, as [`row::role`] reads them.
const ROLE_COLUMNS: &str = "tenant_id, name, description, parent_name, builtin, created_at, updated_at";

/// See [`tessera_store::Store::seed_rbac`].
pub(crate) async fn seed(
    writer: &SqlitePool,
    tenant_id: Uuid,
    permissions: &[Permission],
    roles: &[Role],
) -> StoreResult<bool> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    let existing: i64 = sqlx::query("select count(*) as n from role where tenant_id = $1")
        .bind(id(tenant_id))
        .fetch_one(&mut *tx)
        .await
        .and_then(|row| row.try_get("n"))
        .map_err(map_err)?;
    if existing > 0 {
        tx.rollback().await.map_err(map_err)?;
        return Ok(false);
    }
    // `on conflict do nothing` everywhere: another node seeding at the same
    // moment ends with the same rows.
    for permission in permissions {
        insert_permission(&mut tx, tenant_id, permission, " on conflict do nothing").await?;
    }
    for role in roles {
        insert_role(&mut tx, tenant_id, role, " on conflict do nothing").await?;
    }
    tx.commit().await.map_err(map_err)?;
    Ok(true)
}

/// Inserts one permission row (of `tenant_id`), with `on_conflict` appended.
async fn insert_permission(
    conn: &mut SqliteConnection,
    tenant_id: Uuid,
    permission: &Permission,
    on_conflict: &str,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "insert into permission (tenant_id, name, description, builtin, created_at) \
         values ($1, $2, $3, $4, $5){on_conflict}"
    ))
    .bind(id(tenant_id))
    .bind(&permission.name)
    .bind(&permission.description)
    .bind(permission.builtin)
    .bind(ms(permission.created_at))
    .execute(&mut *conn)
    .await
    .map_err(conflict_on("permission"))?;
    Ok(())
}

/// Inserts one role row (of `tenant_id`) and its permission rows, with
/// `on_conflict` appended to the role insert.
async fn insert_role(
    conn: &mut SqliteConnection,
    tenant_id: Uuid,
    role: &Role,
    on_conflict: &str,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "insert into role ({ROLE_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7){on_conflict}"
    ))
    .bind(id(tenant_id))
    .bind(&role.name)
    .bind(&role.description)
    .bind(&role.parent)
    .bind(role.builtin)
    .bind(ms(role.created_at))
    .bind(ms(role.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(conflict_on("role"))?;
    for permission in &role.permissions {
        insert_grant(&mut *conn, tenant_id, &role.name, permission).await?;
    }
    Ok(())
}

/// Grants `permission` to a role; granting it twice keeps one row.
async fn insert_grant(
    conn: &mut SqliteConnection,
    tenant_id: Uuid,
    role: &str,
    permission: &str,
) -> StoreResult<()> {
    sqlx::query(
        "insert into role_permission (tenant_id, role_name, permission) values ($1, $2, $3) \
         on conflict do nothing",
    )
    .bind(id(tenant_id))
    .bind(role)
    .bind(permission)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// See [`tessera_store::Store::list_permissions`].
pub(crate) async fn list_permissions(reader: &SqlitePool, tenant_id: Uuid) -> StoreResult<Vec<Permission>> {
    let rows = sqlx::query(
        "select tenant_id, name, description, builtin, created_at from permission \
         where tenant_id = $1 order by name",
    )
    .bind(id(tenant_id))
    .fetch_all(reader)
    .await
    .map_err(map_err)?;
    rows.iter().map(row::permission).collect()
}

/// See [`tessera_store::Store::create_permission`].
pub(crate) async fn create_permission(writer: &SqlitePool, permission: &Permission) -> StoreResult<()> {
    let mut conn = writer.acquire().await.map_err(map_err)?;
    insert_permission(&mut conn, permission.tenant_id, permission, "").await
}

/// See [`tessera_store::Store::delete_permission`].
pub(crate) async fn delete_permission(writer: &SqlitePool, tenant_id: Uuid, name: &str) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    let deleted = sqlx::query("delete from permission where tenant_id = $1 and name = $2")
        .bind(id(tenant_id))
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("delete from role_permission where tenant_id = $1 and permission = $2")
        .bind(id(tenant_id))
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)
}

/// The roles of a tenant (one, when `name` is given) with their grants.
async fn select_roles(reader: &SqlitePool, tenant_id: Uuid, name: Option<&str>) -> StoreResult<Vec<Role>> {
    let rows = sqlx::query(&format!(
        "select {ROLE_COLUMNS} from role where tenant_id = $1 and ($2 is null or name = $2) \
         order by name"
    ))
    .bind(id(tenant_id))
    .bind(name)
    .fetch_all(reader)
    .await
    .map_err(map_err)?;
    let grants = sqlx::query(
        "select role_name, permission from role_permission \
         where tenant_id = $1 and ($2 is null or role_name = $2) order by role_name, permission",
    )
    .bind(id(tenant_id))
    .bind(name)
    .fetch_all(reader)
    .await
    .map_err(map_err)?;
    let mut roles = rows.iter().map(row::role).collect::<StoreResult<Vec<_>>>()?;
    for grant in &grants {
        let role_name: String = grant.try_get("role_name").map_err(map_err)?;
        let permission: String = grant.try_get("permission").map_err(map_err)?;
        if let Some(role) = roles.iter_mut().find(|r| r.name == role_name) {
            role.permissions.push(permission);
        }
    }
    Ok(roles)
}

/// See [`tessera_store::Store::list_roles`].
pub(crate) async fn list_roles(reader: &SqlitePool, tenant_id: Uuid) -> StoreResult<Vec<Role>> {
    select_roles(reader, tenant_id, None).await
}

/// See [`tessera_store::Store::get_role`].
pub(crate) async fn get_role(reader: &SqlitePool, tenant_id: Uuid, name: &str) -> StoreResult<Role> {
    select_roles(reader, tenant_id, Some(name))
        .await?
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound)
}

/// `NotFound` unless the tenant has a role called `name`.
async fn require_role(conn: &mut SqliteConnection, tenant_id: Uuid, name: &str) -> StoreResult<()> {
    sqlx::query("select 1 from role where tenant_id = $1 and name = $2")
        .bind(id(tenant_id))
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// See [`tessera_store::Store::create_role`].
pub(crate) async fn create_role(writer: &SqlitePool, role: &Role) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    if let Some(parent) = &role.parent {
        require_role(&mut tx, role.tenant_id, parent).await?;
    }
    insert_role(&mut tx, role.tenant_id, role, "").await?;
    tx.commit().await.map_err(map_err)
}

/// See [`tessera_store::Store::update_role`].
pub(crate) async fn update_role(
    writer: &SqlitePool,
    reader: &SqlitePool,
    tenant_id: Uuid,
    name: &str,
    update: &RoleUpdate,
    now: DateTime<Utc>,
) -> StoreResult<Role> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    if let Some(Some(parent)) = &update.parent {
        require_role(&mut tx, tenant_id, parent).await?;
    }
    let updated = sqlx::query(
        "update role set \
            description = case when $3 then $4 else description end, \
            parent_name = case when $5 then $6 else parent_name end, \
            updated_at = $7 \
         where tenant_id = $1 and name = $2",
    )
    .bind(id(tenant_id))
    .bind(name)
    .bind(update.description.is_some())
    .bind(update.description.clone().flatten())
    .bind(update.parent.is_some())
    .bind(update.parent.clone().flatten())
    .bind(ms(now))
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    tx.commit().await.map_err(map_err)?;
    get_role(reader, tenant_id, name).await
}

/// See [`tessera_store::Store::delete_role`].
pub(crate) async fn delete_role(writer: &SqlitePool, tenant_id: Uuid, name: &str) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    require_role(&mut tx, tenant_id, name).await?;
    let child = sqlx::query("select 1 from role where tenant_id = $1 and parent_name = $2 limit 1")
        .bind(id(tenant_id))
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
    if child.is_some() {
        return Err(StoreError::Conflict("parent".to_owned()));
    }
    // Grants and assignments go by `on delete cascade`.
    sqlx::query("delete from role where tenant_id = $1 and name = $2")
        .bind(id(tenant_id))
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)
}

/// Bumps a role's `updated_at`; `NotFound` if it does not exist.
async fn touch_role(
    conn: &mut SqliteConnection,
    tenant_id: Uuid,
    name: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let updated = sqlx::query("update role set updated_at = $3 where tenant_id = $1 and name = $2")
        .bind(id(tenant_id))
        .bind(name)
        .bind(ms(now))
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// See [`tessera_store::Store::grant_role_permission`].
pub(crate) async fn grant_permission(
    writer: &SqlitePool,
    tenant_id: Uuid,
    role: &str,
    permission: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    touch_role(&mut tx, tenant_id, role, now).await?;
    insert_grant(&mut tx, tenant_id, role, permission).await?;
    tx.commit().await.map_err(map_err)
}

/// See [`tessera_store::Store::revoke_role_permission`].
pub(crate) async fn revoke_permission(
    writer: &SqlitePool,
    tenant_id: Uuid,
    role: &str,
    permission: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    let deleted = sqlx::query(
        "delete from role_permission where tenant_id = $1 and role_name = $2 and permission = $3",
    )
    .bind(id(tenant_id))
    .bind(role)
    .bind(permission)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    touch_role(&mut tx, tenant_id, role, now).await?;
    tx.commit().await.map_err(map_err)
}

/// Role names from a `select role_name` query.
fn role_names(rows: &[sqlx::sqlite::SqliteRow]) -> StoreResult<Vec<String>> {
    rows.iter()
        .map(|row| row.try_get::<String, _>("role_name").map_err(map_err))
        .collect()
}

/// See [`tessera_store::Store::list_user_roles`].
pub(crate) async fn list_user_roles(
    reader: &SqlitePool,
    tenant_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Vec<String>> {
    let rows = sqlx::query(
        "select role_name from user_role where tenant_id = $1 and user_id = $2 order by role_name",
    )
    .bind(id(tenant_id))
    .bind(id(user_id))
    .fetch_all(reader)
    .await
    .map_err(map_err)?;
    role_names(&rows)
}

/// See [`tessera_store::Store::assign_user_role`].
pub(crate) async fn assign_user_role(
    writer: &SqlitePool,
    tenant_id: Uuid,
    user_id: Uuid,
    role: &str,
) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    assign_role(&mut tx, tenant_id, user_id, role).await?;
    tx.commit().await.map_err(map_err)
}

/// See [`tessera_store::Store::remove_user_role`].
pub(crate) async fn remove_user_role(
    writer: &SqlitePool,
    tenant_id: Uuid,
    user_id: Uuid,
    role: &str,
    keep: Option<KeepLastHolder<'_>>,
) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    // Only taking away the protected role itself can lose its last holder.
    if keep.is_some_and(|k| k.role == role) {
        guard_last_holder(&mut tx, tenant_id, user_id, keep).await?;
    }
    let deleted =
        sqlx::query("delete from user_role where tenant_id = $1 and user_id = $2 and role_name = $3")
            .bind(id(tenant_id))
            .bind(id(user_id))
            .bind(role)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    tx.commit().await.map_err(map_err)
}

/// See [`tessera_store::Store::list_client_roles`].
pub(crate) async fn list_client_roles(
    reader: &SqlitePool,
    tenant_id: Uuid,
    client_id: Uuid,
) -> StoreResult<Vec<String>> {
    let rows = sqlx::query(
        "select role_name from client_role where tenant_id = $1 and client_id = $2 order by role_name",
    )
    .bind(id(tenant_id))
    .bind(id(client_id))
    .fetch_all(reader)
    .await
    .map_err(map_err)?;
    role_names(&rows)
}

/// See [`tessera_store::Store::assign_client_role`].
pub(crate) async fn assign_client_role(
    writer: &SqlitePool,
    tenant_id: Uuid,
    client_id: Uuid,
    role: &str,
) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    let found = sqlx::query(
        "select exists (select 1 from client where tenant_id = $1 and client_id = $2) \
            and exists (select 1 from role where tenant_id = $1 and name = $3) as found",
    )
    .bind(id(tenant_id))
    .bind(id(client_id))
    .bind(role)
    .fetch_one(&mut *tx)
    .await
    .and_then(|row| row.try_get::<bool, _>("found"))
    .map_err(map_err)?;
    if !found {
        return Err(StoreError::NotFound);
    }
    sqlx::query(
        "insert into client_role (tenant_id, client_id, role_name) values ($1, $2, $3) \
         on conflict do nothing",
    )
    .bind(id(tenant_id))
    .bind(id(client_id))
    .bind(role)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    tx.commit().await.map_err(map_err)
}

/// See [`tessera_store::Store::remove_client_role`].
pub(crate) async fn remove_client_role(
    writer: &SqlitePool,
    tenant_id: Uuid,
    client_id: Uuid,
    role: &str,
) -> StoreResult<()> {
    let deleted =
        sqlx::query("delete from client_role where tenant_id = $1 and client_id = $2 and role_name = $3")
            .bind(id(tenant_id))
            .bind(id(client_id))
            .bind(role)
            .execute(writer)
            .await
            .map_err(map_err)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
