//! Builds the vendored libargon2 (`argon2/`) without `-march=native`.
//!
//! On x86-64 with a GCC-like compiler, `opt.c` is compiled once per
//! instruction set (its `fill_segment` renamed each time) and `c/dispatch.c`
//! provides the `fill_segment` that `core.c` calls, forwarding to the copy
//! the Rust side chose at run time from the CPU's features; the cfg
//! `tessera_argon2_dispatch` tells the Rust side those copies exist.
//! Elsewhere the portable `ref.c` is built and no cfg is set.

use std::error::Error;
use std::path::PathBuf;

/// Sources shared by every build: the API, the core loop, BLAKE2b, the PHC
/// encoder and the thread helpers. None of them depends on SIMD.
const COMMON: &[&str] = &[
    "argon2/src/argon2.c",
    "argon2/src/core.c",
    "argon2/src/blake2/blake2b.c",
    "argon2/src/encoding.c",
    "argon2/src/thread.c",
];

/// One compiled copy of `opt.c`: its name (also the suffix of its renamed
/// `fill_segment`, which `c/dispatch.c` declares) and its compiler flags.
/// `blamka-round-opt.h` picks its code path by `__AVX512F__`, `__AVX2__`,
/// `__SSSE3__`, else SSE2; each copy also turns off the next instruction set
/// up, so that a compiler or target whose default is above plain x86-64
/// (Apple's targets assume SSSE3) still builds each copy on its own path.
/// `CFLAGS` from the environment come after these flags (the `cc` crate puts
/// them last): whoever sets `CFLAGS=-march=native` gets a native build again.
const VARIANTS: &[(&str, &[&str])] = &[
    ("sse2", &["-mno-ssse3"]),
    ("ssse3", &["-mssse3", "-mno-avx"]),
    ("avx2", &["-mavx2", "-mno-avx512f"]),
    ("avx512f", &["-mavx512f"]),
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=argon2");
    println!("cargo:rerun-if-changed=c");
    println!("cargo:rustc-check-cfg=cfg(tessera_argon2_dispatch)");

    let target_arch = std::env::var("CARGO_CFG_TARGET_ARCH")?;
    let mut library = base_build();
    library.files(COMMON);
    // The per-ISA flags are GCC/Clang spellings; MSVC gets the portable code.
    if target_arch == "x86_64" && !library.get_compiler().is_like_msvc() {
        let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
        for (name, flags) in VARIANTS {
            let mut variant = base_build();
            variant
                .file("argon2/src/opt.c")
                .define("fill_segment", format!("tessera_fill_segment_{name}").as_str())
                // Same source each time: separate directories keep the
                // objects from overwriting one another.
                .out_dir(out_dir.join(name));
            for flag in *flags {
                variant.flag(flag);
            }
            library.objects(variant.try_compile_intermediates()?);
        }
        library.file("c/dispatch.c");
        println!("cargo:rustc-cfg=tessera_argon2_dispatch");
    } else {
        library.file("argon2/src/ref.c");
    }
    library.try_compile("tessera_argon2_c")?;
    Ok(())
}

/// The settings of every compilation: argon2-sys's, minus `-march=native`.
fn base_build() -> cc::Build {
    let mut build = cc::Build::new();
    // Optimised even in debug builds, as argon2-sys was as a dependency
    // (the workspace's dev profile gives dependencies `opt-level = 1`): at
    // -O0 the intrinsics run about ten times slower, and the tests hash
    // 64 MiB vectors through every copy. This is vendored code nobody steps
    // through.
    if std::env::var("OPT_LEVEL").is_ok_and(|level| level == "0" || level == "1") {
        build.opt_level(2);
    }
    build
        .include("argon2/include")
        .include("argon2/src")
        .flag_if_supported("-pthread")
        .flag_if_supported("-std=c89")
        // Vendored code, left as upstream wrote it: its warnings are not ours.
        .warnings(false)
        .extra_warnings(false);
    build
}
