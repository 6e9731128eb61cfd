//! The state of one key: who holds it, who waits for it, and the grant rule.
//!
//! This module is pure bookkeeping with no locking of its own: the manager keeps one
//! [`KeyState`] per key inside a shard's mutex. Keeping the rule here, apart from the
//! threads and the map, lets it be tested step by step against the table.
//!
//! The grant rule: a request is granted when its kind is compatible with every holder
//! (other than its own owner, for an upgrade) and with every request queued ahead of it.
//! The queue is ordered by: upgrades first, then priority (highest first), then arrival.
//! Because a queued `Exclusive` is incompatible with everything, it blocks every request
//! behind it: that is the writer-starvation freedom. Because a queued `Write` is
//! compatible with `Read`, readers still pass a queued writer, as they pass a holding one.
//!
//! One holder is stored inline and everything else (more readers, the queue) behind
//! one pointer each, allocated only when used: the uncontended case (one holder, no
//! waiters) takes no allocation beyond the map slot, and the slot stays small (48
//! bytes with a `u64` key), which the fast path's insert and remove feel.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Condvar;

use crate::{LockKind, Owner};

/// A granted lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) owner: Owner,
    pub(crate) kind: LockKind,
}

/// Where a waiting thread sleeps. `granted` is written under the shard mutex by the
/// thread that grants, then `condvar` is notified; the waiter reads it under the same
/// mutex, so the atomic needs no ordering of its own.
#[derive(Debug, Default)]
pub(crate) struct Waiter {
    pub(crate) granted: AtomicBool,
    pub(crate) condvar: Condvar,
}

impl Waiter {
    pub(crate) fn is_granted(&self) -> bool {
        self.granted.load(Ordering::Relaxed)
    }
}

/// A queued request.
#[derive(Debug)]
pub(crate) struct Waiting {
    pub(crate) owner: Owner,
    pub(crate) kind: LockKind,
    pub(crate) priority: i32,
    /// An upgrade of the owner's `Write` hold to `Exclusive`.
    pub(crate) upgrade: bool,
    pub(crate) waiter: Arc<Waiter>,
}

/// A vector that takes one pointer while empty and never allocated (a `Vec` takes
/// three words).
/// The box is the point: the entry keeps one word, the rare contended key pays a
/// second allocation.
#[derive(Debug)]
#[allow(clippy::box_collection)]
pub(crate) struct Spill<T>(Option<Box<Vec<T>>>);

impl<T> Default for Spill<T> {
    fn default() -> Self {
        Spill(None)
    }
}

impl<T> Deref for Spill<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl<T> DerefMut for Spill<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.0.as_deref_mut().map_or(&mut [], Vec::as_mut_slice)
    }
}

impl<T> Spill<T> {
    fn vec(&mut self) -> &mut Vec<T> {
        self.0.get_or_insert_with(Box::default)
    }

    pub(crate) fn push(&mut self, value: T) {
        self.vec().push(value);
    }

    pub(crate) fn insert(&mut self, index: usize, value: T) {
        self.vec().insert(index, value);
    }

    pub(crate) fn remove(&mut self, index: usize) -> T {
        self.vec().remove(index)
    }

    fn swap_remove(&mut self, index: usize) -> T {
        self.vec().swap_remove(index)
    }

    fn pop(&mut self) -> Option<T> {
        self.0.as_mut().and_then(|v| v.pop())
    }
}

/// The holders of a key: the first inline, the rest (other readers) spilled.
#[derive(Debug, Default)]
pub(crate) struct Holders {
    first: Option<Holder>,
    more: Spill<Holder>,
}

impl Holders {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Holder> {
        self.first.iter().chain(self.more.iter())
    }

    pub(crate) fn push(&mut self, holder: Holder) {
        if self.first.is_none() {
            self.first = Some(holder);
        } else {
            self.more.push(holder);
        }
    }

    pub(crate) fn get_mut(&mut self, owner: Owner) -> Option<&mut Holder> {
        self.first
            .iter_mut()
            .chain(self.more.iter_mut())
            .find(|h| h.owner == owner)
    }

    /// Removes the owner's hold; returns whether it had one.
    pub(crate) fn remove(&mut self, owner: Owner) -> bool {
        if self.first.is_some_and(|h| h.owner == owner) {
            self.first = self.more.pop();
            return true;
        }
        match self.more.iter().position(|h| h.owner == owner) {
            Some(i) => {
                self.more.swap_remove(i);
                true
            }
            None => false,
        }
    }

    fn compatible(&self, kind: LockKind, except: Option<Owner>) -> bool {
        self.iter()
            .all(|h| Some(h.owner) == except || h.kind.compatible_with(kind))
    }
}

/// Everything the manager knows about one key.
#[derive(Debug, Default)]
pub(crate) struct KeyState {
    pub(crate) holders: Holders,
    /// Ordered: upgrades first, then higher priority, then earlier arrival.
    pub(crate) queue: Spill<Waiting>,
}

impl KeyState {
    pub(crate) fn held_by(owner: Owner, kind: LockKind) -> KeyState {
        KeyState {
            holders: Holders {
                first: Some(Holder { owner, kind }),
                more: Spill::default(),
            },
            queue: Spill::default(),
        }
    }

    /// No holders and no waiters: the key's entry can go.
    pub(crate) fn is_idle(&self) -> bool {
        self.holders.first.is_none() && self.queue.is_empty()
    }

    /// The kind the owner holds or waits for, if any.
    pub(crate) fn involvement(&self, owner: Owner) -> Option<LockKind> {
        self.holders
            .iter()
            .find(|h| h.owner == owner)
            .map(|h| h.kind)
            .or_else(|| self.queue.iter().find(|w| w.owner == owner).map(|w| w.kind))
    }

    /// Where a new request of this priority goes in the queue: after every upgrade and
    /// every request of the same or higher priority.
    pub(crate) fn position(&self, priority: i32, upgrade: bool) -> usize {
        if upgrade {
            return 0;
        }
        self.queue
            .iter()
            .position(|w| !w.upgrade && w.priority < priority)
            .unwrap_or(self.queue.len())
    }

    /// Whether a request at queue position `pos` (not yet in the queue, or at `pos`
    /// already) may be granted now.
    pub(crate) fn grantable_at(
        &self,
        kind: LockKind,
        pos: usize,
        upgrade_of: Option<Owner>,
    ) -> bool {
        self.holders.compatible(kind, upgrade_of)
            && self.queue[..pos]
                .iter()
                .all(|w| w.kind.compatible_with(kind))
    }

    /// Whether a fresh request would be granted at once.
    #[cfg(test)]
    pub(crate) fn grantable(&self, kind: LockKind, priority: i32) -> bool {
        self.grantable_at(kind, self.position(priority, false), None)
    }

    /// Whether granting `kind` at `pos` would overtake a queued request it conflicts with
    /// (adding a wait-for edge to that request's owner).
    pub(crate) fn overtakes_conflicting(&self, kind: LockKind, pos: usize) -> bool {
        self.queue[pos..]
            .iter()
            .any(|w| !w.kind.compatible_with(kind))
    }

    /// Grants every queued request the rule allows, in queue order, calling `granted` for
    /// each (the caller wakes it). Returns how many were granted.
    pub(crate) fn grant_waiting(&mut self, mut granted: impl FnMut(&Waiting)) -> usize {
        let mut count = 0;
        let mut i = 0;
        while i < self.queue.len() {
            let w = &self.queue[i];
            let upgrade_of = w.upgrade.then_some(w.owner);
            if self.grantable_at(w.kind, i, upgrade_of) {
                let w = self.queue.remove(i);
                if w.upgrade {
                    if let Some(h) = self.holders.get_mut(w.owner) {
                        h.kind = LockKind::Exclusive;
                    }
                } else {
                    self.holders.push(Holder {
                        owner: w.owner,
                        kind: w.kind,
                    });
                }
                w.waiter.granted.store(true, Ordering::Relaxed);
                granted(&w);
                count += 1;
            } else if w.kind == LockKind::Exclusive {
                // Nothing behind a refused Exclusive is compatible with it.
                break;
            } else {
                i += 1;
            }
        }
        count
    }

    /// Withdraws the owner's queued request; returns whether there was one.
    pub(crate) fn withdraw(&mut self, owner: Owner) -> bool {
        match self.queue.iter().position(|w| w.owner == owner) {
            Some(i) => {
                self.queue.remove(i);
                true
            }
            None => false,
        }
    }

    /// The owners that keep `owner`'s queued request waiting: holders it conflicts with
    /// and conflicting requests queued ahead of it (the "soft" edges of the wait-for
    /// graph).
    pub(crate) fn blockers(&self, owner: Owner) -> impl Iterator<Item = (LockKind, Owner)> + '_ {
        let found = self.queue.iter().position(|w| w.owner == owner);
        let (kind, ahead) = match found {
            Some(i) => (Some(self.queue[i].kind), &self.queue[..i]),
            None => (None, &self.queue[..0]),
        };
        let holders = self.holders.iter().filter_map(move |h| {
            let kind = kind?;
            (h.owner != owner && !h.kind.compatible_with(kind)).then_some((kind, h.owner))
        });
        let queued = ahead.iter().filter_map(move |w| {
            let kind = kind?;
            (w.owner != owner && !w.kind.compatible_with(kind)).then_some((kind, w.owner))
        });
        holders.chain(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LockKind::{Exclusive, Read, Write};
    use proptest::prelude::*;

    fn cases(default: u32) -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn enqueue(state: &mut KeyState, owner: Owner, kind: LockKind, priority: i32, upgrade: bool) {
        let pos = state.position(priority, upgrade);
        state.queue.insert(
            pos,
            Waiting {
                owner,
                kind,
                priority,
                upgrade,
                waiter: Arc::default(),
            },
        );
    }

    #[test]
    fn a_queued_exclusive_blocks_new_readers() {
        let (a, b) = (Owner::new(), Owner::new());
        let mut s = KeyState::held_by(a, Read);
        assert!(s.grantable(Read, 0));
        enqueue(&mut s, b, Exclusive, 0, false);
        assert!(!s.grantable(Read, 0));
        assert!(!s.grantable(Write, 0));
        // A higher priority overtakes it.
        assert!(s.grantable(Read, 1));
    }

    #[test]
    fn a_queued_write_lets_readers_pass() {
        let (a, b) = (Owner::new(), Owner::new());
        let mut s = KeyState::held_by(a, Write);
        enqueue(&mut s, b, Write, 0, false);
        assert!(s.grantable(Read, 0));
    }

    #[test]
    fn soft_edges_point_at_conflicting_requests_ahead() {
        let (a, b, c) = (Owner::new(), Owner::new(), Owner::new());
        let mut s = KeyState::held_by(a, Read);
        enqueue(&mut s, b, Exclusive, 0, false);
        enqueue(&mut s, c, Read, 0, false);
        let of_c: Vec<_> = s.blockers(c).collect();
        assert_eq!(of_c, vec![(Read, b)]);
        let of_b: Vec<_> = s.blockers(b).collect();
        assert_eq!(of_b, vec![(Exclusive, a)]);
    }

    #[test]
    fn a_grant_overtakes_only_the_conflicting_waiters_behind_it() {
        let (a, b, c) = (Owner::new(), Owner::new(), Owner::new());
        let mut s = KeyState::held_by(a, Write);
        enqueue(&mut s, b, Write, 0, false);
        // A Read behind the queued Write, or ahead of it: no conflict either way.
        assert!(!s.overtakes_conflicting(Read, s.position(0, false)));
        assert!(!s.overtakes_conflicting(Read, s.position(1, false)));
        // An Exclusive (or a Write) ahead of it conflicts.
        assert!(s.overtakes_conflicting(Exclusive, s.position(1, false)));
        assert!(s.overtakes_conflicting(Write, s.position(1, false)));
        // Only what is behind counts.
        enqueue(&mut s, c, Exclusive, 0, false);
        assert!(!s.overtakes_conflicting(Exclusive, s.queue.len()));
        assert!(s.overtakes_conflicting(Read, s.position(1, false)));
    }

    #[test]
    fn a_waiter_waits_for_conflicting_holders_and_requests_ahead_only() {
        let (a, b, c, d) = (Owner::new(), Owner::new(), Owner::new(), Owner::new());
        // Holders Read (a) and Write (b); queued: Exclusive (c), then Write (d).
        let mut s = KeyState::held_by(a, Read);
        s.holders.push(Holder {
            owner: b,
            kind: Write,
        });
        enqueue(&mut s, c, Exclusive, 0, false);
        enqueue(&mut s, d, Write, 0, false);
        // d conflicts with b's Write and c's Exclusive, not with a's Read.
        assert_eq!(
            s.blockers(d).collect::<Vec<_>>(),
            vec![(Write, b), (Write, c)]
        );
        assert_eq!(
            s.blockers(c).collect::<Vec<_>>(),
            vec![(Exclusive, a), (Exclusive, b)]
        );
        // A holder waits for nothing here, and neither does a stranger.
        assert_eq!(s.blockers(a).count(), 0);
        assert_eq!(s.blockers(Owner::new()).count(), 0);

        // A request queued ahead that does not conflict is no edge: e's Read queued
        // behind an Exclusive holder, then f's Write, which waits for the holder only.
        let (e, f) = (Owner::new(), Owner::new());
        let mut s = KeyState::held_by(a, Exclusive);
        enqueue(&mut s, e, Read, 0, false);
        enqueue(&mut s, f, Write, 0, false);
        assert_eq!(s.blockers(f).collect::<Vec<_>>(), vec![(Write, a)]);
        assert_eq!(s.blockers(e).collect::<Vec<_>>(), vec![(Read, a)]);
    }

    #[test]
    fn an_upgrade_waits_for_the_other_holders_not_for_its_own_hold() {
        let (a, b) = (Owner::new(), Owner::new());
        let mut s = KeyState::held_by(a, Write);
        s.holders.push(Holder {
            owner: b,
            kind: Read,
        });
        enqueue(&mut s, a, Exclusive, 0, true);
        assert_eq!(s.blockers(a).collect::<Vec<_>>(), vec![(Exclusive, b)]);
    }

    #[test]
    fn upgrade_goes_first_and_waits_only_for_other_holders() {
        let (a, b, c) = (Owner::new(), Owner::new(), Owner::new());
        let mut s = KeyState::held_by(a, Write);
        s.holders.push(Holder {
            owner: b,
            kind: Read,
        });
        enqueue(&mut s, c, Exclusive, 9, false);
        enqueue(&mut s, a, Exclusive, 0, true);
        assert!(s.queue[0].upgrade);
        assert_eq!(s.grant_waiting(|_| {}), 0);
        assert!(s.holders.remove(b));
        let mut order = vec![];
        s.grant_waiting(|w| order.push(w.owner));
        assert_eq!(order, vec![a]);
        assert_eq!(
            s.holders
                .iter()
                .map(|h| (h.owner, h.kind))
                .collect::<Vec<_>>(),
            vec![(a, Exclusive)]
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Request {
            owner: usize,
            kind: LockKind,
            priority: i32,
        },
        Upgrade {
            owner: usize,
        },
        Release {
            owner: usize,
        },
        Withdraw {
            owner: usize,
        },
        Downgrade {
            owner: usize,
            to: LockKind,
        },
    }

    fn kind() -> impl Strategy<Value = LockKind> {
        prop_oneof![Just(Read), Just(Write), Just(Exclusive)]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..5usize, kind(), 0..3i32).prop_map(|(owner, kind, priority)| Op::Request { owner, kind, priority }),
            1 => (0..5usize).prop_map(|owner| Op::Upgrade { owner }),
            3 => (0..5usize).prop_map(|owner| Op::Release { owner }),
            1 => (0..5usize).prop_map(|owner| Op::Withdraw { owner }),
            1 => (0..5usize, kind()).prop_map(|(owner, to)| Op::Downgrade { owner, to }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases(256)))]

        /// After every step, checked against the table itself: holders are pairwise
        /// compatible; the queue is in (upgrade, priority, arrival) order; and no queued
        /// request is left waiting that the rule would grant, in particular the head of
        /// the queue is always refused by some holder.
        #[test]
        fn key_state_keeps_the_table_and_never_strands_a_grantable_request(ops in prop::collection::vec(op(), 1..60)) {
            let owners: Vec<Owner> = (0..5).map(|_| Owner::new()).collect();
            let mut s = KeyState::default();
            let mut arrival = std::collections::HashMap::new();
            let mut clock = 0u64;
            for op in ops {
                match op {
                    Op::Request { owner, kind, priority } => {
                        let o = owners[owner];
                        if s.involvement(o).is_some() { continue; }
                        clock += 1;
                        arrival.insert(o, clock);
                        if s.grantable(kind, priority) {
                            s.holders.push(Holder { owner: o, kind });
                        } else {
                            enqueue(&mut s, o, kind, priority, false);
                        }
                    }
                    Op::Upgrade { owner } => {
                        let o = owners[owner];
                        let held = s.holders.iter().find(|h| h.owner == o).map(|h| h.kind);
                        if held != Some(Write) || s.queue.iter().any(|w| w.owner == o) { continue; }
                        if s.grantable_at(Exclusive, 0, Some(o)) {
                            if let Some(h) = s.holders.get_mut(o) { h.kind = Exclusive; }
                        } else {
                            clock += 1;
                            arrival.insert(o, clock);
                            enqueue(&mut s, o, Exclusive, 0, true);
                        }
                    }
                    Op::Release { owner } => {
                        let o = owners[owner];
                        if s.queue.iter().any(|w| w.owner == o && w.upgrade) { continue; }
                        if s.holders.remove(o) { s.grant_waiting(|_| {}); }
                    }
                    Op::Withdraw { owner } => {
                        if s.withdraw(owners[owner]) { s.grant_waiting(|_| {}); }
                    }
                    Op::Downgrade { owner, to } => {
                        let o = owners[owner];
                        if s.queue.iter().any(|w| w.owner == o && w.upgrade) { continue; }
                        if let Some(h) = s.holders.get_mut(o).filter(|h| to <= h.kind) {
                            h.kind = to;
                        }
                        s.grant_waiting(|_| {});
                    }
                }
                // Holders pairwise compatible.
                let holders: Vec<Holder> = s.holders.iter().copied().collect();
                for (i, a) in holders.iter().enumerate() {
                    for b in &holders[i + 1..] {
                        prop_assert!(a.kind.compatible_with(b.kind), "{:?} beside {:?}", a, b);
                        prop_assert_ne!(a.owner, b.owner);
                    }
                }
                // Queue order.
                for pair in s.queue.windows(2) {
                    let key = |w: &Waiting| (!w.upgrade, -w.priority, arrival[&w.owner]);
                    prop_assert!(key(&pair[0]) < key(&pair[1]));
                }
                // Nothing grantable is left waiting.
                for (i, w) in s.queue.iter().enumerate() {
                    prop_assert!(!s.grantable_at(w.kind, i, w.upgrade.then_some(w.owner)), "{:?} left waiting", w);
                }
                if let Some(head) = s.queue.first() {
                    let upgrade_of = head.upgrade.then_some(head.owner);
                    prop_assert!(s.holders.iter().any(|h| Some(h.owner) != upgrade_of && !h.kind.compatible_with(head.kind)));
                }
                prop_assert_eq!(s.is_idle(), holders.is_empty() && s.queue.is_empty());
            }
        }
    }
}
