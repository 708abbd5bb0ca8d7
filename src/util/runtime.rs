//! The async runtime of the network sinks (`deploy`, `serve`): created by each on entry, so that
//! the rest of the crate stays synchronous.
//!
//! In: nothing. Out: a tokio runtime of two worker threads with IO and timers.

/// A tokio runtime for one deploy or one preview server.
pub(crate) fn new() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
}
