//! Several threads hammer a few keys with every kind, random priorities, random waiting
//! (blocking, try, timeouts), upgrades, downgrades and two-key transactions taken in
//! random order (so deadlocks happen and must be reported, not hang).
//!
//! The test checks the table itself: beside the lock, each key has counters of
//! readers, writers and exclusive holders that a thread increments right after it is
//! granted and decrements right before it releases. A holder checks the counters of
//! the kinds it excludes; a broken lock shows up as a non-zero count. At the end every
//! counter is back to zero, the manager's statistics equal the outcomes the threads
//! saw, and no key takes memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use ssot_lock::LockKind::{self, Exclusive, Read, Write};
use ssot_lock::{Error, LockGuard, LockManager, LockStats, Owner};

const THREADS: usize = 6;
const ROUNDS: usize = 2000;
const KEYS: u64 = 4;

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[derive(Default)]
struct Occupancy {
    read: AtomicUsize,
    write: AtomicUsize,
    exclusive: AtomicUsize,
}

impl Occupancy {
    fn counter(&self, kind: LockKind) -> &AtomicUsize {
        match kind {
            Read => &self.read,
            Write => &self.write,
            Exclusive => &self.exclusive,
        }
    }

    /// Called right after a grant: no one of an incompatible kind may be inside.
    fn enter(&self, kind: LockKind) {
        let before = self.counter(kind).fetch_add(1, SeqCst);
        self.check(kind, before);
    }

    fn check(&self, kind: LockKind, same_kind_before: usize) {
        let (r, w, x) = (
            self.read.load(SeqCst),
            self.write.load(SeqCst),
            self.exclusive.load(SeqCst),
        );
        match kind {
            Read => assert_eq!(x, 0, "a reader beside an exclusive holder"),
            Write => {
                assert_eq!(same_kind_before, 0, "two writers");
                assert_eq!(x, 0, "a writer beside an exclusive holder");
            }
            Exclusive => {
                assert_eq!(same_kind_before, 0, "two exclusive holders");
                assert_eq!(
                    (r, w),
                    (0, 0),
                    "an exclusive holder beside readers or writers"
                );
            }
        }
    }

    /// Called right before a release.
    fn leave(&self, kind: LockKind) {
        self.counter(kind).fetch_sub(1, SeqCst);
    }
}

#[derive(Default)]
struct Seen {
    acquisitions: AtomicU64,
    upgrades: AtomicU64,
    would_block: AtomicU64,
    timeouts: AtomicU64,
    deadlocks: AtomicU64,
}

impl Seen {
    fn record_error(&self, e: &Error) {
        match e {
            Error::WouldBlock { .. } => self.would_block.fetch_add(1, SeqCst),
            Error::Timeout { .. } => self.timeouts.fetch_add(1, SeqCst),
            Error::Deadlock { .. } => self.deadlocks.fetch_add(1, SeqCst),
            other => panic!("unexpected error: {other}"),
        };
    }
}

fn kind(rng: &mut Lcg) -> LockKind {
    LockKind::ALL[rng.below(3) as usize]
}

fn acquire<'m>(
    locks: &'m LockManager<u64>,
    key: u64,
    kind: LockKind,
    owner: Owner,
    rng: &mut Lcg,
    seen: &Seen,
) -> Option<LockGuard<'m, u64>> {
    let request = locks
        .request(&key, kind)
        .owner(owner)
        .priority(rng.below(4) as i32 - 1);
    let request = match rng.below(3) {
        0 => request,
        1 => request.no_wait(),
        _ => request.timeout(Duration::from_micros(rng.below(2000))),
    };
    match request.acquire() {
        Ok(g) => {
            seen.acquisitions.fetch_add(1, SeqCst);
            Some(g)
        }
        Err(e) => {
            seen.record_error(&e);
            None
        }
    }
}

/// Work under a held lock: upgrade, downgrade, yield; keeps the occupancy counters true.
fn work(guard: &mut LockGuard<'_, u64>, room: &Occupancy, rng: &mut Lcg, seen: &Seen) {
    for _ in 0..rng.below(3) {
        std::thread::yield_now();
        room.check(
            guard.kind(),
            room.counter(guard.kind()).load(SeqCst).saturating_sub(1),
        );
    }
    if guard.kind() == Write && rng.below(2) == 0 {
        let result = match rng.below(3) {
            0 => guard.upgrade(),
            1 => guard.try_upgrade(),
            _ => guard.upgrade_timeout(Duration::from_micros(rng.below(2000))),
        };
        match result {
            Ok(()) => {
                seen.upgrades.fetch_add(1, SeqCst);
                room.leave(Write);
                room.enter(Exclusive);
                std::thread::yield_now();
            }
            Err(e) => {
                assert_eq!(guard.kind(), Write);
                seen.record_error(&e);
            }
        }
    }
    if guard.kind() > Read && rng.below(2) == 0 {
        let to = if guard.kind() == Exclusive && rng.below(2) == 0 {
            Write
        } else {
            Read
        };
        // Leave the stronger kind before entering the weaker one (the counters must
        // never claim more than is held), then weaken the lock.
        room.leave(guard.kind());
        room.enter(to);
        guard.downgrade(to).unwrap();
    }
}

fn release(guard: LockGuard<'_, u64>, room: &Occupancy) {
    room.leave(guard.kind());
    drop(guard);
}

#[test]
fn many_threads_keep_the_table_and_balance_every_counter() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<u64>::builder().shards(4).build();
    let rooms: Vec<Occupancy> = (0..KEYS).map(|_| Occupancy::default()).collect();
    let seen = Seen::default();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (locks, rooms, seen) = (&locks, &rooms, &seen);
            s.spawn(move || {
                let mut rng = Lcg(t as u64 * 7919 + 1);
                // Half the threads act as an explicit session, half as themselves.
                let owner = if t % 2 == 0 {
                    Owner::new()
                } else {
                    Owner::current()
                };
                for _ in 0..ROUNDS {
                    let first = rng.below(KEYS);
                    let Some(mut g1) = acquire(locks, first, kind(&mut rng), owner, &mut rng, seen)
                    else {
                        continue;
                    };
                    rooms[first as usize].enter(g1.kind());
                    work(&mut g1, &rooms[first as usize], &mut rng, seen);
                    if rng.below(2) == 0 {
                        // A second key while holding the first: deadlocks may happen.
                        let second = (first + 1 + rng.below(KEYS - 1)) % KEYS;
                        if let Some(mut g2) =
                            acquire(locks, second, kind(&mut rng), owner, &mut rng, seen)
                        {
                            rooms[second as usize].enter(g2.kind());
                            work(&mut g2, &rooms[second as usize], &mut rng, seen);
                            release(g2, &rooms[second as usize]);
                        }
                    }
                    release(g1, &rooms[first as usize]);
                }
            });
        }
    });

    for room in &rooms {
        assert_eq!(
            room.read.load(SeqCst) + room.write.load(SeqCst) + room.exclusive.load(SeqCst),
            0
        );
    }
    assert_eq!(locks.active_keys(), 0, "idle keys still take memory");
    let stats: LockStats = locks.stats();
    assert_eq!(stats.acquisitions, seen.acquisitions.load(SeqCst));
    assert_eq!(stats.upgrades, seen.upgrades.load(SeqCst));
    assert_eq!(stats.would_block, seen.would_block.load(SeqCst));
    assert_eq!(stats.timeouts, seen.timeouts.load(SeqCst));
    assert_eq!(stats.deadlocks, seen.deadlocks.load(SeqCst));
    assert!(stats.contended >= stats.timeouts);
    assert!(stats.acquisitions > 0);
}

/// Only blocking requests (no timeout to break a missed cycle), two keys at a time
/// in random order, random priorities, upgrades, and sessions each shared by several
/// threads at once: every request either is granted or fails with `Deadlock` (or
/// `AlreadyHeld`, when two threads of a session meet on a key), and the run ends.
/// The watchdog turns a missed deadlock or a lost wake-up into a failure.
#[test]
fn blocking_requests_of_sessions_shared_by_threads_never_hang() {
    let _watchdog = support::watchdog();
    let locks = LockManager::<u64>::builder().shards(2).build();
    let sessions: Vec<Owner> = (0..3).map(|_| Owner::new()).collect();
    let deadlocks = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (locks, sessions, deadlocks) = (&locks, &sessions, &deadlocks);
            s.spawn(move || {
                let mut rng = Lcg(t as u64 * 31 + 7);
                for _ in 0..ROUNDS {
                    let owner = if rng.below(2) == 0 {
                        sessions[rng.below(3) as usize]
                    } else {
                        Owner::current()
                    };
                    let take = |key: u64, rng: &mut Lcg| {
                        let request = locks
                            .request(&key, kind(rng))
                            .owner(owner)
                            .priority(rng.below(3) as i32);
                        match request.acquire() {
                            Ok(g) => Some(g),
                            Err(Error::Deadlock { .. }) => {
                                deadlocks.fetch_add(1, SeqCst);
                                None
                            }
                            Err(Error::AlreadyHeld { .. }) => None,
                            Err(e) => panic!("unexpected error: {e}"),
                        }
                    };
                    let first = rng.below(3);
                    let Some(mut g1) = take(first, &mut rng) else {
                        continue;
                    };
                    std::thread::yield_now();
                    let second = (first + 1 + rng.below(2)) % 3;
                    if let Some(mut g2) = take(second, &mut rng) {
                        std::thread::yield_now();
                        if g2.kind() == Write && g2.upgrade().is_err() {
                            deadlocks.fetch_add(1, SeqCst);
                        }
                    }
                    if g1.kind() == Write && g1.upgrade().is_err() {
                        deadlocks.fetch_add(1, SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(locks.active_keys(), 0);
    assert_eq!(locks.stats().deadlocks, deadlocks.load(SeqCst));
    assert_eq!(locks.stats().timeouts, 0);
}
