//! Argon2id password hashing through libargon2's optimised C code, with its
//! working memory kept in a small pool of huge-page-backed regions.
//!
//! Why not the pure-Rust `argon2` crate: at OWASP parameters it is slower than
//! libargon2's SSE code (`opt.c`, the one Python's argon2-cffi ships), and
//! login throughput is cores ÷ hash time. Why not `argon2-kdf`: it generates
//! its bindings with bindgen at build time, which needs libclang, absent on a
//! fresh machine. `argon2-sys` builds the same C with `cc` and hand-written
//! bindings; this crate is the only place in Tessera that calls into C or
//! maps memory, so it alone allows `unsafe`.
//!
//! Why a memory pool: argon2id reads its 19 MiB of blocks in a data-dependent
//! order, so with 4 KiB pages nearly every block read misses the TLB. Given
//! 2 MiB-aligned regions advised for transparent huge pages, the same hash
//! takes about two thirds of the time on our machines; and reusing regions
//! instead of `malloc`/`free` per hash keeps them faulted in and bounds the
//! resident memory to the regions in use plus [`MAX_SPARE_REGIONS`].
//! libargon2 still wipes the memory before handing it back (its
//! `clear_internal_memory`), so no hash state outlives a call.

use std::ffi::CStr;
use std::ptr::NonNull;
use std::sync::Mutex;

use password_hash::{Ident, Output, ParamsString, PasswordHash, SaltString};
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

fn decoding_error(message: impl Into<String>) -> Argon2Error {
    Argon2Error {
        code: argon2_sys::ARGON2_DECODING_FAIL,
        message: message.into(),
    }
}

/// Hashes `password` with argon2id v1.3 and `salt`, returning the PHC
/// string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
pub fn hash_encoded(password: &[u8], salt: &[u8], params: Params) -> Result<String, Argon2Error> {
    let raw = hash_raw(password, salt, params, argon2_sys::ARGON2_VERSION_13, HASH_LEN)?;
    let encoding_error = |err: password_hash::Error| Argon2Error {
        code: argon2_sys::ARGON2_ENCODING_FAIL,
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
        version: Some(argon2_sys::ARGON2_VERSION_13),
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
    let version = phc.version.unwrap_or(argon2_sys::ARGON2_VERSION_10);
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

/// One argon2id computation through `argon2_ctx`, with pooled memory.
fn hash_raw(
    password: &[u8],
    salt: &[u8],
    params: Params,
    version: u32,
    hash_len: usize,
) -> Result<Vec<u8>, Argon2Error> {
    let too_long = |what: &str| Argon2Error {
        code: argon2_sys::ARGON2_MISSING_ARGS,
        message: format!("{what} is too long"),
    };
    let mut out = vec![0u8; hash_len];
    let mut context = argon2_sys::Argon2_Context {
        out: out.as_mut_ptr(),
        outlen: u32::try_from(hash_len).map_err(|_| too_long("hash"))?,
        // libargon2 takes non-const pointers but only reads password and
        // salt (the flags below ask it not to wipe them).
        pwd: password.as_ptr().cast_mut(),
        pwdlen: u32::try_from(password.len()).map_err(|_| too_long("password"))?,
        salt: salt.as_ptr().cast_mut(),
        saltlen: u32::try_from(salt.len()).map_err(|_| too_long("salt"))?,
        secret: std::ptr::null_mut(),
        secretlen: 0,
        ad: std::ptr::null_mut(),
        adlen: 0,
        t_cost: params.iterations,
        m_cost: params.memory_kib,
        lanes: params.parallelism,
        threads: params.parallelism,
        version,
        allocate_cbk: Some(allocate_blocks),
        free_cbk: Some(release_blocks),
        flags: argon2_sys::ARGON2_DEFAULT_FLAGS,
    };
    // SAFETY: every pointer in `context` is valid for its stated length for
    // the whole call (`out` is writable); the callbacks follow libargon2's
    // allocator contract (see `allocate_blocks`).
    let code = unsafe { argon2_sys::argon2_ctx(&mut context, argon2_sys::Argon2_id) };
    if code != argon2_sys::ARGON2_OK {
        return Err(error_from(code));
    }
    Ok(out)
}

/// Alignment and granularity of pooled regions: one x86-64 huge page.
const REGION_ALIGN: usize = 2 * 1024 * 1024;

/// Freed regions kept for reuse; beyond this many they are unmapped.
pub const MAX_SPARE_REGIONS: usize = 4;

/// An anonymous mapping of `len` bytes at a `REGION_ALIGN`-aligned address.
struct Region {
    start: NonNull<u8>,
    len: usize,
}

// SAFETY: a region is plain memory owned by whoever holds the `Region`.
unsafe impl Send for Region {}

/// Regions handed back by finished hashes, ready for the next.
static SPARE_REGIONS: Mutex<Vec<Region>> = Mutex::new(Vec::new());

fn region_len(bytes: usize) -> Option<usize> {
    bytes.checked_next_multiple_of(REGION_ALIGN)
}

impl Region {
    /// Maps a fresh region and asks for transparent huge pages on it (a
    /// hint: without THP it is still a working, reusable region).
    fn map(len: usize) -> Option<Region> {
        let padded = len.checked_add(REGION_ALIGN)?;
        // SAFETY: an anonymous private mapping touches no existing memory.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                padded,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        let base_addr = base as usize;
        let start_addr = base_addr.next_multiple_of(REGION_ALIGN);
        let head = start_addr - base_addr;
        let tail = padded - head - len;
        // SAFETY: head and tail lie inside the mapping just made and are
        // not used; unmapping them leaves exactly [start, start + len).
        unsafe {
            if head > 0 {
                libc::munmap(base, head);
            }
            if tail > 0 {
                libc::munmap((start_addr + len) as *mut libc::c_void, tail);
            }
            libc::madvise(start_addr as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
        NonNull::new(start_addr as *mut u8).map(|start| Region { start, len })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the region is a live mapping of exactly `len` bytes that
        // nothing else refers to once its `Region` is dropped.
        unsafe {
            libc::munmap(self.start.as_ptr().cast(), self.len);
        }
    }
}

/// Unmaps every spare region, returning its memory to the system; for an
/// idle server (the next hash maps a fresh region).
pub fn release_spare_regions() {
    let spare = match SPARE_REGIONS.lock() {
        Ok(mut spare) => std::mem::take(&mut *spare),
        Err(_) => return,
    };
    drop(spare);
}

/// libargon2's allocator callback: a spare region of the right size, or a
/// new one; `*memory = NULL` on failure (libargon2 checks that, not the
/// return value).
unsafe extern "C" fn allocate_blocks(memory: *mut *mut u8, bytes: libc::size_t) -> libc::c_int {
    let region = region_len(bytes).and_then(|len| {
        let reused = SPARE_REGIONS.lock().ok().and_then(|mut spare| {
            let index = spare.iter().position(|region| region.len == len)?;
            Some(spare.swap_remove(index))
        });
        reused.or_else(|| Region::map(len))
    });
    let pointer = match region {
        Some(region) => {
            let start = region.start.as_ptr();
            // Ownership passes to libargon2 until `release_blocks`.
            std::mem::forget(region);
            start
        }
        None => std::ptr::null_mut(),
    };
    // SAFETY: libargon2 passes a valid, writable `uint8_t **`.
    unsafe { *memory = pointer };
    if pointer.is_null() {
        argon2_sys::ARGON2_MEMORY_ALLOCATION_ERROR
    } else {
        argon2_sys::ARGON2_OK
    }
}

/// libargon2's deallocator callback, called with the pointer and size given
/// out by `allocate_blocks`, after libargon2 has wiped the memory.
unsafe extern "C" fn release_blocks(memory: *mut u8, bytes: libc::size_t) {
    let (Some(start), Some(len)) = (NonNull::new(memory), region_len(bytes)) else {
        return;
    };
    let region = Region { start, len };
    if let Ok(mut spare) = SPARE_REGIONS.lock() {
        if spare.len() < MAX_SPARE_REGIONS {
            spare.push(region);
        }
    }
    // Otherwise `region` drops here and is unmapped.
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
        assert!(verify_encoded("$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaA", b"x").is_err());
        assert!(verify_encoded("$argon2id$v=19$t=1,p=1$c29tZXNhbHQ$aGFzaA", b"x").is_err());
    }

    #[test]
    fn verifies_a_hash_made_by_libargon2s_own_encoder() {
        // Made by `argon2id_hash_encoded` (libargon2's encoder), so our PHC
        // parsing and its agree.
        let encoded =
            "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        assert!(verify_encoded(encoded, b"password").unwrap());
        assert!(!verify_encoded(encoded, b"passwore").unwrap());
    }

    #[test]
    fn regions_are_reused_across_hashes_and_threads() {
        let threads: Vec<_> = (0..4)
            .map(|i| {
                std::thread::spawn(move || {
                    for round in 0..3 {
                        let password = format!("pw-{i}-{round}");
                        let encoded = hash_encoded(password.as_bytes(), b"0123456789abcdef", SMALL).unwrap();
                        assert!(verify_encoded(&encoded, password.as_bytes()).unwrap());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        {
            let spare = SPARE_REGIONS.lock().unwrap();
            assert!(spare.len() <= MAX_SPARE_REGIONS);
            assert!(spare.iter().all(|r| r.len.is_multiple_of(REGION_ALIGN)
                && (r.start.as_ptr() as usize).is_multiple_of(REGION_ALIGN)));
        }
        release_spare_regions();
        let encoded = hash_encoded(b"after release", b"0123456789abcdef", SMALL).unwrap();
        assert!(verify_encoded(&encoded, b"after release").unwrap());
    }
}
