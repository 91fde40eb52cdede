#![allow(clippy::unwrap_used)]
use super::*;

const SMALL: Params = Params {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// Tessera's cost (OWASP: m=19456 KiB, t=2, p=1).
const OWASP: Params = Params {
    memory_kib: 19456,
    iterations: 2,
    parallelism: 1,
};

/// argon2id v1.3 vectors of libargon2's own `src/test.c` (all but its
/// 256 MiB one): password, salt, cost, and the PHC string libargon2's
/// encoder writes.
const REFERENCE_VECTORS: [(&str, &str, Params, &str); 7] = [
    (
        "password",
        "somesalt",
        params(65536, 2, 1),
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
    ),
    (
        "password",
        "somesalt",
        params(256, 2, 1),
        "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
    ),
    (
        "password",
        "somesalt",
        params(256, 2, 2),
        "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
    ),
    (
        "password",
        "somesalt",
        params(65536, 1, 1),
        "$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg",
    ),
    (
        "password",
        "somesalt",
        params(65536, 4, 1),
        "$argon2id$v=19$m=65536,t=4,p=1$c29tZXNhbHQ$kCXUjmjvc5XMqQedpMTsOv+zyJEf5PhtGiUghW9jFyw",
    ),
    (
        "differentpassword",
        "somesalt",
        params(65536, 2, 1),
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94",
    ),
    (
        "password",
        "diffsalt",
        params(65536, 2, 1),
        "$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw",
    ),
];

/// The hash of "password" with salt "tessera-fixed-salt" at OWASP cost, as
/// written by this crate before it built libargon2 itself (argon2-sys,
/// `-march=native`, AVX-512F on the machine that made it).
const OWASP_FIXED: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$dGVzc2VyYS1maXhlZC1zYWx0$hVtlvNMIBx+jQOiejcMPnQGShsveNp/5nTSdH60LY/A";

const fn params(memory_kib: u32, iterations: u32, parallelism: u32) -> Params {
    Params {
        memory_kib,
        iterations,
        parallelism,
    }
}

/// Checks every known answer against the code the process now selects.
fn assert_known_answers(context: &str) {
    for (password, salt, cost, expected) in REFERENCE_VECTORS {
        let encoded = hash_encoded(password.as_bytes(), salt.as_bytes(), cost).unwrap();
        assert_eq!(encoded, expected, "{context}");
    }
    for (version, tag) in ffi::tests::RFC_9106_TAGS {
        assert_eq!(
            ffi::tests::rfc_9106_argon2id(version),
            tag,
            "{context}, v{version:#x}"
        );
    }
    let encoded = hash_encoded(b"password", b"tessera-fixed-salt", OWASP).unwrap();
    assert_eq!(encoded, OWASP_FIXED, "{context}");
}

#[test]
fn hash_then_verify_accepts_only_the_right_password() {
    let encoded = hash_encoded(b"correct horse", b"0123456789abcdef", SMALL).unwrap();
    assert!(encoded.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
    assert!(verify_encoded(&encoded, b"correct horse").unwrap());
    assert!(!verify_encoded(&encoded, b"wrong horse").unwrap());
}

#[test]
fn matches_libargon2s_reference_vectors() {
    assert_known_answers(&format!("selected {}", instruction_set()));
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
    let encoded = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    assert!(verify_encoded(encoded, b"password").unwrap());
    assert!(!verify_encoded(encoded, b"passwore").unwrap());
}

#[test]
fn verifies_a_version_1_0_hash_without_v() {
    let raw = hash_raw(b"password", b"somesalt", SMALL, ARGON2_VERSION_10, HASH_LEN).unwrap();
    let output = Output::new(&raw).unwrap();
    let encoded = format!("$argon2id$m=64,t=1,p=1$c29tZXNhbHQ${output}");
    assert!(verify_encoded(&encoded, b"password").unwrap());
    assert!(!verify_encoded(&encoded.replace("$m=", "$v=19$m="), b"password").unwrap());
}

#[cfg(tessera_argon2_dispatch)]
mod variants {
    use super::*;
    use crate::dispatch::simd::{select_once, Variant};

    #[test]
    fn the_widest_supported_copy_is_the_best() {
        let best = Variant::best();
        assert!(best.is_supported());
        let mut wider = Variant::ALL.into_iter().take_while(|variant| *variant != best);
        assert!(wider.all(|variant| !variant.is_supported()));
        assert!(Variant::Sse2.is_supported(), "SSE2 is part of x86-64");
        // What is selected now may be a copy that the test below forces
        // meanwhile, so this only checks that it is one of the copies.
        assert!(Variant::ALL
            .iter()
            .any(|variant| variant.name() == instruction_set()));
    }

    /// Forces each copy of `fill_segment` in turn. The only test that
    /// changes the selection: tests running meanwhile may hash with any copy,
    /// which is harmless since all give the same answers (what this checks).
    #[test]
    fn every_supported_copy_gives_the_reference_answers() {
        select_once();
        let best = Variant::selected();
        let mut checked = Vec::new();
        for variant in Variant::ALL {
            if !variant.select() {
                eprintln!("{}: not supported by this CPU, skipped", variant.name());
                continue;
            }
            assert_eq!(Variant::selected(), variant);
            assert_known_answers(variant.name());
            checked.push(variant.name());
        }
        assert!(best.select());
        eprintln!("checked copies: {checked:?}; selected: {}", best.name());
        assert!(checked.contains(&"sse2"));
    }

    /// Hash time of each copy at OWASP cost, one thread: one untimed hash,
    /// then the median of 20. Run with
    /// `cargo test --release -p tessera-argon2 -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn time_each_copy() {
        select_once();
        let best = Variant::selected();
        for variant in Variant::ALL.into_iter().filter(|v| v.select()) {
            hash_encoded(b"warm-up", b"0123456789abcdef", OWASP).unwrap();
            let mut times: Vec<f64> = (0..20)
                .map(|run| {
                    let password = format!("password-{run}");
                    let start = std::time::Instant::now();
                    hash_encoded(password.as_bytes(), b"0123456789abcdef", OWASP).unwrap();
                    start.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            times.sort_by(f64::total_cmp);
            eprintln!(
                "{:>8}: median {:.2} ms, min {:.2} ms",
                variant.name(),
                times[times.len() / 2],
                times[0]
            );
        }
        assert!(best.select());
    }
}
