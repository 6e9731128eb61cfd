//! Time, injectable: the [`Clock`] trait, the real [`SystemClock`] and the test
//! [`ManualClock`].
//!
//! Every deadline in this crate is a [`Timestamp`]: nanoseconds since the Unix epoch,
//! in a `u64` (good until the year 2554). Wall-clock time rather than a monotonic
//! `Instant` because the disk tier writes deadlines into files that must mean the same
//! thing after a restart, and one time base for every tier keeps promotion simple: a
//! remaining time-to-live is `deadline - now` in every tier.
//!
//! The price of wall-clock time is that a clock stepped backwards makes entries live
//! longer, and one stepped forwards expires them early. For a cache both are safe: an
//! expired entry is never served past a deadline the clock has reached.
//!
//! Reading the clock is the only time-related cost on the hot path, and the memory
//! tier pays it only for entries that can expire (a time-to-live or time-to-idle is
//! set); entries that never expire are served without reading the clock at all.
//! Where the system clock is slow to read (in some virtual machines `clock_gettime`
//! costs several times a cache hit), [`CoarseClock`] trades precision for a single
//! atomic load: a background thread refreshes it at a fixed resolution.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time: nanoseconds since the Unix epoch.
///
/// [`Timestamp::MAX`] stands for "never" in deadlines. Arithmetic saturates, so a
/// very long time-to-live is "never", not an overflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);
    /// The latest representable instant; used as "never" for deadlines.
    pub const MAX: Timestamp = Timestamp(u64::MAX);

    /// The instant `nanos` nanoseconds after the Unix epoch.
    #[must_use]
    pub const fn from_unix_nanos(nanos: u64) -> Timestamp {
        Timestamp(nanos)
    }

    /// Nanoseconds since the Unix epoch.
    #[must_use]
    pub const fn as_unix_nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`Timestamp::MAX`].
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Timestamp {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(nanos))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    #[must_use]
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// A source of the current time.
///
/// Implement it to drive a cache from your own time source; tests use
/// [`ManualClock`]. `now` is called on reads of entries that can expire and on every
/// write, so it should be cheap.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock ([`SystemTime::now`]), the default of every cache.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        // A system clock set before 1970 reads as the epoch: deadlines then lie in
        // the future, so nothing is served past one the clock has reached.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Timestamp(nanos)
    }
}

/// The system clock, read by a background thread every `resolution` and served from
/// an atomic: reading it costs one load instead of a system-clock read.
///
/// It lags the system clock by up to the resolution (plus scheduling delay), so an
/// entry may be served up to that long after its deadline and expires no earlier
/// than it should. Clones share one thread, which ends soon after the last clone is
/// dropped (at its next tick).
///
/// ```
/// use std::time::Duration;
/// use ssot_cache::{CoarseClock, MemoryCache};
///
/// let cache: MemoryCache<u32, u32> = MemoryCache::builder()
///     .time_to_live(Duration::from_secs(60))
///     .clock(CoarseClock::new(Duration::from_millis(1)))
///     .build();
/// cache.insert(1, 1);
/// assert_eq!(cache.get(&1), Some(1));
/// ```
#[derive(Clone, Debug)]
pub struct CoarseClock {
    nanos: Arc<AtomicU64>,
}

impl CoarseClock {
    /// Starts a clock refreshed every `resolution` (at least one microsecond) by a
    /// thread named `ssot-cache-clock`.
    ///
    /// If the thread cannot be spawned, the clock still works: it then reads the
    /// system clock on every call, like [`SystemClock`].
    #[must_use]
    pub fn new(resolution: Duration) -> CoarseClock {
        let resolution = resolution.max(Duration::from_micros(1));
        let nanos = Arc::new(AtomicU64::new(SystemClock.now().as_unix_nanos()));
        let weak: Weak<AtomicU64> = Arc::downgrade(&nanos);
        let spawned = std::thread::Builder::new()
            .name("ssot-cache-clock".to_string())
            .spawn(move || {
                loop {
                    std::thread::sleep(resolution);
                    let Some(nanos) = weak.upgrade() else { break };
                    nanos.store(SystemClock.now().as_unix_nanos(), Ordering::Relaxed);
                }
            });
        if spawned.is_err() {
            // No ticker: mark the clock as "read the system clock".
            nanos.store(u64::MAX, Ordering::Relaxed);
        }
        CoarseClock { nanos }
    }
}

impl Clock for CoarseClock {
    #[inline]
    fn now(&self) -> Timestamp {
        match self.nanos.load(Ordering::Relaxed) {
            u64::MAX => SystemClock.now(),
            n => Timestamp(n),
        }
    }
}

/// A clock that moves only when told to: time-to-live tests without sleeping.
///
/// Clones share the same time, so one handle can be given to a cache and another
/// kept by the test.
///
/// ```
/// use std::time::Duration;
/// use ssot_cache::{ManualClock, MemoryCache};
///
/// let clock = ManualClock::new();
/// let cache = MemoryCache::builder()
///     .max_capacity(100)
///     .time_to_live(Duration::from_secs(60))
///     .clock(clock.clone())
///     .build();
/// cache.insert("k", 1);
/// clock.advance(Duration::from_secs(59));
/// assert_eq!(cache.get("k"), Some(1));
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(cache.get("k"), None);
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading one second after the Unix epoch.
    ///
    /// (Not the epoch itself, so a test can also step it back a little.)
    #[must_use]
    pub fn new() -> ManualClock {
        ManualClock::starting_at(Timestamp::from_unix_nanos(1_000_000_000))
    }

    /// A clock reading `start`.
    #[must_use]
    pub fn starting_at(start: Timestamp) -> ManualClock {
        ManualClock {
            nanos: Arc::new(AtomicU64::new(start.as_unix_nanos())),
        }
    }

    /// Moves the clock forwards by `d` (saturating).
    pub fn advance(&self, d: Duration) {
        let add = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(add))
            });
    }

    /// Sets the clock to `t`, forwards or backwards.
    pub fn set(&self, t: Timestamp) {
        self.nanos.store(t.as_unix_nanos(), Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.nanos.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::new();
        let b = a.clone();
        let t0 = b.now();
        a.advance(Duration::from_millis(5));
        assert_eq!(
            b.now().saturating_duration_since(t0),
            Duration::from_millis(5)
        );
    }

    #[test]
    fn timestamp_arithmetic_saturates() {
        assert_eq!(
            Timestamp::MAX.saturating_add(Duration::from_secs(1)),
            Timestamp::MAX
        );
        assert_eq!(
            Timestamp::EPOCH.saturating_add(Duration::MAX),
            Timestamp::MAX,
            "a huge TTL means never"
        );
        assert_eq!(
            Timestamp::EPOCH.saturating_duration_since(Timestamp::from_unix_nanos(9)),
            Duration::ZERO
        );
    }

    #[test]
    fn coarse_clock_starts_at_the_system_time_and_never_runs_ahead() {
        let before = SystemClock.now();
        let coarse = CoarseClock::new(Duration::from_millis(1));
        let read = coarse.now();
        assert!(read >= before);
        assert!(read <= SystemClock.now());
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now().as_unix_nanos() > 1_577_836_800 * 1_000_000_000);
    }
}
