//! How long a request is prepared to wait.

use std::time::{Duration, Instant};

/// How long a request waits: forever, not at all, or until a deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wait {
    Block,
    Try,
    Until {
        deadline: Instant,
        timeout: Duration,
    },
}

impl Wait {
    /// Waits at most `timeout`; a timeout too large to add to `Instant::now()` waits
    /// forever, which is what it means.
    pub(crate) fn timeout(timeout: Duration) -> Wait {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => Wait::Until { deadline, timeout },
            None => Wait::Block,
        }
    }
}

/// Bounded spinning before a request joins a key's queue.
///
/// Queuing costs the wait-graph mutex, a deadlock search and a sleep on a condition
/// variable; when the holder releases within microseconds (the common case for locks
/// around small edits) that costs far more than the wait itself. So a request that would
/// wait first retries the fast path a few times: a few rounds of `spin_loop`, then a few
/// `yield_now`s, about 10 retries in all. A spinning request is not queued, so it takes
/// no one's turn: the fast path grants only what the grant rule admits, which is never
/// ahead of a conflicting waiter of the same or higher priority. It is counted as
/// contended, and its spinning as wait time, when it is then granted.
#[derive(Debug, Default)]
pub(crate) struct Spin(u32);

impl Spin {
    /// Waits a little and says whether to retry, or `false` once spinning is over.
    pub(crate) fn again(&mut self) -> bool {
        match self.0 {
            0..=3 => {
                for _ in 0..(4u32 << self.0) {
                    std::hint::spin_loop();
                }
            }
            4..=9 => std::thread::yield_now(),
            _ => return false,
        }
        self.0 += 1;
        true
    }
}

/// How long a request being built will wait; its clock starts when it is acquired.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Patience {
    Forever,
    Never,
    AtMost(Duration),
}

impl Patience {
    /// Starts the clock: a timeout's deadline counts from now.
    pub(crate) fn start(self) -> Wait {
        match self {
            Patience::Forever => Wait::Block,
            Patience::Never => Wait::Try,
            Patience::AtMost(timeout) => Wait::timeout(timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_past_the_end_of_time_waits_forever() {
        assert!(matches!(Wait::timeout(Duration::MAX), Wait::Block));
        assert!(matches!(
            Wait::timeout(Duration::from_secs(1)),
            Wait::Until { .. }
        ));
    }
}
