//! The allocator's settings for large messages (glibc only).
//!
//! glibc's `malloc` serves a buffer above its mmap threshold (128 KiB at
//! first, raised to the size of the last such buffer freed, at most
//! 32 MiB) with fresh pages from the kernel and gives them back when it is
//! freed; it also returns the free top of its heap once that exceeds twice
//! the threshold. A party that receives and sends one large message after
//! another then has every page of every buffer faulted in and zeroed by the
//! kernel again: `cargo xtask bench` counts the minor page faults per
//! message (docs/benchmarks.md, "Where the time goes"). `mpc` keeps freed
//! memory for the next message instead: buffers up to 32 MiB come from the
//! heap, and up to 128 MiB of free heap is kept. Messages above 32 MiB are
//! still mapped and unmapped one by one, so the peak memory of a party that
//! receives one large message does not change.
//!
//! `MPC_MALLOC=default` leaves glibc's defaults (and `GLIBC_TUNABLES`
//! alone). Applications built on `mpc-pool` choose their allocator
//! themselves; docs/performance.md says how to do the same.

/// Buffers up to this size come from the heap (glibc's largest allowed
/// mmap threshold on 64-bit systems).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Free heap kept for later buffers before any is returned to the kernel.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: i32 = 128 << 20;

/// Applies the settings, unless `MPC_MALLOC=default`. Call before any
/// other thread starts.
pub(crate) fn keep_freed_memory() {
    if std::env::var_os("MPC_MALLOC").is_some_and(|v| v == "default") {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    set(MMAP_THRESHOLD, TRIM_THRESHOLD);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set(mmap_threshold: i32, trim_threshold: i32) {
    // SAFETY: mallopt only changes two numeric parameters of glibc's
    // allocator (it takes the allocator's own lock); called at start-up,
    // before any other thread of this process exists.
    let ok = unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, mmap_threshold) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, trim_threshold) == 1
    };
    if !ok {
        tracing::debug!("mallopt refused the large-message settings; glibc's defaults stay");
    }
}
