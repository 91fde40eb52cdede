//! Argon2id password hashing through libargon2's optimised C code.
//!
//! Why not the pure-Rust `argon2` crate: on our machines it takes 44–46 ms
//! per hash at OWASP parameters where libargon2's SSE code (`opt.c`, the one
//! Python's argon2-cffi ships) takes ≈36 ms, and login throughput is cores ÷
//! hash time. Why not `argon2-kdf`: it generates its bindings with bindgen at
//! build time, which needs libclang, absent on a fresh machine. `argon2-sys`
//! builds the same C with `cc` and hand-written bindings; this crate is the
//! only place in Tessera that calls into C, so it alone allows `unsafe`.

use std::ffi::{CStr, CString};

use thiserror::Error;

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

fn error_from(code: libc::c_int) -> Argon2Error {
    // SAFETY: argon2_error_message returns a pointer to a static,
    // NUL-terminated string for every code (an "unknown" string otherwise).
    let message = unsafe { CStr::from_ptr(argon2_sys::argon2_error_message(code)) }
        .to_string_lossy()
        .into_owned();
    Argon2Error { code, message }
}

/// Hashes `password` with argon2id v1.3 and `salt`, returning the PHC
/// string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
pub fn hash_encoded(password: &[u8], salt: &[u8], params: Params) -> Result<String, Argon2Error> {
    // SAFETY: a pure function of its integer arguments.
    let encoded_len = unsafe {
        argon2_sys::argon2_encodedlen(
            params.iterations,
            params.memory_kib,
            params.parallelism,
            u32::try_from(salt.len()).unwrap_or(u32::MAX),
            HASH_LEN as u32,
            argon2_sys::Argon2_id,
        )
    } as usize;
    let mut encoded = vec![0u8; encoded_len];
    // SAFETY: every pointer comes with its true length; `encoded` is a
    // writable buffer of `encoded_len` bytes, the size libargon2 itself
    // computed for these parameters, and it NUL-terminates within it.
    let code = unsafe {
        argon2_sys::argon2id_hash_encoded(
            params.iterations,
            params.memory_kib,
            params.parallelism,
            password.as_ptr().cast(),
            password.len(),
            salt.as_ptr().cast(),
            salt.len(),
            HASH_LEN,
            encoded.as_mut_ptr().cast(),
            encoded.len(),
        )
    };
    if code != argon2_sys::ARGON2_OK {
        return Err(error_from(code));
    }
    let end = encoded.iter().position(|&b| b == 0).unwrap_or(encoded.len());
    encoded.truncate(end);
    String::from_utf8(encoded).map_err(|_| Argon2Error {
        code: argon2_sys::ARGON2_ENCODING_FAIL,
        message: "encoded hash is not UTF-8".into(),
    })
}

/// Checks `password` against an argon2id PHC string in constant time.
/// `Ok(false)` for a wrong password; `Err` for a string that is not a valid
/// argon2id hash.
pub fn verify_encoded(encoded: &str, password: &[u8]) -> Result<bool, Argon2Error> {
    let encoded = CString::new(encoded).map_err(|_| Argon2Error {
        code: argon2_sys::ARGON2_DECODING_FAIL,
        message: "encoded hash contains NUL".into(),
    })?;
    // SAFETY: `encoded` is NUL-terminated and outlives the call; the
    // password pointer comes with its length.
    let code =
        unsafe { argon2_sys::argon2id_verify(encoded.as_ptr(), password.as_ptr().cast(), password.len()) };
    match code {
        argon2_sys::ARGON2_OK => Ok(true),
        argon2_sys::ARGON2_VERIFY_MISMATCH => Ok(false),
        other => Err(error_from(other)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SMALL: Params = Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn hash_then_verify_accepts_only_the_right_password() {
        let encoded = hash_encoded(b"correct horse", b"0123456789abcdef", SMALL).unwrap();
        assert!(encoded.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(verify_encoded(&encoded, b"correct horse").unwrap());
        assert!(!verify_encoded(&encoded, b"wrong horse").unwrap());
    }

    #[test]
    fn matches_the_rfc_9106_style_reference_vector() {
        // Cross-implementation vector: argon2id, m=65536, t=2, p=1,
        // password "password", salt "somesalt" (phc-winner-argon2 test.c).
        let params = Params {
            memory_kib: 65536,
            iterations: 2,
            parallelism: 1,
        };
        let encoded = hash_encoded(b"password", b"somesalt", params).unwrap();
        assert_eq!(
            encoded,
            "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
        );
    }

    #[test]
    fn malformed_hash_is_an_error_not_a_mismatch() {
        assert!(verify_encoded("$argon2id$nonsense", b"x").is_err());
    }
}
