//! Which compiled copy of libargon2's block-filling code (`fill_segment` of
//! `opt.c`) this process uses.
//!
//! On x86-64, build.rs compiles `opt.c` once per instruction set (SSE2,
//! SSSE3, AVX2, AVX-512F) and `c/dispatch.c` forwards libargon2's calls to
//! one of them. The choice is made here, once, before the first hash: the
//! widest instruction set that `is_x86_feature_detected!` finds (which also
//! checks that the operating system saves the wider registers). Until then,
//! and on any CPU without the others, the SSE2 copy runs; SSE2 is part of
//! x86-64 itself. Elsewhere libargon2's portable `ref.c` is built and there
//! is nothing to choose.
//!
//! `unsafe` is allowed in this module for its two calls into
//! `c/dispatch.c`.
#![allow(unsafe_code)]

/// Chooses the copy of `fill_segment` for this CPU, the first time only.
pub(crate) fn select_once() {
    #[cfg(tessera_argon2_dispatch)]
    simd::select_once();
}

/// The instruction set of the block-filling code this process uses:
/// `"avx512f"`, `"avx2"`, `"ssse3"` or `"sse2"` on x86-64, `"portable"` where
/// libargon2's reference C code is built instead.
pub(crate) fn instruction_set() -> &'static str {
    #[cfg(tessera_argon2_dispatch)]
    {
        simd::select_once();
        simd::Variant::selected().name()
    }
    #[cfg(not(tessera_argon2_dispatch))]
    {
        "portable"
    }
}

#[cfg(tessera_argon2_dispatch)]
pub(crate) mod simd {
    use std::ffi::c_int;
    use std::sync::Once;

    extern "C" {
        fn tessera_argon2_select(variant: c_int) -> c_int;
        fn tessera_argon2_selected() -> c_int;
    }

    /// One copy of `fill_segment`; the numbers are `c/dispatch.c`'s.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Variant {
        Sse2 = 1,
        Ssse3 = 2,
        Avx2 = 3,
        Avx512f = 4,
    }

    impl Variant {
        /// Every copy, widest first.
        pub(crate) const ALL: [Variant; 4] = [Variant::Avx512f, Variant::Avx2, Variant::Ssse3, Variant::Sse2];

        pub(crate) fn name(self) -> &'static str {
            match self {
                Variant::Sse2 => "sse2",
                Variant::Ssse3 => "ssse3",
                Variant::Avx2 => "avx2",
                Variant::Avx512f => "avx512f",
            }
        }

        /// Whether this CPU (and its operating system) can run the copy.
        pub(crate) fn is_supported(self) -> bool {
            match self {
                Variant::Sse2 => true,
                Variant::Ssse3 => std::arch::is_x86_feature_detected!("ssse3"),
                Variant::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
                Variant::Avx512f => std::arch::is_x86_feature_detected!("avx512f"),
            }
        }

        /// The widest copy this CPU can run.
        pub(crate) fn best() -> Variant {
            Variant::ALL
                .into_iter()
                .find(|variant| variant.is_supported())
                .unwrap_or(Variant::Sse2)
        }

        /// The copy `fill_segment` forwards to now.
        pub(crate) fn selected() -> Variant {
            // SAFETY: reads an int with an atomic load; no other effect.
            let number = unsafe { tessera_argon2_selected() };
            Variant::ALL
                .into_iter()
                .find(|variant| *variant as c_int == number)
                .unwrap_or(Variant::Sse2)
        }

        /// Makes later hashes use this copy; `false` (and no change) when
        /// the CPU cannot run it.
        pub(crate) fn select(self) -> bool {
            if !self.is_supported() {
                return false;
            }
            // SAFETY: `self` is one of the numbers `c/dispatch.c` knows, and
            // the CPU supports its instructions (checked just above), so
            // every later `fill_segment` runs code this CPU can execute.
            unsafe { tessera_argon2_select(self as c_int) == 0 }
        }
    }

    static SELECTED: Once = Once::new();

    /// Selects [`Variant::best`], once per process; later calls return at
    /// once (and never undo a test's explicit `select`).
    pub(crate) fn select_once() {
        SELECTED.call_once(|| {
            Variant::best().select();
        });
    }
}
