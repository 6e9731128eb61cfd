//! [`RetryPolicy`]: how many times a failed job is tried again, and how long to wait
//! before each new attempt.
//!
//! Jitter is deterministic: the delay of attempt `n` of a node is a pure function of
//! the policy's seed, a hash of the node and `n`. Two runs with the same seed wait the
//! same, so tests can assert on delays, and different nodes still spread out instead of
//! retrying in lockstep (the reason jitter exists).

use std::time::Duration;

/// How a failed attempt is retried. A timed-out attempt is a failed attempt: it is
/// retried like any other.
///
/// ```
/// use std::time::Duration;
/// use ssot_core::run::RetryPolicy;
///
/// let p = RetryPolicy::exponential(5, Duration::from_millis(100), Duration::from_secs(1));
/// assert_eq!(p.max_retries(), 5);
/// assert_eq!(p.delay(1, 0), Duration::from_millis(100));
/// assert_eq!(p.delay(2, 0), Duration::from_millis(200));
/// assert_eq!(p.delay(5, 0), Duration::from_secs(1)); // capped
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RetryPolicy {
    /// Never retried: one attempt (the default).
    #[default]
    None,
    /// Up to `retries` more attempts, each after `delay`.
    Fixed {
        /// Attempts after the first.
        retries: u32,
        /// Wait before each retry.
        delay: Duration,
    },
    /// Up to `retries` more attempts; retry `n` (1-based) waits `n * step`.
    Linear {
        /// Attempts after the first.
        retries: u32,
        /// Added to the wait at each retry.
        step: Duration,
    },
    /// Up to `retries` more attempts; retry `n` waits `base * 2^(n-1)`, at most `cap`,
    /// then minus a jitter of up to `jitter` parts per thousand of that wait.
    Exponential {
        /// Attempts after the first.
        retries: u32,
        /// The first wait.
        base: Duration,
        /// The longest wait.
        cap: Duration,
        /// Jitter as parts per thousand of the wait (0 = none, 1000 = anywhere in
        /// `[0, wait]`).
        jitter_permille: u16,
        /// Seed of the deterministic jitter.
        seed: u64,
    },
}

impl RetryPolicy {
    /// Exponential backoff without jitter; add it with [`with_jitter`](Self::with_jitter).
    #[must_use]
    pub fn exponential(retries: u32, base: Duration, cap: Duration) -> RetryPolicy {
        RetryPolicy::Exponential {
            retries,
            base,
            cap,
            jitter_permille: 0,
            seed: 0,
        }
    }

    /// The same policy with jitter (parts per thousand of each wait, at most 1000) and
    /// its seed. Only [`Exponential`](Self::Exponential) has jitter; other policies are
    /// returned unchanged.
    #[must_use]
    pub fn with_jitter(self, permille: u16, seed: u64) -> RetryPolicy {
        match self {
            RetryPolicy::Exponential {
                retries, base, cap, ..
            } => RetryPolicy::Exponential {
                retries,
                base,
                cap,
                jitter_permille: permille.min(1000),
                seed,
            },
            other => other,
        }
    }

    /// Attempts allowed after the first.
    #[must_use]
    pub fn max_retries(&self) -> u32 {
        match *self {
            RetryPolicy::None => 0,
            RetryPolicy::Fixed { retries, .. }
            | RetryPolicy::Linear { retries, .. }
            | RetryPolicy::Exponential { retries, .. } => retries,
        }
    }

    /// The wait before retry number `retry` (1 = the second attempt). `salt`
    /// distinguishes nodes for the jitter (the executor passes a hash of the node id).
    #[must_use]
    pub fn delay(&self, retry: u32, salt: u64) -> Duration {
        match *self {
            RetryPolicy::None => Duration::ZERO,
            RetryPolicy::Fixed { delay, .. } => delay,
            RetryPolicy::Linear { step, .. } => step.saturating_mul(retry),
            RetryPolicy::Exponential {
                base,
                cap,
                jitter_permille,
                seed,
                ..
            } => {
                let shift = retry.saturating_sub(1).min(31);
                let wait = base.saturating_mul(1u32 << shift).min(cap);
                if jitter_permille == 0 {
                    return wait;
                }
                let r = splitmix64(seed ^ salt.rotate_left(17) ^ u64::from(retry));
                // r % 1001 / 1000 of `jitter_permille / 1000` of the wait.
                let off = wait.as_nanos() * u128::from(jitter_permille) * u128::from(r % 1001)
                    / 1_000_000;
                wait.saturating_sub(Duration::from_nanos(u64::try_from(off).unwrap_or(u64::MAX)))
            }
        }
    }
}

/// SplitMix64: a tiny, well-mixed, seedable generator; enough for spreading retries.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_and_fixed_delays() {
        let ms = Duration::from_millis;
        let l = RetryPolicy::Linear {
            retries: 3,
            step: ms(10),
        };
        assert_eq!([l.delay(1, 0), l.delay(3, 0)], [ms(10), ms(30)]);
        let f = RetryPolicy::Fixed {
            retries: 2,
            delay: ms(7),
        };
        assert_eq!(f.delay(1, 0), ms(7));
        assert_eq!(f.max_retries(), 2);
        assert_eq!(f.delay(2, 9), ms(7));
        assert_eq!(RetryPolicy::None.max_retries(), 0);
    }

    #[test]
    fn jitter_is_deterministic_bounded_and_spreads_nodes() {
        let ms = Duration::from_millis;
        let p = RetryPolicy::exponential(4, ms(100), ms(250)).with_jitter(1000, 42);
        let d: Vec<Duration> = (0..50).map(|salt| p.delay(3, salt)).collect();
        assert!(d.iter().all(|&x| x <= ms(250)));
        assert_eq!(d, (0..50).map(|salt| p.delay(3, salt)).collect::<Vec<_>>());
        let mut distinct = d.clone();
        distinct.sort();
        distinct.dedup();
        assert!(
            distinct.len() > 10,
            "jitter should spread nodes: {distinct:?}"
        );
        let other = RetryPolicy::exponential(4, ms(100), ms(250)).with_jitter(1000, 43);
        assert_ne!(
            d,
            (0..50).map(|salt| other.delay(3, salt)).collect::<Vec<_>>()
        );
    }
}
