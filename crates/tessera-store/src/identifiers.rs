//! Identifiers as the store sees them: which column, a search over both, and
//! what putting stored rows into canonical form found. What the canonical
//! form *is* lives in `tessera-core` (`identity`); the store only compares
//! and rewrites the text it is given.

use uuid::Uuid;

/// One of the two columns a person is known by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IdentifierKind {
    /// `email`.
    Email,
    /// `username` (optional: a row without one has nothing to canonicalise).
    Username,
}

impl IdentifierKind {
    /// The column (and API field) name.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierKind::Email => "email",
            IdentifierKind::Username => "username",
        }
    }
}

/// A prefix search over identifiers. Emails and usernames have different
/// canonical forms (an email's local part is case-folded, a username only
/// lowercased), so the query comes in the form of each column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierPrefix {
    /// Emails that start with this.
    pub email: String,
    /// Usernames that start with this; `None` when the query cannot begin
    /// any username (it holds `@`, a space, …).
    pub username: Option<String>,
}

/// One stored identifier of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIdentifier {
    /// The account's tenant.
    pub tenant_id: Uuid,
    /// The account.
    pub user_id: Uuid,
    /// Which of its identifiers.
    pub kind: IdentifierKind,
}

/// Accounts of one tenant whose identifiers of one kind have the same
/// canonical form: one person could sign in as either. None of them was
/// changed; an operator must decide which account keeps the identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierCollision {
    /// The tenant.
    pub tenant_id: Uuid,
    /// Email or username.
    pub kind: IdentifierKind,
    /// The accounts (at least two), in id order.
    pub user_ids: Vec<Uuid>,
}

/// What [`crate::UserStore::canonicalise_identifiers`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentifierReport {
    /// Identifiers rewritten into their canonical form.
    pub rewritten: Vec<StoredIdentifier>,
    /// Canonical forms several accounts share; their rows were left alone.
    pub collisions: Vec<IdentifierCollision>,
    /// Identifiers with no canonical form (they break today's rules, e.g. a
    /// domain IDNA refuses); left as they are, and no sign-in can name them.
    pub invalid: Vec<StoredIdentifier>,
}
