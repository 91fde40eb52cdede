//! The claims of a verified Tessera access token, and the questions a
//! service asks of them: the very type and permission rule the server uses
//! (crate `tessera-claims`), so both decide alike.

pub use tessera_claims::AccessClaims as Claims;
