//! What a job receives and returns: [`RunContext`], [`CancelToken`], [`Job`],
//! [`JobError`].
//!
//! A closure cannot be killed from outside without `unsafe` or a process boundary, so
//! for closure jobs a timeout is *cooperative*: when the attempt's deadline passes, its
//! context reports [`is_cancelled`](RunContext::is_cancelled) and
//! [`wait`](RunContext::wait) returns early; a job that returns after its deadline is
//! recorded as timed out whatever it returned. A job that ignores its context runs to
//! its end and is then recorded as timed out.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::run::journal::Journal;
use std::time::{Duration, Instant};

/// A shared flag that tells running jobs to stop. Cloning gives another handle to the
/// same flag. Cancelling is one-way.
///
/// [`is_cancelled`](Self::is_cancelled) is one atomic load (the executor asks it
/// once per attempt); the mutex and condition variable serve only
/// [`RunContext::wait`].
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    inner: Arc<TokenInner>,
}

#[derive(Debug, Default)]
struct TokenInner {
    cancelled: AtomicBool,
    /// Held while setting the flag and by a waiter between its check and its wait,
    /// so that a waiter cannot miss the wake-up.
    lock: Mutex<()>,
    wake: Condvar,
}

impl CancelToken {
    /// A token not cancelled.
    #[must_use]
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels: every holder sees [`is_cancelled`](Self::is_cancelled), and every
    /// [`RunContext::wait`] returns.
    pub fn cancel(&self) {
        let inner = &*self.inner;
        let guard = inner.lock.lock().unwrap_or_else(PoisonError::into_inner);
        inner.cancelled.store(true, Ordering::Release);
        drop(guard);
        inner.wake.notify_all();
    }

    /// Whether [`cancel`](Self::cancel) was called. One atomic load.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }

    /// Waits until cancelled or `until`, whichever comes first; returns whether
    /// cancelled.
    fn wait_until(&self, until: Instant) -> bool {
        let inner = &*self.inner;
        let mut guard = inner.lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if inner.cancelled.load(Ordering::Acquire) {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            guard = inner
                .wake
                .wait_timeout(guard, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Keeps the last `limit` bytes written to it (cut at a character boundary).
#[derive(Debug, Clone)]
pub(crate) struct Tail {
    buf: String,
    limit: usize,
}

impl Tail {
    pub(crate) fn new(limit: usize) -> Tail {
        Tail {
            buf: String::new(),
            limit,
        }
    }

    pub(crate) fn push(&mut self, text: &str) {
        self.buf.push_str(text);
        if self.buf.len() > self.limit {
            let mut cut = self.buf.len() - self.limit;
            while !self.buf.is_char_boundary(cut) {
                cut += 1;
            }
            self.buf.drain(..cut);
        }
    }

    pub(crate) fn into_string(self) -> String {
        self.buf
    }

    /// What was kept, leaving the tail empty.
    pub(crate) fn take(&mut self) -> String {
        std::mem::take(&mut self.buf)
    }
}

/// What a job is given for one attempt: the attempt number, the run's cancellation,
/// the attempt's deadline, and an output sink whose tail goes into the run record.
#[derive(Debug)]
pub struct RunContext {
    attempt: u32,
    cancel: CancelToken,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
    output: Mutex<Tail>,
    /// The run's journal and this node's name in it, when the run keeps one.
    journal: Option<(Arc<Journal>, String)>,
}

impl RunContext {
    pub(crate) fn new(
        attempt: u32,
        cancel: CancelToken,
        timeout: Option<Duration>,
        output_limit: usize,
    ) -> RunContext {
        RunContext {
            attempt,
            cancel,
            deadline: timeout.map(|t| Instant::now() + t),
            timeout,
            output: Mutex::new(Tail::new(output_limit)),
            journal: None,
        }
    }

    /// Records in the run journal (if any) that process group `pgid` runs for this
    /// node (`done = false`, synced) or has ended (`done = true`), so that resume can
    /// stop groups a killed run left behind. A journal write error is logged to the
    /// attempt's output: the command itself is unaffected.
    pub(crate) fn journal_process_group(&self, pgid: i32, done: bool) {
        if let Some((journal, node)) = &self.journal {
            let event = if done {
                "process_group_done"
            } else {
                "process_group"
            };
            if let Err(e) = journal.append(node, event, None, Some(pgid), !done) {
                self.log(&format!("{e}\n"));
            }
        }
    }

    /// The attempt number, 1 for the first.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The attempt's time limit, if any.
    #[must_use]
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// When the attempt times out, if it has a limit.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The run's cancellation token (cancelled when the whole run is cancelled).
    #[must_use]
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    /// Whether the job should stop now: the run was cancelled or the deadline passed.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled() || self.timed_out()
    }

    /// Whether the attempt's deadline has passed.
    #[must_use]
    pub fn timed_out(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Sleeps for `d`, or less when the run is cancelled or the deadline comes first.
    /// Returns `true` when it woke because the job should stop.
    pub fn wait(&self, d: Duration) -> bool {
        let mut until = Instant::now() + d;
        if let Some(deadline) = self.deadline {
            until = until.min(deadline);
        }
        self.cancel.wait_until(until) || self.timed_out()
    }

    /// Appends text to the attempt's output; the run record keeps its tail.
    pub fn log(&self, text: &str) {
        self.output
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(text);
    }

    /// Readies a worker's context for its next attempt: each worker keeps one
    /// context for the whole run instead of building one per attempt (which cost a
    /// reference-count round trip on the shared cancel token per node).
    pub(crate) fn reset(
        &mut self,
        attempt: u32,
        timeout: Option<Duration>,
        journal: Option<(Arc<Journal>, String)>,
    ) {
        self.attempt = attempt;
        self.timeout = timeout;
        self.deadline = timeout.map(|t| Instant::now() + t);
        self.journal = journal;
    }

    /// The attempt's output tail, leaving the sink empty for the next attempt.
    pub(crate) fn take_output(&mut self) -> String {
        self.output
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Why a job attempt failed: a message for the run record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    message: String,
}

impl JobError {
    /// A failure described by `message` (say what failed and how to fix it).
    #[must_use]
    pub fn new(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
        }
    }

    /// The message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Work to run for a node. Implemented for every
/// `Fn(&N, &RunContext) -> Result<(), JobError> + Sync`.
pub trait Job<N: ?Sized>: Sync {
    /// Runs one attempt for `node`.
    ///
    /// # Errors
    ///
    /// Whatever made the attempt fail; it is recorded and the attempt retried by the
    /// node's [`RetryPolicy`](crate::run::RetryPolicy).
    fn run(&self, node: &N, ctx: &RunContext) -> Result<(), JobError>;

    /// Called instead of [`run`](Self::run) when the executor finds `node` up to
    /// date (its [`Inputs`](crate::run::Inputs) hash as at its last success), on
    /// the worker, before the node's dependents are released: what is done here
    /// (e.g. [`Executor::run_store`](crate::run::Executor::run_store) writing the
    /// task `done`) happens before any dependent starts. The default does nothing;
    /// closures get the default. Failures are the implementation's to report (the
    /// node is up to date whatever happens here); a panic is caught and ignored.
    fn up_to_date(&self, node: &N) {
        let _ = node;
    }
}

impl<N: ?Sized, F> Job<N> for F
where
    F: Fn(&N, &RunContext) -> Result<(), JobError> + Sync,
{
    fn run(&self, node: &N, ctx: &RunContext) -> Result<(), JobError> {
        self(node, ctx)
    }
}

impl fmt::Display for RunContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attempt {}", self.attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_bytes_on_char_boundaries() {
        let mut t = Tail::new(4);
        t.push("hello ");
        t.push("wörld");
        let s = t.into_string();
        assert!(s.len() <= 4 && "hello wörld".ends_with(&s), "{s}");
    }

    #[test]
    fn wait_returns_at_the_deadline_and_on_cancel() {
        let ctx = RunContext::new(1, CancelToken::new(), Some(Duration::from_millis(1)), 10);
        assert!(ctx.wait(Duration::from_secs(60)));
        assert!(ctx.timed_out());
        let token = CancelToken::new();
        token.cancel();
        let ctx = RunContext::new(1, token, None, 10);
        assert!(ctx.wait(Duration::from_secs(60)));
        assert!(!ctx.timed_out());
    }
}
