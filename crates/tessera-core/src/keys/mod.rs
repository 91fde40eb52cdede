//! Signing keys: generation, encryption at rest, the in-memory key ring that
//! signs and verifies, and the published JWKS (RFC 7517).
//!
//! Signing uses `ring` directly with key pairs parsed once and kept:
//! `jsonwebtoken` re-parses the PKCS#8 key on every `encode`, which measured
//! about twice ring's raw ES256 cost on our machines. Verification goes
//! through `jsonwebtoken` (see `jwt.rs`).

mod alg;
mod cache;
mod encryption;
mod keyring;
mod material;
mod schedule;

pub use alg::SigningAlg;
pub use encryption::KeyEncryptor;
pub use keyring::KeyRing;
pub use material::LoadedKey;
pub use schedule::{retention_secs, KeyInfo, KeyStatus, MAX_ACTIVATION_DELAY_SECS};
