//! The process's memory allocator: mimalloc rather than glibc's. The planner makes and drops
//! millions of small names and specs; at 100,000 partitions glibc's free-list work
//! (`malloc_consolidate`, `unlink_chunk`, `_int_free`) took a third of a cold `plan`, and the
//! planning phase's time per partition was 1.9× its time at 10,000. With mimalloc, keeping what
//! is freed, it is 1.4× and the phase takes half the time (issue 35). Used by the `powerplane`
//! binary and, by path, by the model's planner bench, so that the bench measures what runs.

/// The global allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: its index in `mi_option_e` (mimalloc v3's
/// `include/mimalloc.h`, as vendored by libmimalloc-sys 0.1.49, which names no constant for it).
pub(crate) const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets mimalloc's options for this process; call first thing in `main`. Freed memory is kept
/// for reuse instead of handed back to the kernel after mimalloc's default delay (1 s): with the
/// default, the large buffers a 100k plan grows and drops were returned and faulted in again,
/// zeroed page by page (`clear_page_erms`, a fifth of the run). The process keeps the memory of
/// its peak, as it did under glibc.
///
/// Transparent huge pages are off at build time (libmimalloc-sys's `no_thp`; the runtime option
/// comes too late, after mimalloc has reserved its first arena): with them, the peak memory of
/// a 1k-partition `plan` rose from 32 MB (glibc) to 88 MB and a 25k one's from 313 MB to 350 MB,
/// for a few percent of time at best, and the first run after other memory-heavy work took up to
/// 1.5× as long.
pub(crate) fn configure() {
    // SAFETY: `mi_option_set` takes no pointers; it runs first in `main`, before any other
    // thread of the process starts.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

#[cfg(test)]
mod tests {
    /// The index names the option meant: mimalloc v3 reports its default there (1,000 ms,
    /// `src/options.c`). An upgrade that moves the enum fails here, not silently in use.
    #[test]
    fn the_option_set_is_the_one_meant() {
        // SAFETY: reads and sets mimalloc's global options; no other test runs in this binary.
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY), 1000);
            super::configure();
            assert_eq!(libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY), -1);
        }
    }
}
