//! Stored emails and usernames put into the canonical form the service
//! layer gives: see [`tessera_store::UserStore::canonicalise_identifiers`].
//! Run at start-up and by `tessera migrate`, over every tenant.

use std::collections::BTreeMap;

use tessera_store::{
    IdentifierCollision, IdentifierKind, IdentifierReport, StoreError, StoreResult, StoredIdentifier,
};
use uuid::Uuid;

use crate::args;
use crate::engine::{Engine, Exec, SqlRow};

/// Rows read per round trip: four short columns each, so a table of a
/// million accounts costs two thousand small index-ordered reads, and only
/// the rows that change are held in memory.
const BATCH: i64 = 500;

/// The canonical form of one identifier kind's stored text, `None` when it
/// has none.
type Canonical<'a> = dyn Fn(IdentifierKind, &str) -> Option<String> + Send + Sync + 'a;

/// A stored identifier whose canonical form differs from its text.
struct Change {
    user_id: Uuid,
    stored: String,
}

/// Where a canonical value would go: (tenant, kind, canonical text).
type Target = (Uuid, IdentifierKind, String);

/// See [`tessera_store::UserStore::canonicalise_identifiers`].
pub(crate) async fn canonicalise<E: Engine>(
    engine: &E,
    canonical: &Canonical<'_>,
) -> StoreResult<IdentifierReport> {
    let mut report = IdentifierReport::default();
    let changes = scan(engine, canonical, &mut report).await?;
    for ((tenant_id, kind, value), group) in changes {
        let holders = holders(engine, tenant_id, kind, &value).await?;
        // Several old spellings meeting in one canonical value, or one
        // meeting an account that already has it: which account is the
        // person's is for an operator to say, so nothing is rewritten.
        let change = match group.as_slice() {
            [change] if holders.is_empty() => change,
            _ => {
                report
                    .collisions
                    .push(collision(tenant_id, kind, holders, &group));
                continue;
            }
        };
        let column = kind.as_str();
        // Only if the row still holds what was read: an account changed
        // meanwhile was changed through the service, into canonical form.
        let rewrite = format!(
            "update user_account set {column} = $3 where tenant_id = $1 and user_id = $2 and {column} = $4"
        );
        let updated = engine
            .writer()
            .execute(
                &rewrite,
                &args![tenant_id, change.user_id, &value, &change.stored],
            )
            .await;
        match updated {
            Ok(0) => {}
            Ok(_) => report.rewritten.push(StoredIdentifier {
                tenant_id,
                user_id: change.user_id,
                kind,
            }),
            // Another account took the value since it was looked up.
            Err(StoreError::Conflict(_)) => {
                let holders = self::holders(engine, tenant_id, kind, &value).await?;
                report
                    .collisions
                    .push(collision(tenant_id, kind, holders, &group));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// Reads every account in `user_id` order, batch by batch, and returns the
/// identifiers whose canonical form differs from what is stored, grouped by
/// where they would go; identifiers without a canonical form go into
/// `report.invalid`.
async fn scan<E: Engine>(
    engine: &E,
    canonical: &Canonical<'_>,
    report: &mut IdentifierReport,
) -> StoreResult<BTreeMap<Target, Vec<Change>>> {
    const FIRST: &str = "select tenant_id, user_id, email, username from user_account \
                         order by user_id limit $1";
    const NEXT: &str = "select tenant_id, user_id, email, username from user_account \
                        where user_id > $1 order by user_id limit $2";
    let mut changes: BTreeMap<Target, Vec<Change>> = BTreeMap::new();
    let mut after: Option<Uuid> = None;
    loop {
        let rows = match after {
            None => engine.reader().fetch_all(FIRST, &args![BATCH]).await?,
            Some(last) => engine.reader().fetch_all(NEXT, &args![last, BATCH]).await?,
        };
        for row in &rows {
            let tenant_id = row.id("tenant_id")?;
            let user_id = row.id("user_id")?;
            let identifiers = [
                (IdentifierKind::Email, Some(row.text("email")?)),
                (IdentifierKind::Username, row.opt_text("username")?),
            ];
            for (kind, stored) in identifiers {
                let Some(stored) = stored else { continue };
                match canonical(kind, &stored) {
                    None => report.invalid.push(StoredIdentifier {
                        tenant_id,
                        user_id,
                        kind,
                    }),
                    Some(value) if value != stored => changes
                        .entry((tenant_id, kind, value))
                        .or_default()
                        .push(Change { user_id, stored }),
                    Some(_) => {}
                }
            }
        }
        match rows.last() {
            Some(last) if i64::try_from(rows.len()).ok() == Some(BATCH) => after = Some(last.id("user_id")?),
            _ => return Ok(changes),
        }
    }
}

/// The accounts of `tenant_id` whose `kind` is stored as `value` already.
async fn holders<E: Engine>(
    engine: &E,
    tenant_id: Uuid,
    kind: IdentifierKind,
    value: &str,
) -> StoreResult<Vec<Uuid>> {
    let column = kind.as_str();
    let sql = format!("select user_id from user_account where tenant_id = $1 and {column} = $2");
    engine
        .reader()
        .fetch_all(&sql, &args![tenant_id, value])
        .await?
        .iter()
        .map(|row| row.id("user_id"))
        .collect()
}

/// The collision of `holders` and the accounts of `group`, ids in order.
fn collision(
    tenant_id: Uuid,
    kind: IdentifierKind,
    holders: Vec<Uuid>,
    group: &[Change],
) -> IdentifierCollision {
    let mut user_ids = holders;
    user_ids.extend(group.iter().map(|change| change.user_id));
    user_ids.sort();
    user_ids.dedup();
    IdentifierCollision {
        tenant_id,
        kind,
        user_ids,
    }
}
