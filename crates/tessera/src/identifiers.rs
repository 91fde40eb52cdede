//! Stored emails and usernames put into today's canonical form (see
//! `tessera_core::identity`) before the server serves and when `tessera
//! migrate` runs: rows written before the rules existed were only
//! lowercased, and a lookup in canonical form would miss them. Two accounts
//! that meet in one canonical form are never merged: the server names them
//! and refuses to start until an operator has decided.

use std::fmt::Write as _;

use anyhow::Context;
use tessera_core::identity::canonical_identifier;
use tessera_store::{IdentifierCollision, Store};

use crate::RefusedToStart;

/// Rewrites what can be rewritten, logs each change (ids only, never the
/// identifiers themselves), and fails with [`RefusedToStart`] naming every
/// collision.
pub(crate) async fn canonicalise(store: &dyn Store) -> anyhow::Result<()> {
    let report = store
        .canonicalise_identifiers(&canonical_identifier)
        .await
        .context("cannot put stored emails and usernames into canonical form")?;
    for changed in &report.rewritten {
        tracing::info!(
            tenant_id = %changed.tenant_id,
            user_id = %changed.user_id,
            field = changed.kind.as_str(),
            "stored identifier rewritten into canonical form"
        );
    }
    for invalid in &report.invalid {
        tracing::warn!(
            tenant_id = %invalid.tenant_id,
            user_id = %invalid.user_id,
            field = invalid.kind.as_str(),
            "stored identifier breaks today's rules and was kept as it is; no sign-in can name it until it is changed"
        );
    }
    if report.collisions.is_empty() {
        return Ok(());
    }
    for collision in &report.collisions {
        tracing::error!(
            tenant_id = %collision.tenant_id,
            field = collision.kind.as_str(),
            user_ids = %user_ids(collision),
            "accounts share one identifier in canonical form"
        );
    }
    let mut message = format!(
        "{} identifier collision(s): these accounts have emails or usernames that differ only in case, \
         character width, compatibility characters or the spelling of the domain, so one person could \
         sign in as any of them. Nothing was merged or changed for them:",
        report.collisions.len()
    );
    for collision in &report.collisions {
        // Writing to a String cannot fail.
        let _ = write!(
            message,
            " [tenant {}, {}: users {}]",
            collision.tenant_id,
            collision.kind.as_str(),
            user_ids(collision)
        );
    }
    message.push_str(
        ". Give all but one account of each group another email or username (or delete it), then start again",
    );
    Err(RefusedToStart(message).into())
}

/// The accounts of a collision, comma-separated.
fn user_ids(collision: &IdentifierCollision) -> String {
    collision
        .user_ids
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
