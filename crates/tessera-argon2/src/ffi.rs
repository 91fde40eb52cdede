//! Hand-written bindings to the part of the vendored libargon2 that this
//! crate calls (`argon2/include/argon2.h`: `argon2_ctx`,
//! `argon2_error_message`, `argon2_context` and a few constants), and the
//! safe functions over them, [`argon2id`] and [`error_from`].
//!
//! `unsafe` is allowed in this module because calling C is unsafe by nature;
//! each call says in its `SAFETY:` comment why it is sound.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_uint, CStr};

use crate::{dispatch, memory, Argon2Error, Params};

/// `ARGON2_OK`: success.
pub(crate) const ARGON2_OK: c_int = 0;
/// `ARGON2_MEMORY_ALLOCATION_ERROR`: the allocator callback gave no memory.
pub(crate) const ARGON2_MEMORY_ALLOCATION_ERROR: c_int = -22;
/// `ARGON2_MISSING_ARGS`, also used here for inputs too long to describe.
pub(crate) const ARGON2_MISSING_ARGS: c_int = -30;
/// `ARGON2_ENCODING_FAIL`, used for PHC strings this crate cannot write.
pub(crate) const ARGON2_ENCODING_FAIL: c_int = -31;
/// `ARGON2_DECODING_FAIL`, used for PHC strings this crate cannot read.
pub(crate) const ARGON2_DECODING_FAIL: c_int = -32;
/// `ARGON2_VERSION_10`: argon2 v1.0 (`v=16`), overwriting instead of XOR.
pub(crate) const ARGON2_VERSION_10: u32 = 0x10;
/// `ARGON2_VERSION_13`: argon2 v1.3 (`v=19`), the current version.
pub(crate) const ARGON2_VERSION_13: u32 = 0x13;
/// `ARGON2_DEFAULT_FLAGS`: do not wipe the password or secret (they are
/// borrowed, read-only, from the caller).
const ARGON2_DEFAULT_FLAGS: u32 = 0;
/// `Argon2_id` of `enum Argon2_type`.
const ARGON2_ID: c_uint = 2;

/// libargon2's `allocate_fptr`.
type AllocateFn = unsafe extern "C" fn(memory: *mut *mut u8, bytes: usize) -> c_int;
/// libargon2's `deallocate_fptr`.
type DeallocateFn = unsafe extern "C" fn(memory: *mut u8, bytes: usize);

/// `argon2_context` of argon2.h, field for field.
#[repr(C)]
struct Argon2Context {
    out: *mut u8,
    outlen: u32,
    pwd: *mut u8,
    pwdlen: u32,
    salt: *mut u8,
    saltlen: u32,
    secret: *mut u8,
    secretlen: u32,
    ad: *mut u8,
    adlen: u32,
    t_cost: u32,
    m_cost: u32,
    lanes: u32,
    threads: u32,
    version: u32,
    allocate_cbk: Option<AllocateFn>,
    free_cbk: Option<DeallocateFn>,
    flags: u32,
}

extern "C" {
    fn argon2_ctx(context: *mut Argon2Context, kind: c_uint) -> c_int;
    fn argon2_error_message(error_code: c_int) -> *const c_char;
}

/// What argon2id hashes besides its cost: RFC 9106 §3.1's P, S, K and X.
pub(crate) struct Input<'a> {
    /// The password (P).
    pub password: &'a [u8],
    /// The salt (S); libargon2 wants at least 8 bytes.
    pub salt: &'a [u8],
    /// The secret key (K); empty for Tessera's password hashes.
    pub secret: &'a [u8],
    /// The associated data (X); empty for Tessera's password hashes.
    pub associated_data: &'a [u8],
}

/// Runs argon2id `version` over `input` with `params`, filling `out`, whose
/// length is the tag length. Memory comes from the pool in [`memory`].
pub(crate) fn argon2id(
    input: &Input<'_>,
    params: Params,
    version: u32,
    out: &mut [u8],
) -> Result<(), Argon2Error> {
    let length = |bytes: &[u8], what: &str| {
        u32::try_from(bytes.len()).map_err(|_| Argon2Error {
            code: ARGON2_MISSING_ARGS,
            message: format!("{what} is too long"),
        })
    };
    let mut context = Argon2Context {
        outlen: length(out, "hash")?,
        out: out.as_mut_ptr(),
        // libargon2 takes non-const pointers but only reads these four (the
        // flags below ask it not to wipe password and secret). It wants NULL
        // for an empty one, and checks the length against that.
        pwd: pointer_or_null(input.password),
        pwdlen: length(input.password, "password")?,
        salt: pointer_or_null(input.salt),
        saltlen: length(input.salt, "salt")?,
        secret: pointer_or_null(input.secret),
        secretlen: length(input.secret, "secret")?,
        ad: pointer_or_null(input.associated_data),
        adlen: length(input.associated_data, "associated data")?,
        t_cost: params.iterations,
        m_cost: params.memory_kib,
        lanes: params.parallelism,
        threads: params.parallelism,
        version,
        allocate_cbk: Some(memory::allocate_blocks),
        free_cbk: Some(memory::release_blocks),
        flags: ARGON2_DEFAULT_FLAGS,
    };
    dispatch::select_once();
    // SAFETY: every pointer in `context` is NULL with a zero length or valid
    // for its stated length for the whole call (`out` is writable and not
    // aliased); libargon2 writes only through `out` and the memory its
    // callbacks give it, and the callbacks follow its allocator contract
    // (see `memory::allocate_blocks`).
    let code = unsafe { argon2_ctx(&mut context, ARGON2_ID) };
    if code != ARGON2_OK {
        return Err(error_from(code));
    }
    Ok(())
}

fn pointer_or_null(bytes: &[u8]) -> *mut u8 {
    if bytes.is_empty() {
        std::ptr::null_mut()
    } else {
        bytes.as_ptr().cast_mut()
    }
}

/// The error for libargon2's `code`, with libargon2's own message.
pub(crate) fn error_from(code: c_int) -> Argon2Error {
    // SAFETY: argon2_error_message returns a pointer to a static,
    // NUL-terminated string for every code (an "unknown" string otherwise).
    let message = unsafe { CStr::from_ptr(argon2_error_message(code)) }
        .to_string_lossy()
        .into_owned();
    Argon2Error { code, message }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 9106 §5.3's argon2id test vector (libargon2's `kats/argon2id`),
    /// or for `ARGON2_VERSION_10` libargon2's `kats/argon2id_v16`: m=32,
    /// t=3, p=4, with a secret and associated data, so it checks the parts
    /// of the input Tessera's own hashes leave empty, and four lanes hashed
    /// by four threads.
    pub(crate) fn rfc_9106_argon2id(version: u32) -> String {
        let input = Input {
            password: &[0x01; 32],
            salt: &[0x02; 16],
            secret: &[0x03; 8],
            associated_data: &[0x04; 12],
        };
        let params = Params {
            memory_kib: 32,
            iterations: 3,
            parallelism: 4,
        };
        let mut tag = [0u8; 32];
        argon2id(&input, params, version, &mut tag).unwrap();
        tag.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Tags of [`rfc_9106_argon2id`] for v1.3, then v1.0.
    pub(crate) const RFC_9106_TAGS: [(u32, &str); 2] = [
        (
            ARGON2_VERSION_13,
            "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
        ),
        (
            ARGON2_VERSION_10,
            "b64615f07789b66b645b67ee9ed3b377ae350b6bfcbb0fc95141ea8f322613c0",
        ),
    ];

    #[test]
    fn matches_rfc_9106_argon2id_test_vectors() {
        for (version, tag) in RFC_9106_TAGS {
            assert_eq!(rfc_9106_argon2id(version), tag, "version {version:#x}");
        }
    }

    #[test]
    fn error_codes_carry_libargon2s_messages() {
        assert_eq!(error_from(ARGON2_DECODING_FAIL).message, "Decoding failed");
        assert_eq!(error_from(ARGON2_OK).message, "OK");
    }

    #[test]
    fn too_short_salt_is_libargon2s_error() {
        let input = Input {
            password: b"password",
            salt: b"short",
            secret: &[],
            associated_data: &[],
        };
        let params = Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let err = argon2id(&input, params, ARGON2_VERSION_13, &mut [0u8; 32]).unwrap_err();
        assert_eq!(err.message, "Salt is too short");
    }
}
