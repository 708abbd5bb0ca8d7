//! How much memory the process holds, for `sopixi build -v`: the peak resident size so far
//! (`getrusage`) and, in a binary built with `--features heap-stats`, the live heap (jemalloc's
//! `stats.allocated`), noted at the end of each build stage.
//!
//! In: nothing. Out: byte counts. Process-wide: with several builds in one process (a platform
//! run) the figures are the process's, not one build's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Whether [`note`] records anything (`sopixi build` with `-v` or `--json`): a platform run's
/// thousands of builds note nothing.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// What was noted at the end of each stage: (stage, live heap bytes, peak resident bytes).
static NOTED: Mutex<Vec<(&'static str, u64, u64)>> = Mutex::new(Vec::new());

/// The bytes jemalloc has handed out and not had back; 0 when jemalloc keeps no statistics
/// (built without `heap-stats`) or is not the allocator (the library's tests).
pub fn live() -> u64 {
    use std::ffi::c_void;
    if !cfg!(feature = "heap-stats") {
        return 0;
    }
    let mut epoch: u64 = 1;
    let mut size = std::mem::size_of::<u64>();
    // SAFETY: the names are NUL-terminated mallctl names; the pointers are to values of the
    // size given, as jemalloc's documentation says for `epoch` (u64) and `stats.allocated`
    // (size_t).
    unsafe {
        let e = std::ptr::addr_of_mut!(epoch).cast::<c_void>();
        tikv_jemalloc_sys::mallctl(c"epoch".as_ptr(), e, &mut size, e, size);
        let mut allocated: usize = 0;
        let mut len = std::mem::size_of::<usize>();
        let rc = tikv_jemalloc_sys::mallctl(
            c"stats.allocated".as_ptr(),
            std::ptr::addr_of_mut!(allocated).cast::<c_void>(),
            &mut len,
            std::ptr::null_mut(),
            0,
        );
        if rc == 0 {
            allocated as u64
        } else {
            0
        }
    }
}

/// The process's peak resident size so far, in bytes.
pub fn peak_resident() -> u64 {
    // SAFETY: getrusage writes one `rusage` into the zeroed value it is given.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0 {
            u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024
        } else {
            0
        }
    }
}

/// From now on, [`note`] records.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Notes the memory at the end of `stage` (when enabled).
pub fn note(stage: &'static str) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let (live, peak) = (live(), peak_resident());
    NOTED.lock().unwrap_or_else(|e| e.into_inner()).push((stage, live, peak));
}

/// What was noted since the last call, in order.
pub fn take() -> Vec<(&'static str, u64, u64)> {
    std::mem::take(&mut *NOTED.lock().unwrap_or_else(|e| e.into_inner()))
}
