//! The Tessera store written once: every statement of every aggregate, over
//! the small [`Engine`] port that SQLite, PostgreSQL and MariaDB/MySQL
//! implement in their own crates (with their own migrations).
//!
//! [`SqlStore`] implements each aggregate trait of `tessera-store` in the
//! module of its entity; it is a [`tessera_store::Store`] by that alone.
//! Each method is one unit of work: where several rows belong together (a
//! session and its first refresh token, a token rotation, a password change
//! that revokes other sessions) they are written in one transaction.
#![forbid(unsafe_code)]

mod authorization_code;
mod browser_session;
mod builder;
mod client;
mod consent;
mod decode;
mod engine;
mod housekeeping;
mod identifier;
mod mail_outbox;
mod one_time_token;
mod rbac;
mod revocation;
mod role_assignment;
mod session;
mod signing_key;
pub mod sqlx_engine;
mod tenant;
mod user;
mod user_admin;

#[cfg(feature = "test-support")]
pub mod testing;

pub use engine::{column_error, json_text, Arg, Engine, Exec, SqlRow, Transaction};

/// The store on engine `E`.
#[derive(Debug, Clone)]
pub struct SqlStore<E> {
    engine: E,
}

impl<E: Engine> SqlStore<E> {
    /// The store on `engine` (connected; not yet migrated).
    pub fn new(engine: E) -> SqlStore<E> {
        SqlStore { engine }
    }

    /// The engine (for its own maintenance, e.g. closing its pools).
    pub fn engine(&self) -> &E {
        &self.engine
    }
}
