/*
 * The `fill_segment` that libargon2's core.c calls, forwarding to one of the
 * copies of opt.c that build.rs compiled for different instruction sets.
 *
 * The choice is made by the Rust side (src/dispatch.rs), which knows the
 * CPU's features from `is_x86_feature_detected!` (that also checks the
 * operating system saves the wider registers), and stored here once before
 * the first hash. Until then the SSE2 copy is used: SSE2 is part of x86-64
 * itself, so every path through this file runs on any x86-64 CPU.
 *
 * The variant is read and written with the compiler's atomic builtins: hash
 * threads read it while, in tests, another thread may change it.
 */

#include "argon2.h"
#include "core.h"

void tessera_fill_segment_sse2(const argon2_instance_t *instance,
                               argon2_position_t position);
void tessera_fill_segment_ssse3(const argon2_instance_t *instance,
                                argon2_position_t position);
void tessera_fill_segment_avx2(const argon2_instance_t *instance,
                               argon2_position_t position);
void tessera_fill_segment_avx512f(const argon2_instance_t *instance,
                                  argon2_position_t position);

/* Keep in step with `Variant` in src/dispatch.rs. */
enum tessera_variant {
    TESSERA_SSE2 = 1,
    TESSERA_SSSE3 = 2,
    TESSERA_AVX2 = 3,
    TESSERA_AVX512F = 4
};

static int selected_variant = TESSERA_SSE2;

/* Selects the copy used by later hashes; returns 0, or -1 (and changes
 * nothing) for a number that names no copy. The caller vouches that the CPU
 * has the copy's instruction set. */
int tessera_argon2_select(int variant) {
    if (variant < TESSERA_SSE2 || variant > TESSERA_AVX512F) {
        return -1;
    }
    __atomic_store_n(&selected_variant, variant, __ATOMIC_RELAXED);
    return 0;
}

/* The copy that the next call of fill_segment will use. */
int tessera_argon2_selected(void) {
    return __atomic_load_n(&selected_variant, __ATOMIC_RELAXED);
}

void fill_segment(const argon2_instance_t *instance,
                  argon2_position_t position) {
    switch (tessera_argon2_selected()) {
    case TESSERA_AVX512F:
        tessera_fill_segment_avx512f(instance, position);
        break;
    case TESSERA_AVX2:
        tessera_fill_segment_avx2(instance, position);
        break;
    case TESSERA_SSSE3:
        tessera_fill_segment_ssse3(instance, position);
        break;
    default:
        tessera_fill_segment_sse2(instance, position);
        break;
    }
}
