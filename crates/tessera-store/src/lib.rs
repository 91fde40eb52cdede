//! Storage contract for Tessera: the models every backend persists, the
//! aggregate stores they implement (summed up as [`Store`]), and [`StoreError`], the one error type of
//! this layer.
//!
//! Each store method is one unit of work: where several rows belong together
//! (a session and its first refresh token, a token rotation, a password change
//! that revokes other sessions) the backend writes them in one transaction.
//! The identity rules (what is valid, what expires when) live in
//! `tessera-core`; a backend only keeps data and answers atomically.
#![forbid(unsafe_code)]

mod error;
mod identifiers;
mod mail;
mod model;
mod rbac;
mod store;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::{Conflict, StoreError};
pub use identifiers::*;
pub use mail::*;
pub use model::*;
pub use rbac::*;
pub use store::{
    AccountStore, AuthorizationCodeStore, BrowserSessionStore, ClientStore, ConsentStore, Database,
    Housekeeping, MailOutboxStore, OneTimeTokenStore, RbacStore, ResourceStore, RevokedTokenStore,
    SessionStore, SigningKeyStore, Store, TenantStore, UserStore,
};

/// Result of every store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Every store trait, for code that calls store methods on a concrete
/// backend type (`use tessera_store::prelude::*;`).
pub mod prelude {
    pub use crate::store::{
        AccountStore, AuthorizationCodeStore, BrowserSessionStore, ClientStore, ConsentStore, Database,
        Housekeeping, MailOutboxStore, OneTimeTokenStore, RbacStore, ResourceStore, RevokedTokenStore,
        SessionStore, SigningKeyStore, Store, TenantStore, UserStore,
    };
}
