//! The allocator's settings for large messages (glibc only).
//!
//! glibc's `malloc` serves a buffer above its mmap threshold (128 KiB at
//! first, raised to the size of the last such buffer freed, at most
//! 32 MiB) with fresh pages from the kernel and gives them back when it is
//! freed; it also returns the free top of its heap once that exceeds twice
//! the threshold. A party that receives and sends one large message after
//! another then has every page of every buffer faulted in and zeroed by the
//! kernel again: `cargo xtask bench` counts the minor page faults per
//! message (docs/benchmarks.md, "Where the time goes").
//!
//! `MPC_MALLOC=keep` keeps freed memory for the next message instead:
//! buffers up to 32 MiB come from the heap, and up to 128 MiB of free heap
//! is kept. Echoes of about 1 MiB then fault in a fraction of the pages and
//! run faster (mpc-http already uses received buffers of 1 to 32 MiB again;
//! the benchmark page measures both in one run), but a party that
//! receives one message of hundreds of MiB keeps more memory at its peak
//! (the heap buffers a growing receive buffer passed through stay with the
//! process): the default is glibc's own behaviour, which keeps the peak
//! memory of a large message within a few percent of its size. Applications
//! built on `mpc-pool` choose their allocator themselves; `GLIBC_TUNABLES`
//! (`glibc.malloc.mmap_threshold`, `glibc.malloc.trim_threshold`) does the
//! same for any program.

/// Buffers up to this size come from the heap (glibc's largest allowed
/// mmap threshold on 64-bit systems).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Free heap kept for later buffers before any is returned to the kernel.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: i32 = 128 << 20;

/// Applies the settings if `MPC_MALLOC=keep`. Call before any other
/// thread starts.
pub(crate) fn keep_freed_memory_if_asked() {
    if std::env::var_os("MPC_MALLOC").is_none_or(|v| v != "keep") {
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
