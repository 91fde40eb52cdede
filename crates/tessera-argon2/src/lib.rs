//! Argon2id password hashing through libargon2's optimised C code, with its
//! working memory kept in a small pool of huge-page-backed regions.
//!
//! Why not the pure-Rust `argon2` crate: at OWASP parameters it is slower than
//! libargon2's SSE code (`opt.c`, the one Python's argon2-cffi ships), and
//! login throughput is cores ÷ hash time. Why not `argon2-kdf`: it generates
//! its bindings with bindgen at build time, which needs libclang, absent on a
//! fresh machine.
//!
//! Why this crate builds libargon2 itself (build.rs, sources vendored
//! unchanged under `argon2/`, CC0-1.0 or Apache-2.0) instead of using
//! `argon2-sys`: that crate compiles `opt.c` only with `-march=native`
//! (its `simd` feature) and otherwise falls back to the much slower `ref.c`.
//! A binary built with `-march=native` on one CPU dies with SIGILL on an
//! older one (issue #9). Here `opt.c` is compiled once per x86-64
//! instruction set (SSE2, SSSE3, AVX2, AVX-512F), each copy under its own
//! name, and a small dispatcher picks one at run time from the CPU's
//! features, so one release binary runs on any x86-64 CPU and still uses
//! the widest vectors the CPU has ([`instruction_set`] says which). Other
//! architectures get the portable `ref.c`.
//!
//! Why a memory pool: see the `memory` module. On Linux its regions are
//! advised for transparent huge pages; elsewhere they are plain aligned
//! heap memory.
//!
//! `unsafe`: this is the only crate in Tessera that calls into C or maps
//! memory. The workspace forbids `unsafe_code`, and a forbid cannot be
//! lifted by an `allow` further down, so this crate's Cargo.toml copies the
//! workspace's lint table with `unsafe_code` denied instead, adds clippy's
//! `undocumented_unsafe_blocks`, and allows `unsafe` only on the three
//! modules that need it: `ffi` (the bindings to libargon2), `memory` (the
//! pool and libargon2's allocator callbacks) and `dispatch` (the choice of
//! instruction set). Everything in this file is safe code.

mod dispatch;
mod ffi;
mod memory;
#[cfg(test)]
mod tests;

use password_hash::{Ident, Output, ParamsString, PasswordHash, SaltString};
use thiserror::Error;

use ffi::{ARGON2_DECODING_FAIL, ARGON2_ENCODING_FAIL, ARGON2_VERSION_10, ARGON2_VERSION_13};
pub use memory::{release_spare_regions, MAX_SPARE_REGIONS};

/// Cost parameters of one argon2id hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Memory in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over memory (`t`).
    pub iterations: u32,
    /// Lanes and threads (`p`).
    pub parallelism: u32,
}

/// Length of the raw hash, bytes (the PHC recommendation).
const HASH_LEN: usize = 32;

/// What libargon2 reported when it could not hash or verify.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("argon2 error {code}: {message}")]
pub struct Argon2Error {
    /// libargon2's error code.
    pub code: i32,
    /// libargon2's message for it.
    pub message: String,
}

fn decoding_error(message: impl Into<String>) -> Argon2Error {
    Argon2Error {
        code: ARGON2_DECODING_FAIL,
        message: message.into(),
    }
}

/// The instruction set of the libargon2 code that hashes in this process:
/// `"avx512f"`, `"avx2"`, `"ssse3"` or `"sse2"` on x86-64 (the widest this
/// CPU supports), `"portable"` where libargon2's reference code is built
/// instead (other architectures, MSVC). Chosen once, at the
/// first hash or call; worth logging at start-up, since hash time and so
/// login throughput depend on it.
pub fn instruction_set() -> &'static str {
    dispatch::instruction_set()
}

/// Hashes `password` with argon2id v1.3 and `salt`, returning the PHC
/// string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
pub fn hash_encoded(password: &[u8], salt: &[u8], params: Params) -> Result<String, Argon2Error> {
    let raw = hash_raw(password, salt, params, ARGON2_VERSION_13, HASH_LEN)?;
    let encoding_error = |err: password_hash::Error| Argon2Error {
        code: ARGON2_ENCODING_FAIL,
        message: err.to_string(),
    };
    let salt = SaltString::encode_b64(salt).map_err(encoding_error)?;
    let mut cost = ParamsString::new();
    cost.add_decimal("m", params.memory_kib).map_err(encoding_error)?;
    cost.add_decimal("t", params.iterations).map_err(encoding_error)?;
    cost.add_decimal("p", params.parallelism)
        .map_err(encoding_error)?;
    let phc = PasswordHash {
        algorithm: Ident::new("argon2id").map_err(encoding_error)?,
        version: Some(ARGON2_VERSION_13),
        params: cost,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&raw).map_err(encoding_error)?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against an argon2id PHC string in constant time.
/// `Ok(false)` for a wrong password; `Err` for a string that is not a valid
/// argon2id hash.
pub fn verify_encoded(encoded: &str, password: &[u8]) -> Result<bool, Argon2Error> {
    let phc = PasswordHash::new(encoded).map_err(|err| decoding_error(err.to_string()))?;
    if phc.algorithm.as_str() != "argon2id" {
        return Err(decoding_error("not an argon2id hash"));
    }
    let cost = |name: &str| {
        phc.params
            .get_decimal(name)
            .ok_or_else(|| decoding_error(format!("missing parameter {name}")))
    };
    let params = Params {
        memory_kib: cost("m")?,
        iterations: cost("t")?,
        parallelism: cost("p")?,
    };
    // As in libargon2's decoder, a hash without `v=` is version 1.0.
    let version = phc.version.unwrap_or(ARGON2_VERSION_10);
    let expected = phc.hash.ok_or_else(|| decoding_error("missing hash"))?;
    let salt = phc.salt.ok_or_else(|| decoding_error("missing salt"))?;
    let mut salt_buf = [0u8; 64];
    let salt = salt
        .decode_b64(&mut salt_buf)
        .map_err(|err| decoding_error(err.to_string()))?;
    let actual = hash_raw(password, salt, params, version, expected.len())?;
    let actual = Output::new(&actual).map_err(|err| decoding_error(err.to_string()))?;
    // `Output`'s equality is constant-time.
    Ok(actual == expected)
}

/// One argon2id computation (no secret, no associated data), with pooled
/// memory.
fn hash_raw(
    password: &[u8],
    salt: &[u8],
    params: Params,
    version: u32,
    hash_len: usize,
) -> Result<Vec<u8>, Argon2Error> {
    let input = ffi::Input {
        password,
        salt,
        secret: &[],
        associated_data: &[],
    };
    let mut out = vec![0u8; hash_len];
    ffi::argon2id(&input, params, version, &mut out)?;
    Ok(out)
}
