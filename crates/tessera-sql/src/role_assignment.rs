//! Roles held by users and machine clients, and the guard that keeps a
//! tenant from losing its last active holder of a protected role.

use tessera_store::{Conflict, KeepLastHolder, StoreError, StoreResult};
use uuid::Uuid;

use crate::args;
use crate::engine::{Exec, SqlRow};

/// Gives a user (of the tenant) a role (of the tenant), inside the caller's
/// transaction; already holding it is fine. `NotFound` if either is missing.
pub(crate) async fn assign_user_role(
    exec: &mut impl Exec,
    tenant_id: Uuid,
    user_id: Uuid,
    role: &str,
) -> StoreResult<()> {
    let found = exec
        .fetch_one(
            "select exists (select 1 from user_account where tenant_id = $1 and user_id = $2) \
                and exists (select 1 from role where tenant_id = $1 and name = $3) as found",
            &args![tenant_id, user_id, role],
        )
        .await?
        .bool("found")?;
    if !found {
        return Err(StoreError::NotFound);
    }
    exec.insert_unless_duplicate(
        "insert into user_role (tenant_id, user_id, role_name) values ($1, $2, $3)",
        &args![tenant_id, user_id, role],
    )
    .await?;
    Ok(())
}

/// Gives a machine client a role, inside the caller's transaction; already
/// holding it is fine. `NotFound` if the client or the role is missing.
pub(crate) async fn assign_client_role(
    exec: &mut impl Exec,
    tenant_id: Uuid,
    client_id: Uuid,
    role: &str,
) -> StoreResult<()> {
    let found = exec
        .fetch_one(
            "select exists (select 1 from client where tenant_id = $1 and client_id = $2) \
                and exists (select 1 from role where tenant_id = $1 and name = $3) as found",
            &args![tenant_id, client_id, role],
        )
        .await?
        .bool("found")?;
    if !found {
        return Err(StoreError::NotFound);
    }
    exec.insert_unless_duplicate(
        "insert into client_role (tenant_id, client_id, role_name) values ($1, $2, $3)",
        &args![tenant_id, client_id, role],
    )
    .await?;
    Ok(())
}

/// Refuses with `Conflict(LastHolder)` when `user_id` is the only active,
/// undeleted user of the tenant holding `keep.role` directly. Runs inside
/// the caller's transaction and first locks the role's own row, so
/// concurrent guarded writes on the same role run one after the other and
/// each counts what the previous one committed (every engine reads
/// committed data per statement; SQLite's write transactions exclude each
/// other anyway). The lock is on that one row by its primary key, not on
/// the assignment rows: locking those goes through whichever index the
/// planner picks, and MariaDB was seen to pick the primary key in one
/// transaction and the `(tenant_id, role_name)` index in the other, which
/// locks the same rows in two orders and deadlocks.
pub(crate) async fn guard_last_holder(
    exec: &mut impl Exec,
    tenant_id: Uuid,
    user_id: Uuid,
    keep: Option<KeepLastHolder<'_>>,
) -> StoreResult<()> {
    let Some(keep) = keep else {
        return Ok(());
    };
    exec.lock(
        "select 1 from role where tenant_id = $1 and name = $2",
        &args![tenant_id, keep.role],
    )
    .await?;
    let row = exec
        .fetch_one(
            "select \
                exists (select 1 from user_role r join user_account u on u.user_id = r.user_id \
                        where r.tenant_id = $1 and r.role_name = $2 and r.user_id = $3 \
                          and u.status = 'active' and u.deleted_at is null) as holds, \
                (select count(*) from user_role r join user_account u on u.user_id = r.user_id \
                 where r.tenant_id = $1 and r.role_name = $2 and r.user_id <> $3 \
                   and u.status = 'active' and u.deleted_at is null) as others",
            &args![tenant_id, keep.role, user_id],
        )
        .await?;
    if row.bool("holds")? && row.i64("others")? == 0 {
        return Err(StoreError::Conflict(Conflict::LastHolder));
    }
    Ok(())
}

/// Names of roles from a `select role_name` query.
pub(crate) fn role_names(rows: &[impl SqlRow]) -> StoreResult<Vec<String>> {
    rows.iter().map(|row| row.text("role_name")).collect()
}
