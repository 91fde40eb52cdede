//! Protect an axum service with Tessera access tokens, verified offline.
//!
//! Tessera issues RFC 9068 access tokens (`typ: at+jwt`) signed with keys it
//! publishes at `{issuer}/.well-known/jwks.json`. A [`Guard`] fetches that
//! key set lazily, caches it, and verifies tokens locally: no call to
//! Tessera per request. The extractors ([`Authenticated`],
//! [`RequirePermission`], [`RequireRole`]) turn a missing or bad token into
//! a 401 and a missing right into a 403, both RFC 9457 problem documents.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use tessera_guard::{permission, Guard, GuardConfig, RequirePermission};
//!
//! permission!(AuditRead, "audit:read");
//!
//! async fn reports(RequirePermission(claims, _): RequirePermission<AuditRead>) -> String {
//!     format!("reports for {}", claims.sub)
//! }
//!
//! # fn build() -> Result<Router, tessera_guard::GuardError> {
//! let guard = Guard::new(GuardConfig::new("https://id.example.com"))?;
//! let app: Router = Router::new().route("/reports", get(reports)).with_state(guard);
//! # Ok(app)
//! # }
//! ```
#![forbid(unsafe_code)]

mod claims;
mod config;
mod error;
mod extract;
mod guard;
mod jwks;

pub use claims::Claims;
pub use config::GuardConfig;
pub use error::GuardError;
pub use extract::{Authenticated, Permission, RequirePermission, RequireRole, Role};
pub use guard::Guard;
