//! Permissions, roles and their assignment to users and machine clients.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{
    Conflict, KeepLastHolder, Permission, RbacStore, Role, RoleUpdate, StoreError, StoreResult,
};
use uuid::Uuid;

use crate::decode::{self, PERMISSION_COLUMNS, ROLE_COLUMNS};
use crate::engine::{Engine, Exec, SqlRow, Transaction};
use crate::role_assignment::{assign_client_role, assign_user_role, guard_last_holder, role_names};
use crate::{args, SqlStore};

/// How an insert treats a row that exists already.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnDuplicate {
    /// Leave it (seeding: another node may be seeding the same rows).
    Keep,
    /// Fail with the conflict (an administrator's create).
    Refuse,
}

/// Inserts one row with `sql`, as `on_duplicate` says.
async fn insert(
    exec: &mut impl Exec,
    sql: &str,
    args: &[crate::Arg<'_>],
    on_duplicate: OnDuplicate,
    conflict: Conflict,
) -> StoreResult<()> {
    match on_duplicate {
        OnDuplicate::Keep => exec.insert_unless_duplicate(sql, args).await.map(drop),
        OnDuplicate::Refuse => exec
            .execute(sql, args)
            .await
            .map(drop)
            .map_err(|e| e.on(conflict)),
    }
}

/// Inserts one permission row of `tenant_id`.
async fn insert_permission(
    exec: &mut impl Exec,
    tenant_id: Uuid,
    permission: &Permission,
    on_duplicate: OnDuplicate,
) -> StoreResult<()> {
    let sql = format!("insert into permission ({PERMISSION_COLUMNS}) values ($1, $2, $3, $4, $5)");
    let values = args![
        tenant_id,
        &permission.name,
        &permission.description,
        permission.builtin,
        permission.created_at
    ];
    insert(exec, &sql, &values, on_duplicate, Conflict::Permission).await
}

/// Inserts one role row of `tenant_id` and its permission grants.
async fn insert_role(
    exec: &mut impl Exec,
    tenant_id: Uuid,
    role: &Role,
    on_duplicate: OnDuplicate,
) -> StoreResult<()> {
    let sql = format!("insert into role ({ROLE_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7)");
    let values = args![
        tenant_id,
        &role.name,
        &role.description,
        &role.parent,
        role.builtin,
        role.created_at,
        role.updated_at
    ];
    insert(exec, &sql, &values, on_duplicate, Conflict::Role).await?;
    for permission in &role.permissions {
        insert_grant(exec, tenant_id, &role.name, permission).await?;
    }
    Ok(())
}

/// Grants `permission` to a role; granting it twice keeps one row.
async fn insert_grant(
    exec: &mut impl Exec,
    tenant_id: Uuid,
    role: &str,
    permission: &str,
) -> StoreResult<()> {
    exec.insert_unless_duplicate(
        "insert into role_permission (tenant_id, role_name, permission) values ($1, $2, $3)",
        &args![tenant_id, role, permission],
    )
    .await?;
    Ok(())
}

/// The roles of a tenant (one, when `name` is given) with their grants.
async fn select_roles(exec: &mut impl Exec, tenant_id: Uuid, name: Option<&str>) -> StoreResult<Vec<Role>> {
    let sql = format!(
        "select {ROLE_COLUMNS} from role where tenant_id = $1 and ($2 is null or name = $2) order by name"
    );
    let rows = exec.fetch_all(&sql, &args![tenant_id, name]).await?;
    let grants = exec
        .fetch_all(
            "select role_name, permission from role_permission \
             where tenant_id = $1 and ($2 is null or role_name = $2) order by role_name, permission",
            &args![tenant_id, name],
        )
        .await?;
    let mut roles = rows.iter().map(decode::role).collect::<StoreResult<Vec<_>>>()?;
    for grant in &grants {
        let role_name = grant.text("role_name")?;
        if let Some(role) = roles.iter_mut().find(|r| r.name == role_name) {
            role.permissions.push(grant.text("permission")?);
        }
    }
    Ok(roles)
}

/// One role with its grants; `NotFound` if missing.
async fn select_role(exec: &mut impl Exec, tenant_id: Uuid, name: &str) -> StoreResult<Role> {
    select_roles(exec, tenant_id, Some(name))
        .await?
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound)
}

/// `NotFound` unless the tenant has a role called `name`.
async fn require_role(exec: &mut impl Exec, tenant_id: Uuid, name: &str) -> StoreResult<()> {
    exec.fetch_one(
        "select 1 as found from role where tenant_id = $1 and name = $2",
        &args![tenant_id, name],
    )
    .await?;
    Ok(())
}

/// Bumps a role's `updated_at`; `NotFound` if it does not exist.
async fn touch_role(
    exec: &mut impl Exec,
    tenant_id: Uuid,
    name: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let updated = exec
        .execute(
            "update role set updated_at = $3 where tenant_id = $1 and name = $2",
            &args![tenant_id, name, now],
        )
        .await?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[async_trait]
impl<E: Engine> RbacStore for SqlStore<E> {
    async fn seed_rbac(
        &self,
        tenant_id: Uuid,
        permissions: &[Permission],
        roles: &[Role],
    ) -> StoreResult<bool> {
        let mut tx = self.engine.begin().await?;
        // Seeders of one tenant queue on its row, so the second one sees the
        // first one's roles and reports that it changed nothing.
        tx.lock("select 1 from tenant where tenant_id = $1", &args![tenant_id])
            .await?;
        let existing = tx
            .fetch_one(
                "select count(*) as n from role where tenant_id = $1",
                &args![tenant_id],
            )
            .await?
            .i64("n")?;
        if existing > 0 {
            return Ok(false);
        }
        // Duplicates are kept everywhere: another node seeding at the same
        // moment ends with the same rows.
        for permission in permissions {
            insert_permission(&mut tx, tenant_id, permission, OnDuplicate::Keep).await?;
        }
        for role in roles {
            insert_role(&mut tx, tenant_id, role, OnDuplicate::Keep).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn list_permissions(&self, tenant_id: Uuid) -> StoreResult<Vec<Permission>> {
        let sql = format!("select {PERMISSION_COLUMNS} from permission where tenant_id = $1 order by name");
        let rows = self.engine.reader().fetch_all(&sql, &args![tenant_id]).await?;
        rows.iter().map(decode::permission).collect()
    }

    async fn create_permission(&self, permission: &Permission) -> StoreResult<()> {
        insert_permission(
            &mut self.engine.writer(),
            permission.tenant_id,
            permission,
            OnDuplicate::Refuse,
        )
        .await
    }

    async fn delete_permission(&self, tenant_id: Uuid, name: &str) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        let deleted = tx
            .execute(
                "delete from permission where tenant_id = $1 and name = $2",
                &args![tenant_id, name],
            )
            .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        tx.execute(
            "delete from role_permission where tenant_id = $1 and permission = $2",
            &args![tenant_id, name],
        )
        .await?;
        tx.commit().await
    }

    async fn list_roles(&self, tenant_id: Uuid) -> StoreResult<Vec<Role>> {
        select_roles(&mut self.engine.reader(), tenant_id, None).await
    }

    async fn get_role(&self, tenant_id: Uuid, name: &str) -> StoreResult<Role> {
        select_role(&mut self.engine.reader(), tenant_id, name).await
    }

    async fn create_role(&self, role: &Role) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        if let Some(parent) = &role.parent {
            require_role(&mut tx, role.tenant_id, parent).await?;
        }
        insert_role(&mut tx, role.tenant_id, role, OnDuplicate::Refuse).await?;
        tx.commit().await
    }

    async fn update_role(
        &self,
        tenant_id: Uuid,
        name: &str,
        update: &RoleUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Role> {
        let mut tx = self.engine.begin().await?;
        if let Some(Some(parent)) = &update.parent {
            require_role(&mut tx, tenant_id, parent).await?;
        }
        let updated = tx
            .execute(
                "update role set \
                    description = case when $3 then $4 else description end, \
                    parent_name = case when $5 then $6 else parent_name end, \
                    updated_at = $7 \
                 where tenant_id = $1 and name = $2",
                &args![
                    tenant_id,
                    name,
                    update.description.is_some(),
                    update.description.as_ref().and_then(Option::as_deref),
                    update.parent.is_some(),
                    update.parent.as_ref().and_then(Option::as_deref),
                    now
                ],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        let role = select_role(&mut tx, tenant_id, name).await?;
        tx.commit().await?;
        Ok(role)
    }

    async fn delete_role(&self, tenant_id: Uuid, name: &str) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        require_role(&mut tx, tenant_id, name).await?;
        let child = tx
            .fetch_optional(
                "select 1 as found from role where tenant_id = $1 and parent_name = $2 limit 1",
                &args![tenant_id, name],
            )
            .await?;
        if child.is_some() {
            return Err(StoreError::Conflict(Conflict::Parent));
        }
        // Grants and assignments go by `on delete cascade`.
        tx.execute(
            "delete from role where tenant_id = $1 and name = $2",
            &args![tenant_id, name],
        )
        .await?;
        tx.commit().await
    }

    async fn grant_role_permission(
        &self,
        tenant_id: Uuid,
        role: &str,
        permission: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        touch_role(&mut tx, tenant_id, role, now).await?;
        insert_grant(&mut tx, tenant_id, role, permission).await?;
        tx.commit().await
    }

    async fn revoke_role_permission(
        &self,
        tenant_id: Uuid,
        role: &str,
        permission: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        let deleted = tx
            .execute(
                "delete from role_permission where tenant_id = $1 and role_name = $2 and permission = $3",
                &args![tenant_id, role, permission],
            )
            .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        touch_role(&mut tx, tenant_id, role, now).await?;
        tx.commit().await
    }

    async fn list_user_roles(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<Vec<String>> {
        let rows = self
            .engine
            .reader()
            .fetch_all(
                "select role_name from user_role where tenant_id = $1 and user_id = $2 order by role_name",
                &args![tenant_id, user_id],
            )
            .await?;
        role_names(&rows)
    }

    async fn assign_user_role(&self, tenant_id: Uuid, user_id: Uuid, role: &str) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        assign_user_role(&mut tx, tenant_id, user_id, role).await?;
        tx.commit().await
    }

    async fn remove_user_role(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        role: &str,
        keep: Option<KeepLastHolder<'_>>,
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        // Only taking away the protected role itself can lose its last holder.
        if keep.is_some_and(|k| k.role == role) {
            guard_last_holder(&mut tx, tenant_id, user_id, keep).await?;
        }
        let deleted = tx
            .execute(
                "delete from user_role where tenant_id = $1 and user_id = $2 and role_name = $3",
                &args![tenant_id, user_id, role],
            )
            .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await
    }

    async fn list_client_roles(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<Vec<String>> {
        let rows = self
            .engine
            .reader()
            .fetch_all(
                "select role_name from client_role where tenant_id = $1 and client_id = $2 order by role_name",
                &args![tenant_id, client_id],
            )
            .await?;
        role_names(&rows)
    }

    async fn assign_client_role(&self, tenant_id: Uuid, client_id: Uuid, role: &str) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        assign_client_role(&mut tx, tenant_id, client_id, role).await?;
        tx.commit().await
    }

    async fn remove_client_role(&self, tenant_id: Uuid, client_id: Uuid, role: &str) -> StoreResult<()> {
        let deleted = self
            .engine
            .writer()
            .execute(
                "delete from client_role where tenant_id = $1 and client_id = $2 and role_name = $3",
                &args![tenant_id, client_id, role],
            )
            .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
