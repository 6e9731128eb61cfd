//! Fan-out of blocking system calls (fsync, stat) over scoped threads.
//!
//! Journaling file systems commit concurrent fsyncs together, so N files fsynced from
//! N threads cost about one commit instead of N; `stat` calls over a large tree are
//! spread over the CPUs as git's preloaded index does.

use std::io;

use crate::error::{Error, Result};

/// How many threads may wait on the file system at once (stat calls, fsyncs).
pub(crate) fn io_threads(items: usize, cap: usize) -> usize {
    items.min(cap).max(1)
}

/// The number of CPUs, capped: for CPU-bound fan-out such as `stat` calls.
pub(crate) fn cpu_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
}

/// Maps `f` over `items` on up to `threads` scoped threads, keeping order. Used for
/// system calls that block (fsync, stat): journaling file systems commit concurrent
/// fsyncs together, so N files cost about one commit instead of N.
pub(crate) fn parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    if threads <= 1 || items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Result<Vec<R>>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part?),
                Err(_) => {
                    return Err(Error::Io {
                        action: "run a worker thread for",
                        path: std::path::PathBuf::new(),
                        source: io::Error::other("a worker thread panicked"),
                    });
                }
            }
        }
        Ok(out)
    })
}
