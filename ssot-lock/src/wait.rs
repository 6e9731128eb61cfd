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
