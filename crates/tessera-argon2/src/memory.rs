//! libargon2's working memory: a pool of 2 MiB-aligned regions, handed to
//! libargon2 through its allocator callbacks, and advised for transparent
//! huge pages on Linux.
//!
//! Why a pool: argon2id reads its 19 MiB of blocks in a data-dependent
//! order, so with 4 KiB pages nearly every block read misses the TLB. Given
//! 2 MiB-aligned regions advised for transparent huge pages, the same hash
//! takes about two thirds of the time on our machines; and reusing regions
//! instead of allocating and freeing per hash keeps them faulted in and
//! bounds the resident memory to the regions in use plus
//! [`MAX_SPARE_REGIONS`]. libargon2 still wipes the memory before handing it
//! back (its `clear_internal_memory`), so no hash state outlives a call.
//!
//! How a region is obtained depends on the system: on Linux an anonymous
//! mapping with `madvise(MADV_HUGEPAGE)` (a Linux-only call); elsewhere
//! heap memory with the same alignment and no hint, which works wherever
//! `std` does.
//!
//! `unsafe` is allowed in this module because it maps and frees memory and
//! hands raw pointers to C; each block says in its `SAFETY:` comment why it
//! is sound.
#![allow(unsafe_code)]

use std::ptr::NonNull;
use std::sync::Mutex;

use crate::ffi::{ARGON2_MEMORY_ALLOCATION_ERROR, ARGON2_OK};

/// Alignment and granularity of pooled regions: one x86-64 huge page.
const REGION_ALIGN: usize = 2 * 1024 * 1024;

/// Freed regions kept for reuse; beyond this many they are unmapped.
pub const MAX_SPARE_REGIONS: usize = 4;

/// `len` bytes of memory at a `REGION_ALIGN`-aligned address, owned by
/// whoever holds the `Region` (or, between the callbacks, by libargon2).
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
    /// A fresh region of `len` bytes, a non-zero multiple of `REGION_ALIGN`.
    fn new(len: usize) -> Option<Region> {
        if len == 0 {
            return None;
        }
        system::map(len).map(|start| Region { start, len })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the region came from `system::map` with this `len`, and
        // nothing refers to it once its `Region` is dropped.
        unsafe { system::unmap(self.start, self.len) }
    }
}

/// Frees every spare region, returning its memory to the system; for an
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
pub(crate) unsafe extern "C" fn allocate_blocks(memory: *mut *mut u8, bytes: usize) -> std::ffi::c_int {
    let region = region_len(bytes).and_then(|len| {
        let reused = SPARE_REGIONS.lock().ok().and_then(|mut spare| {
            let index = spare.iter().position(|region| region.len == len)?;
            Some(spare.swap_remove(index))
        });
        reused.or_else(|| Region::new(len))
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
        ARGON2_MEMORY_ALLOCATION_ERROR
    } else {
        ARGON2_OK
    }
}

/// libargon2's deallocator callback, called with the pointer and size given
/// out by `allocate_blocks`, after libargon2 has wiped the memory.
pub(crate) unsafe extern "C" fn release_blocks(memory: *mut u8, bytes: usize) {
    let (Some(start), Some(len)) = (NonNull::new(memory), region_len(bytes)) else {
        return;
    };
    let region = Region { start, len };
    if let Ok(mut spare) = SPARE_REGIONS.lock() {
        if spare.len() < MAX_SPARE_REGIONS {
            spare.push(region);
        }
    }
    // Otherwise `region` drops here and is freed.
}

#[cfg(target_os = "linux")]
use huge_pages as system;

#[cfg(not(target_os = "linux"))]
use aligned_heap as system;

/// Linux: anonymous mappings advised for transparent huge pages.
#[cfg(target_os = "linux")]
mod huge_pages {
    use std::ptr::NonNull;

    use super::REGION_ALIGN;

    /// Maps `len` bytes (a non-zero multiple of `REGION_ALIGN`) at an
    /// aligned address and asks for transparent huge pages on them (a hint:
    /// without THP it is still working, reusable memory).
    pub(super) fn map(len: usize) -> Option<NonNull<u8>> {
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
        NonNull::new(start_addr as *mut u8)
    }

    /// Unmaps what `map(len)` returned.
    ///
    /// # Safety
    /// `start` came from `map(len)` with this `len`, and nothing uses the
    /// memory afterwards.
    pub(super) unsafe fn unmap(start: NonNull<u8>, len: usize) {
        // SAFETY: by this function's contract, a live mapping of `len` bytes
        // that nothing refers to any more.
        unsafe {
            libc::munmap(start.as_ptr().cast(), len);
        }
    }
}

/// Everywhere else: heap memory with the same alignment, no huge-page hint.
/// Compiled on Linux too, unused there but for its tests, so that this path
/// is built and tested on every change.
#[cfg_attr(target_os = "linux", allow(dead_code))]
mod aligned_heap {
    use std::alloc::Layout;
    use std::ptr::NonNull;

    use super::REGION_ALIGN;

    /// The layout of every region of `len` bytes.
    fn layout(len: usize) -> Option<Layout> {
        Layout::from_size_align(len, REGION_ALIGN).ok()
    }

    /// Allocates `len` bytes (non-zero) at a `REGION_ALIGN`-aligned address.
    pub(super) fn map(len: usize) -> Option<NonNull<u8>> {
        let layout = layout(len).filter(|layout| layout.size() > 0)?;
        // SAFETY: the layout has a non-zero size, as `alloc` requires.
        NonNull::new(unsafe { std::alloc::alloc(layout) })
    }

    /// Frees what `map(len)` returned.
    ///
    /// # Safety
    /// `start` came from `map(len)` with this `len`, and nothing uses the
    /// memory afterwards.
    pub(super) unsafe fn unmap(start: NonNull<u8>, len: usize) {
        if let Some(layout) = layout(len) {
            // SAFETY: by this function's contract, `start` was allocated
            // with this very layout and is no longer used.
            unsafe { std::alloc::dealloc(start.as_ptr(), layout) }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{hash_encoded, verify_encoded, Params};

    const SMALL: Params = Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

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

    /// The non-Linux path, exercised here on Linux.
    #[test]
    fn aligned_heap_regions_are_aligned_writable_and_freed() {
        let len = 3 * REGION_ALIGN;
        let start = aligned_heap::map(len).unwrap();
        assert!((start.as_ptr() as usize).is_multiple_of(REGION_ALIGN));
        // SAFETY: `start` is valid for `len` bytes, owned by this test.
        let bytes = unsafe { std::slice::from_raw_parts_mut(start.as_ptr(), len) };
        bytes.fill(0xa5);
        assert!(bytes.iter().all(|&byte| byte == 0xa5));
        // SAFETY: from `map(len)` just above; `bytes` is not used again.
        unsafe { aligned_heap::unmap(start, len) };
        assert!(aligned_heap::map(0).is_none());
    }
}
