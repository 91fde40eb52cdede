//! Conformance checks of putting stored identifiers into canonical form
//! (`canonicalise_identifiers`): rewrites, collisions, paging. Beside
//! `users` (which would pass 600 lines with them). The canonical form here
//! is a stand-in (ASCII lowercase; none for text holding `!`): the store
//! only applies what it is given.

use super::*;
use crate::{IdentifierCollision, IdentifierKind, IdentifierReport, StoredIdentifier};

/// The stand-in canonical form.
fn lowercase(_kind: IdentifierKind, stored: &str) -> Option<String> {
    (!stored.contains('!')).then(|| stored.to_ascii_lowercase())
}

fn stored(u: &User, kind: IdentifierKind) -> StoredIdentifier {
    StoredIdentifier {
        tenant_id: u.tenant_id,
        user_id: u.user_id,
        kind,
    }
}

async fn create<S: Store>(store: &S, tenant_id: Uuid, email: &str, username: Option<&str>) -> User {
    let u = user(tenant_id, email, username, now_ms());
    store.create_user(&u, &[]).await.expect("create_user");
    u
}

async fn stored_identifiers<S: Store>(store: &S, u: &User) -> (String, Option<String>) {
    let got = store.get_user(u.tenant_id, u.user_id).await.expect("get_user");
    (got.email, got.username)
}

/// Identifiers not in canonical form are rewritten in place (per tenant:
/// the same canonical email in two tenants is no collision); those without
/// one are reported and kept; a second run finds nothing to do.
pub async fn canonicalise_identifiers_rewrites_rows_in_place<S: Store>(store: &S) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let ada = create(store, acme.tenant_id, "Ada@Example.com", Some("ADA")).await;
    let bob = create(store, acme.tenant_id, "bob@example.com", Some("bob")).await;
    let odd = create(store, acme.tenant_id, "odd!@example.com", None).await;
    let ada_elsewhere = create(store, other.tenant_id, "ADA@example.com", None).await;

    let report = store
        .canonicalise_identifiers(&lowercase)
        .await
        .expect("canonicalise");

    let mut rewritten = report.rewritten.clone();
    rewritten.sort_by_key(|s| (s.user_id, s.kind));
    let mut expected = vec![
        stored(&ada, IdentifierKind::Email),
        stored(&ada, IdentifierKind::Username),
        stored(&ada_elsewhere, IdentifierKind::Email),
    ];
    expected.sort_by_key(|s| (s.user_id, s.kind));
    assert_eq!(rewritten, expected);
    assert_eq!(report.invalid, vec![stored(&odd, IdentifierKind::Email)]);
    assert!(report.collisions.is_empty(), "{:?}", report.collisions);
    assert_eq!(
        stored_identifiers(store, &ada).await,
        ("ada@example.com".to_owned(), Some("ada".to_owned()))
    );
    assert_eq!(
        stored_identifiers(store, &ada_elsewhere).await.0,
        "ada@example.com"
    );
    assert_eq!(
        stored_identifiers(store, &bob).await,
        ("bob@example.com".to_owned(), Some("bob".to_owned()))
    );
    assert_eq!(stored_identifiers(store, &odd).await.0, "odd!@example.com");
    // The rewritten row is found by its canonical form.
    let found = store
        .find_user_by_identifier(acme.tenant_id, "ada@example.com")
        .await
        .expect("found");
    assert_eq!(found.user_id, ada.user_id);

    let again = store.canonicalise_identifiers(&lowercase).await.expect("again");
    assert_eq!(
        again,
        IdentifierReport {
            invalid: vec![stored(&odd, IdentifierKind::Email)],
            ..IdentifierReport::default()
        }
    );
}

/// Rows that would meet in one canonical value (with a row that already
/// holds it, or with each other) are reported together, per kind, and none
/// of them changes; other rows are still rewritten.
pub async fn canonicalise_identifiers_reports_collisions_and_merges_nothing<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    let carol = create(store, t.tenant_id, "carol@example.com", None).await;
    let carol_upper = create(store, t.tenant_id, "CAROL@example.com", None).await;
    let dan = create(store, t.tenant_id, "Dan@example.com", Some("Eve")).await;
    let dan_upper = create(store, t.tenant_id, "DAN@example.com", Some("EVE")).await;
    let fay = create(store, t.tenant_id, "Fay@example.com", None).await;

    let report = store
        .canonicalise_identifiers(&lowercase)
        .await
        .expect("canonicalise");

    let sorted = |mut ids: Vec<Uuid>| {
        ids.sort();
        ids
    };
    let mut collisions = report.collisions.clone();
    collisions.sort_by_key(|c| (c.kind, c.user_ids.clone()));
    let mut expected = vec![
        IdentifierCollision {
            tenant_id: t.tenant_id,
            kind: IdentifierKind::Email,
            user_ids: sorted(vec![carol.user_id, carol_upper.user_id]),
        },
        IdentifierCollision {
            tenant_id: t.tenant_id,
            kind: IdentifierKind::Email,
            user_ids: sorted(vec![dan.user_id, dan_upper.user_id]),
        },
        IdentifierCollision {
            tenant_id: t.tenant_id,
            kind: IdentifierKind::Username,
            user_ids: sorted(vec![dan.user_id, dan_upper.user_id]),
        },
    ];
    expected.sort_by_key(|c| (c.kind, c.user_ids.clone()));
    assert_eq!(collisions, expected);
    assert_eq!(report.rewritten, vec![stored(&fay, IdentifierKind::Email)]);
    for (u, email, username) in [
        (&carol, "carol@example.com", None),
        (&carol_upper, "CAROL@example.com", None),
        (&dan, "Dan@example.com", Some("Eve")),
        (&dan_upper, "DAN@example.com", Some("EVE")),
        (&fay, "fay@example.com", None),
    ] {
        assert_eq!(
            stored_identifiers(store, u).await,
            (email.to_owned(), username.map(str::to_owned)),
            "{}",
            u.email
        );
    }
}

/// Every row is read, past the first batch of the backend's paging.
pub async fn canonicalise_identifiers_reads_every_batch<S: Store>(store: &S) {
    let t = tenant(store, "acme").await;
    // More than a batch (tessera-sql reads 500 at a time): the first and
    // the last row need a rewrite, so a scan that stops early misses one.
    const ROWS: usize = 601;
    let mut users = Vec::with_capacity(ROWS);
    for i in 0..ROWS {
        let email = if i == 0 || i == ROWS - 1 {
            format!("User{i}@example.com")
        } else {
            format!("user{i}@example.com")
        };
        users.push(create(store, t.tenant_id, &email, None).await);
    }
    let report = store
        .canonicalise_identifiers(&lowercase)
        .await
        .expect("canonicalise");
    let mut rewritten: Vec<Uuid> = report.rewritten.iter().map(|s| s.user_id).collect();
    rewritten.sort();
    let mut expected = vec![users[0].user_id, users[ROWS - 1].user_id];
    expected.sort();
    assert_eq!(rewritten, expected);
}
