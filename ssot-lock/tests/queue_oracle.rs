//! An independent oracle for queueing: random sequences of blocking requests, releases,
//! timeouts, upgrades and downgrades over a few owners and keys, checked after every
//! step against a reference model of the queue that shares no code with the manager.
//!
//! The model is written from the documented rules only: its own compatibility table,
//! a queue kept in arrival order and sorted on demand (upgrades first, then priority,
//! then arrival), grants found by rescanning from the head until nothing more fits,
//! and a wait-for graph built from scratch (a waiter waits for the holders it conflicts
//! with and for the conflicting requests queued ahead of it: the soft edges) in which a
//! request that would close a cycle through its owner is refused. After every step the
//! manager's holders and queues must equal the model's, every refusal must be the
//! model's, and every `Deadlock` must name a cycle of edges the model has.
//!
//! Determinism: each blocking request runs on its own thread (owners are sessions, so
//! one owner may wait on several keys), and the test thread does one step at a time
//! and waits until the step has settled, through the manager's public signals only: a
//! request either answers (granted or refused) or is counted in `stats().contended`,
//! which happens after its deadlock search and before it sleeps; a release returns
//! after its grants are recorded, and the granted threads then answer. Nothing else
//! runs meanwhile, so no outcome depends on timing. Timeouts are zero-length requests
//! made from the test thread: they queue, are checked for deadlock, time out and are
//! withdrawn while every other thread sleeps. (A timeout that fires while other steps
//! happen cannot be placed deterministically; `semantics.rs` tests that case once.)
//!
//! Deeper run: `PROPTEST_CASES=2000 cargo test -p ssot-lock --test queue_oracle`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::Duration;

use proptest::prelude::*;
use ssot_lock::{Error, LockKind, LockManager, Owner, QueuedRequest};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const OWNERS: usize = 4;
const KEYS: u64 = 2;

// ---------------------------------------------------------------------------------
// The reference model. It uses nothing of the crate but to translate its kinds.

/// The model's own kinds, so that its table is its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum M {
    R,
    W,
    X,
}

/// Shared with shared, shared with update; nothing else.
fn fits(a: M, b: M) -> bool {
    matches!((a, b), (M::R, M::R) | (M::R, M::W) | (M::W, M::R))
}

fn to_lock(m: M) -> LockKind {
    match m {
        M::R => LockKind::Read,
        M::W => LockKind::Write,
        M::X => LockKind::Exclusive,
    }
}

#[derive(Debug, Clone)]
struct Req {
    owner: usize,
    kind: M,
    priority: i32,
    upgrade: bool,
    seq: u64,
}

#[derive(Debug, Clone, Default)]
struct KeyModel {
    held: Vec<(usize, M)>,
    /// In arrival order; `ordered` sorts it.
    queue: Vec<Req>,
}

impl KeyModel {
    fn ordered(&self) -> Vec<Req> {
        let mut q = self.queue.clone();
        q.sort_by_key(|r| (!r.upgrade, std::cmp::Reverse(r.priority), r.seq));
        q
    }

    /// Whether `r` fits every holder (but its own, for an upgrade) and everything in
    /// `ahead`.
    fn admits(&self, r: &Req, ahead: &[Req]) -> bool {
        self.held
            .iter()
            .all(|&(o, h)| (r.upgrade && o == r.owner) || fits(h, r.kind))
            && ahead.iter().all(|a| fits(a.kind, r.kind))
    }

    fn involves(&self, owner: usize) -> bool {
        self.held.iter().any(|&(o, _)| o == owner) || self.queue.iter().any(|r| r.owner == owner)
    }
}

/// One wait-for edge: `from` waits with a `kind` request on `key` for `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ModelEdge {
    from: usize,
    to: usize,
    key: u64,
    kind: M,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Granted,
    Queued,
    AlreadyHeld,
    Deadlock,
    Timeout,
}

#[derive(Debug, Clone, Default)]
struct Model {
    keys: Vec<KeyModel>,
    seq: u64,
}

impl Model {
    fn new() -> Model {
        Model {
            keys: vec![KeyModel::default(); KEYS as usize],
            seq: 0,
        }
    }

    fn key(&mut self, key: u64) -> &mut KeyModel {
        &mut self.keys[key as usize]
    }

    fn held(&self, owner: usize, key: u64) -> Option<M> {
        self.keys[key as usize]
            .held
            .iter()
            .find(|&&(o, _)| o == owner)
            .map(|&(_, m)| m)
    }

    fn edges(&self) -> Vec<ModelEdge> {
        let mut edges = vec![];
        for (k, km) in self.keys.iter().enumerate() {
            let ordered = km.ordered();
            for (i, r) in ordered.iter().enumerate() {
                for &(h, hk) in &km.held {
                    if h != r.owner && !fits(hk, r.kind) {
                        edges.push(ModelEdge {
                            from: r.owner,
                            to: h,
                            key: k as u64,
                            kind: r.kind,
                        });
                    }
                }
                for a in &ordered[..i] {
                    if a.owner != r.owner && !fits(a.kind, r.kind) {
                        edges.push(ModelEdge {
                            from: r.owner,
                            to: a.owner,
                            key: k as u64,
                            kind: r.kind,
                        });
                    }
                }
            }
        }
        edges
    }

    /// Whether some path of wait-for edges leads from `owner` back to it.
    fn on_a_cycle(&self, owner: usize) -> bool {
        let edges = self.edges();
        let mut seen = [false; OWNERS];
        let mut stack = vec![owner];
        while let Some(at) = stack.pop() {
            for e in edges.iter().filter(|e| e.from == at) {
                if e.to == owner {
                    return true;
                }
                if !seen[e.to] {
                    seen[e.to] = true;
                    stack.push(e.to);
                }
            }
        }
        false
    }

    /// Grants from the head of `key`'s queue until nothing more fits; returns who.
    fn settle(&mut self, key: u64) -> Vec<usize> {
        let mut granted = vec![];
        loop {
            let km = &self.keys[key as usize];
            let ordered = km.ordered();
            let Some(i) = (0..ordered.len()).find(|&i| km.admits(&ordered[i], &ordered[..i]))
            else {
                return granted;
            };
            let r = ordered[i].clone();
            let km = self.key(key);
            km.queue.retain(|q| q.seq != r.seq);
            if r.upgrade {
                for h in &mut km.held {
                    if h.0 == r.owner {
                        h.1 = M::X;
                    }
                }
            } else {
                km.held.push((r.owner, r.kind));
            }
            granted.push(r.owner);
        }
    }

    /// A request (or upgrade) that waits forever (`timed == false`) or not at all.
    /// Returns the outcome and, for a deadlock, the edges at the moment it was refused.
    fn request(
        &mut self,
        owner: usize,
        key: u64,
        kind: M,
        priority: i32,
        upgrade: bool,
        timed: bool,
    ) -> (Outcome, Vec<ModelEdge>) {
        if !upgrade && self.keys[key as usize].involves(owner) {
            return (Outcome::AlreadyHeld, vec![]);
        }
        self.seq += 1;
        let r = Req {
            owner,
            kind,
            priority: if upgrade { i32::MAX } else { priority },
            upgrade,
            seq: self.seq,
        };
        let km = self.key(key);
        km.queue.push(r.clone());
        let ordered = km.ordered();
        let i = ordered.iter().position(|q| q.seq == r.seq).unwrap();
        if km.admits(&r, &ordered[..i]) {
            // Granted now; if it overtakes a conflicting waiter, that waiter now waits
            // for `owner`, which must not close a cycle.
            let overtakes = ordered[i + 1..].iter().any(|q| !fits(q.kind, kind));
            km.queue.retain(|q| q.seq != r.seq);
            if upgrade {
                for h in &mut km.held {
                    if h.0 == owner {
                        h.1 = M::X;
                    }
                }
            } else {
                km.held.push((owner, kind));
            }
            if overtakes && self.on_a_cycle(owner) {
                let edges = self.edges();
                let km = self.key(key);
                km.held.retain(|&(o, _)| o != owner);
                return (Outcome::Deadlock, edges);
            }
            return (Outcome::Granted, vec![]);
        }
        if self.on_a_cycle(owner) {
            let edges = self.edges();
            self.key(key).queue.retain(|q| q.seq != r.seq);
            return (Outcome::Deadlock, edges);
        }
        if timed {
            self.key(key).queue.retain(|q| q.seq != r.seq);
            return (Outcome::Timeout, vec![]);
        }
        (Outcome::Queued, vec![])
    }
}

// ---------------------------------------------------------------------------------
// Driving the manager.

#[derive(Debug, Clone)]
enum Op {
    Request {
        owner: usize,
        key: u64,
        kind: M,
        priority: i32,
    },
    Timed {
        owner: usize,
        key: u64,
        kind: M,
        priority: i32,
    },
    Release {
        owner: usize,
        key: u64,
    },
    Upgrade {
        owner: usize,
        key: u64,
    },
    UpgradeTimed {
        owner: usize,
        key: u64,
    },
    Downgrade {
        owner: usize,
        key: u64,
        to: M,
    },
}

fn m() -> impl Strategy<Value = M> {
    prop_oneof![Just(M::R), Just(M::W), Just(M::X)]
}

fn op() -> impl Strategy<Value = Op> {
    let o = 0..OWNERS;
    let k = 0..KEYS;
    prop_oneof![
        6 => (o.clone(), k.clone(), m(), 0..3i32).prop_map(|(owner, key, kind, priority)| Op::Request { owner, key, kind, priority }),
        2 => (o.clone(), k.clone(), m(), 0..3i32).prop_map(|(owner, key, kind, priority)| Op::Timed { owner, key, kind, priority }),
        4 => (o.clone(), k.clone()).prop_map(|(owner, key)| Op::Release { owner, key }),
        2 => (o.clone(), k.clone()).prop_map(|(owner, key)| Op::Upgrade { owner, key }),
        1 => (o.clone(), k.clone()).prop_map(|(owner, key)| Op::UpgradeTimed { owner, key }),
        1 => (o, k, m()).prop_map(|(owner, key, to)| Op::Downgrade { owner, key, to }),
    ]
}

enum Cmd {
    Release,
    Upgrade,
    UpgradeTimed,
    Downgrade(LockKind),
}

/// What a request's thread reports: its outcome, and the error if refused.
type Report = (Outcome, Option<Error>);

fn report<T>(result: ssot_lock::Result<T>) -> Report {
    match result {
        Ok(_) => (Outcome::Granted, None),
        Err(e) => {
            let outcome = match &e {
                Error::AlreadyHeld { .. } => Outcome::AlreadyHeld,
                Error::Deadlock { .. } => Outcome::Deadlock,
                Error::Timeout { .. } => Outcome::Timeout,
                other => panic!("unexpected error {other}"),
            };
            (outcome, Some(e))
        }
    }
}

/// The thread of one granted or waiting request.
struct Slot {
    cmds: Sender<Cmd>,
    reports: Receiver<Report>,
    /// Waiting for a grant (of the request or of an upgrade): takes no command.
    busy: bool,
}

fn check_deadlock(
    err: Option<&Error>,
    victim: Owner,
    owners: &[Owner],
    edges: &[ModelEdge],
) -> Result<(), TestCaseError> {
    let Some(Error::Deadlock { victim: v, cycle }) = err else {
        return Err(TestCaseError::fail(format!(
            "expected Deadlock, got {err:?}"
        )));
    };
    prop_assert_eq!(*v, victim);
    prop_assert!(!cycle.is_empty());
    prop_assert_eq!(cycle[0].owner, victim);
    prop_assert_eq!(cycle[cycle.len() - 1].blocked_by, victim);
    for pair in cycle.windows(2) {
        prop_assert_eq!(pair[0].blocked_by, pair[1].owner);
    }
    let index = |o: Owner| owners.iter().position(|&x| x == o).unwrap();
    for step in cycle {
        let edge = edges.iter().find(|e| {
            e.from == index(step.owner)
                && e.to == index(step.blocked_by)
                && to_lock(e.kind) == step.wants
                && step.resource == format!("key {}", e.key)
        });
        prop_assert!(
            edge.is_some(),
            "{:?} is no edge of the model: {:?}",
            step,
            edges
        );
    }
    Ok(())
}

/// Waits until the request or upgrade just started on `slot` has settled: it answered,
/// or it was counted as contended (queued after its deadlock search).
fn settle(locks: &LockManager<u64>, slot: &Slot, contended_before: u64) -> Option<Report> {
    let mut got = None;
    support::until("a request answers or queues", || {
        match slot.reports.try_recv() {
            Ok(r) => {
                got = Some(r);
                true
            }
            Err(TryRecvError::Empty) => locks.stats().contended > contended_before,
            Err(TryRecvError::Disconnected) => panic!("a request thread died"),
        }
    });
    got
}

struct Harness<'s, 'm> {
    locks: &'m LockManager<u64>,
    scope: &'s std::thread::Scope<'s, 'm>,
    owners: Vec<Owner>,
    slots: HashMap<(usize, u64), Slot>,
    model: Model,
    deadlocks: u64,
    timeouts: u64,
}

impl<'s, 'm> Harness<'s, 'm> {
    fn spawn(&mut self, owner: usize, key: u64, kind: M, priority: i32) -> Slot {
        let (cmds, cmd_rx) = channel::<Cmd>();
        let (report_tx, reports) = channel::<Report>();
        let (locks, o) = (self.locks, self.owners[owner]);
        self.scope.spawn(move || {
            let acquired = locks
                .request(&key, to_lock(kind))
                .owner(o)
                .priority(priority)
                .acquire();
            let mut guard = match acquired {
                Ok(g) => {
                    report_tx.send((Outcome::Granted, None)).unwrap();
                    g
                }
                Err(e) => {
                    report_tx.send(report::<()>(Err(e))).unwrap();
                    return;
                }
            };
            for cmd in cmd_rx {
                let r = match cmd {
                    Cmd::Release => {
                        drop(guard);
                        report_tx.send((Outcome::Granted, None)).unwrap();
                        return;
                    }
                    Cmd::Upgrade => report(guard.upgrade()),
                    Cmd::UpgradeTimed => report(guard.upgrade_timeout(Duration::ZERO)),
                    Cmd::Downgrade(to) => report(guard.downgrade(to)),
                };
                report_tx.send(r).unwrap();
            }
        });
        Slot {
            cmds,
            reports,
            busy: true,
        }
    }

    /// After the model granted `granted` on `key`, each of their threads answers.
    fn receive_grants(&mut self, key: u64, granted: &[usize]) -> Result<(), TestCaseError> {
        for &o in granted {
            let slot = self.slots.get_mut(&(o, key)).unwrap();
            prop_assert!(slot.busy);
            let (outcome, err) = slot.reports.recv_timeout(support::LIMIT).unwrap();
            prop_assert_eq!(outcome, Outcome::Granted, "{:?}", err);
            slot.busy = false;
        }
        Ok(())
    }

    fn step(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Request {
                owner,
                key,
                kind,
                priority,
            } => {
                if self.slots.contains_key(&(owner, key)) {
                    // The model must say AlreadyHeld; the manager is asked from a new thread.
                    let mut probe = self.model.clone();
                    prop_assert_eq!(
                        probe.request(owner, key, kind, priority, false, false).0,
                        Outcome::AlreadyHeld
                    );
                    let slot = self.spawn(owner, key, kind, priority);
                    let (outcome, _) = slot.reports.recv_timeout(support::LIMIT).unwrap();
                    prop_assert_eq!(outcome, Outcome::AlreadyHeld);
                    return Ok(());
                }
                let before = self.locks.stats().contended;
                let (expected, edges) =
                    self.model.request(owner, key, kind, priority, false, false);
                let mut slot = self.spawn(owner, key, kind, priority);
                let got = settle(self.locks, &slot, before);
                match expected {
                    Outcome::Queued => {
                        prop_assert!(got.is_none(), "expected to queue, got {:?}", got)
                    }
                    Outcome::Granted => {
                        prop_assert_eq!(got.map(|r| r.0), Some(Outcome::Granted));
                        slot.busy = false;
                    }
                    Outcome::Deadlock => {
                        let got =
                            got.ok_or_else(|| TestCaseError::fail("expected Deadlock, it queued"))?;
                        check_deadlock(got.1.as_ref(), self.owners[owner], &self.owners, &edges)?;
                        self.deadlocks += 1;
                        return Ok(());
                    }
                    other => prop_assert!(false, "model said {:?} for a blocking request", other),
                }
                self.slots.insert((owner, key), slot);
            }
            Op::Timed {
                owner,
                key,
                kind,
                priority,
            } => {
                let mut probe = self.model.clone();
                let (expected, edges) = probe.request(owner, key, kind, priority, false, true);
                if expected == Outcome::Granted {
                    return Ok(()); // the test thread would hold the guard: skipped
                }
                self.model = probe;
                let result = self
                    .locks
                    .request(&key, to_lock(kind))
                    .owner(self.owners[owner])
                    .priority(priority)
                    .timeout(Duration::ZERO)
                    .acquire()
                    .map(drop);
                let (outcome, err) = report(result);
                prop_assert_eq!(&outcome, &expected, "{:?}", err);
                match outcome {
                    Outcome::Deadlock => {
                        check_deadlock(err.as_ref(), self.owners[owner], &self.owners, &edges)?;
                        self.deadlocks += 1;
                    }
                    Outcome::Timeout => self.timeouts += 1,
                    _ => {}
                }
                let granted = self.model.settle(key);
                self.receive_grants(key, &granted)?;
            }
            Op::Release { owner, key } => {
                let Some(slot) = self.slots.get(&(owner, key)) else {
                    return Ok(());
                };
                if slot.busy {
                    return Ok(());
                }
                slot.cmds.send(Cmd::Release).unwrap();
                slot.reports.recv_timeout(support::LIMIT).unwrap();
                self.slots.remove(&(owner, key));
                self.model.key(key).held.retain(|&(o, _)| o != owner);
                let granted = self.model.settle(key);
                self.receive_grants(key, &granted)?;
            }
            Op::Upgrade { owner, key } | Op::UpgradeTimed { owner, key } => {
                let timed = matches!(op, Op::UpgradeTimed { .. });
                let Some(slot) = self.slots.get(&(owner, key)) else {
                    return Ok(());
                };
                if slot.busy || self.model.held(owner, key) != Some(M::W) {
                    return Ok(());
                }
                let before = self.locks.stats().contended;
                let (expected, edges) = self.model.request(owner, key, M::X, 0, true, timed);
                slot.cmds
                    .send(if timed {
                        Cmd::UpgradeTimed
                    } else {
                        Cmd::Upgrade
                    })
                    .unwrap();
                let got = if timed {
                    Some(slot.reports.recv_timeout(support::LIMIT).unwrap())
                } else {
                    settle(self.locks, slot, before)
                };
                match expected {
                    Outcome::Queued => {
                        prop_assert!(
                            got.is_none(),
                            "expected the upgrade to queue, got {:?}",
                            got
                        );
                        self.slots.get_mut(&(owner, key)).unwrap().busy = true;
                    }
                    Outcome::Granted => prop_assert_eq!(got.map(|r| r.0), Some(Outcome::Granted)),
                    Outcome::Deadlock => {
                        let got = got.ok_or_else(|| {
                            TestCaseError::fail("expected Deadlock, the upgrade queued")
                        })?;
                        check_deadlock(got.1.as_ref(), self.owners[owner], &self.owners, &edges)?;
                        self.deadlocks += 1;
                    }
                    Outcome::Timeout => {
                        let got = got.unwrap();
                        prop_assert_eq!(got.0, Outcome::Timeout, "{:?}", got.1);
                        self.timeouts += 1;
                        let granted = self.model.settle(key);
                        self.receive_grants(key, &granted)?;
                    }
                    Outcome::AlreadyHeld => prop_assert!(false, "an upgrade is never AlreadyHeld"),
                }
            }
            Op::Downgrade { owner, key, to } => {
                let Some(slot) = self.slots.get(&(owner, key)) else {
                    return Ok(());
                };
                let Some(held) = self.model.held(owner, key) else {
                    return Ok(());
                };
                if slot.busy || to > held {
                    return Ok(());
                }
                slot.cmds.send(Cmd::Downgrade(to_lock(to))).unwrap();
                let (outcome, err) = slot.reports.recv_timeout(support::LIMIT).unwrap();
                prop_assert_eq!(outcome, Outcome::Granted, "{:?}", err);
                for h in &mut self.model.key(key).held {
                    if h.0 == owner {
                        h.1 = to;
                    }
                }
                let granted = self.model.settle(key);
                self.receive_grants(key, &granted)?;
            }
        }
        Ok(())
    }

    /// The manager's holders and queues are the model's.
    fn compare(&self) -> Result<(), TestCaseError> {
        for key in 0..KEYS {
            let km = &self.model.keys[key as usize];
            let mut actual = self.locks.holders(&key);
            actual.sort();
            let mut expected: Vec<(Owner, LockKind)> = km
                .held
                .iter()
                .map(|&(o, m)| (self.owners[o], to_lock(m)))
                .collect();
            expected.sort();
            prop_assert_eq!(&actual, &expected, "holders of key {}", key);
            let waiters: Vec<(Owner, LockKind, i32, bool)> = self
                .locks
                .waiters(&key)
                .iter()
                .map(|w: &QueuedRequest| (w.owner, w.kind, w.priority, w.upgrade))
                .collect();
            let expected: Vec<(Owner, LockKind, i32, bool)> = km
                .ordered()
                .iter()
                .map(|r| (self.owners[r.owner], to_lock(r.kind), r.priority, r.upgrade))
                .collect();
            prop_assert_eq!(&waiters, &expected, "queue of key {}", key);
        }
        Ok(())
    }

    /// Releases everything, in an order the model says makes progress.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        while !self.slots.is_empty() {
            let idle: Vec<(usize, u64)> = self
                .slots
                .iter()
                .filter(|(_, s)| !s.busy)
                .map(|(&k, _)| k)
                .collect();
            prop_assert!(
                !idle.is_empty(),
                "every remaining request waits: a missed deadlock"
            );
            for (owner, key) in idle {
                if self.slots.get(&(owner, key)).is_some_and(|s| !s.busy) {
                    self.step(Op::Release { owner, key })?;
                    self.compare()?;
                }
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(64)))]

    #[test]
    fn the_manager_queues_grants_and_refuses_as_the_reference_model_does(ops in prop::collection::vec(op(), 1..40)) {
        let _watchdog = support::watchdog();
        let locks = LockManager::<u64>::builder().shards(2).build();
        let outcome = std::thread::scope(|scope| {
            let mut h = Harness {
                locks: &locks,
                scope,
                owners: (0..OWNERS).map(|_| Owner::new()).collect(),
                slots: HashMap::new(),
                model: Model::new(),
                deadlocks: 0,
                timeouts: 0,
            };
            let run = (|| {
                for op in ops {
                    h.step(op)?;
                    h.compare()?;
                }
                h.drain()
            })();
            // On failure, close every thread's commands: holders release, and waiters,
            // once granted, release too, so that the scope can end (a watchdog catches
            // a manager that never grants).
            h.slots.clear();
            run.map(|()| (h.deadlocks, h.timeouts))
        })?;
        let stats = locks.stats();
        prop_assert_eq!(stats.deadlocks, outcome.0);
        prop_assert_eq!(stats.timeouts, outcome.1);
        prop_assert_eq!(locks.active_keys(), 0);
    }
}
