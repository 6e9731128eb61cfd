//! Turning hangs into failures.
//!
//! A lost wake-up or an undetected deadlock shows up as a thread that never returns,
//! and a test that waits for it would hang CI forever. These helpers bound every such
//! wait with a limit far above any honest run (so they never judge speed), and fail
//! with a message saying what was being waited for.
#![allow(dead_code)] // each test binary uses what it needs

use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a test may run, or a condition take, before it counts as hung.
pub(crate) const LIMIT: Duration = Duration::from_secs(120);

/// Fails the whole test binary if the calling test is still running after [`LIMIT`]:
/// a thread blocked in a lock cannot be unwound, so the process exits with a message
/// naming the test. Keep the returned value alive for the test's whole body.
#[allow(clippy::print_stderr, clippy::exit)] // the one way out of a hung test
#[must_use = "the watchdog is disarmed as soon as it is dropped"]
pub(crate) fn watchdog() -> mpsc::Sender<()> {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let (disarm, armed) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = armed.recv_timeout(LIMIT) {
            eprintln!(
                "{test}: still running after {LIMIT:?}; a deadlock went undetected or a \
                 wake-up was lost"
            );
            std::process::exit(101);
        }
    });
    disarm
}

/// Spins (yielding) until `done()` holds, panicking with `what` after [`LIMIT`].
pub(crate) fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < LIMIT,
            "gave up after {LIMIT:?} waiting until {what}"
        );
        std::thread::yield_now();
    }
}
