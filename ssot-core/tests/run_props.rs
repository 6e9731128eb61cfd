//! Properties of the executor over random plans, checked from the recorded events.
//!
//! Deeper run: `PROPTEST_CASES=2000 cargo test -p ssot-core --test run_props`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::needless_range_loop
)]

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use ssot_core::run::{
    CancelToken, Event, EventKind, Executor, JobError, Plan, RetryPolicy, RunContext, TaskOptions,
    TaskOutcome,
};
use ssot_graph::DepGraph;

#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Succeeds,
    Fails,
    /// Fails this many attempts, then succeeds.
    FailsThenSucceeds(u32),
    /// Waits for its (tiny) deadline on every attempt.
    TimesOut,
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        4 => Just(Behaviour::Succeeds),
        1 => Just(Behaviour::Fails),
        2 => (1u32..4).prop_map(Behaviour::FailsThenSucceeds),
        1 => Just(Behaviour::TimesOut),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    /// `deps[i]` are indices below `i`: always a DAG.
    deps: Vec<Vec<usize>>,
    behaviour: Vec<Behaviour>,
    retries: Vec<u32>,
    group: Vec<Option<usize>>,
    limits: [usize; 2],
    workers: usize,
    /// Keep a run journal: successes are released by the syncer (group commit).
    journal: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..14).prop_flat_map(|n| {
        (
            (0..n)
                .map(|i| proptest::collection::vec(0..i.max(1), 0..3.min(i + 1)))
                .collect::<Vec<_>>(),
            proptest::collection::vec(behaviour(), n),
            proptest::collection::vec(0u32..3, n),
            proptest::collection::vec(proptest::option::of(0usize..2), n),
            [1usize..3, 1usize..3],
            1usize..5,
            proptest::bool::weighted(0.3),
        )
            .prop_map(
                move |(deps, behaviour, retries, group, limits, workers, journal)| Case {
                    deps: deps
                        .into_iter()
                        .enumerate()
                        .map(|(i, d)| {
                            let mut d: Vec<usize> = d.into_iter().filter(|&x| x < i).collect();
                            d.sort_unstable();
                            d.dedup();
                            d
                        })
                        .collect(),
                    behaviour,
                    retries,
                    group,
                    limits,
                    workers,
                    journal,
                },
            )
    })
}

fn can_succeed(b: Behaviour, retries: u32) -> bool {
    match b {
        Behaviour::Succeeds => true,
        Behaviour::Fails | Behaviour::TimesOut => false,
        Behaviour::FailsThenSucceeds(k) => k <= retries,
    }
}

proptest! {
    // 64 cases by default; `PROPTEST_CASES` for a deeper run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
    ))]

    #[test]
    fn the_executor_keeps_its_invariants(c in case()) {
        let n = c.deps.len();
        let graph = DepGraph::from_tasks((0..n).map(|i| (i, c.deps[i].clone()))).unwrap();
        let mut plan = Plan::new(graph);
        let groups = ["g0", "g1"];
        for i in 0..n {
            plan.set_options(i, TaskOptions {
                retry: Some(RetryPolicy::Fixed { retries: c.retries[i], delay: Duration::ZERO }),
                timeout: Some(Duration::from_millis(if matches!(c.behaviour[i], Behaviour::TimesOut) { 1 } else { 600_000 })),
                group: c.group[i].map(|g| groups[g].to_string()),
                    inputs: None,
            }).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let mut builder = Executor::builder()
            .workers(c.workers)
            .group("g0", c.limits[0])
            .group("g1", c.limits[1]);
        if c.journal {
            builder = builder.journal_dir(dir.path());
        }
        let executor = builder.build();
        // Concurrency as the jobs themselves see it.
        let running = AtomicUsize::new(0);
        let in_group = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let max_running = AtomicUsize::new(0);
        let max_in_group = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let (tx, rx) = mpsc::channel::<Event<usize>>();
        let record = executor.run_with(&plan, &|&i: &usize, ctx: &RunContext| {
            let r = running.fetch_add(1, Ordering::SeqCst) + 1;
            max_running.fetch_max(r, Ordering::SeqCst);
            if let Some(g) = c.group[i] {
                let r = in_group[g].fetch_add(1, Ordering::SeqCst) + 1;
                max_in_group[g].fetch_max(r, Ordering::SeqCst);
            }
            let result = match c.behaviour[i] {
                Behaviour::Succeeds => Ok(()),
                Behaviour::Fails => Err(JobError::new("fails")),
                Behaviour::FailsThenSucceeds(k) if ctx.attempt() <= k => Err(JobError::new("not yet")),
                Behaviour::FailsThenSucceeds(_) => Ok(()),
                Behaviour::TimesOut => {
                    ctx.wait(Duration::from_secs(600));
                    Ok(())
                }
            };
            if let Some(g) = c.group[i] {
                in_group[g].fetch_sub(1, Ordering::SeqCst);
            }
            running.fetch_sub(1, Ordering::SeqCst);
            result
        }, &CancelToken::new(), Some(&tx)).unwrap();
        drop(tx);
        let events: Vec<Event<usize>> = rx.iter().collect();

        // Replay the events.
        let mut succeeded = vec![false; n];
        let mut attempts = vec![0u32; n];
        let mut terminal = vec![0u32; n];
        let mut live = 0usize;
        let mut live_group = [0usize; 2];
        let mut failed = BTreeSet::new();
        let mut skipped = BTreeSet::new();
        // Nodes waiting for a worker, by rank (`Plan::new` ranks by id): queued, or
        // retrying (their zero delay has passed by the next start).
        let mut ready = BTreeSet::new();
        for e in &events {
            let i = e.node;
            match &e.kind {
                EventKind::Started { attempt } => {
                    for &d in &c.deps[i] {
                        prop_assert!(succeeded[d], "{i} started before dependency {d} succeeded");
                    }
                    prop_assert!(ready.remove(&i), "{i} started without being queued");
                    // The queue order among ready nodes: the best-ranked one whose
                    // group has room starts. (With a journal the events overlap the
                    // jobs, so the groups' room is not readable from them.)
                    if !c.journal {
                        let room = |r: &usize| c.group[*r].is_none_or(|g| live_group[g] < c.limits[g]);
                        let best = ready.iter().copied().filter(room).min();
                        prop_assert!(best.is_none_or(|b| i < b), "{i} started before the better-ranked ready {best:?}");
                    }
                    attempts[i] += 1;
                    prop_assert_eq!(*attempt, attempts[i]);
                    live += 1;
                    // With a journal a success is released after its worker is free
                    // (group commit), so the events overlap more than the jobs did;
                    // the jobs' own counters below still hold.
                    if !c.journal {
                        prop_assert!(live <= c.workers);
                        prop_assert_eq!(e.running, live);
                    }
                    if let Some(g) = c.group[i] {
                        live_group[g] += 1;
                        prop_assert!(c.journal || live_group[g] <= c.limits[g]);
                    }
                }
                EventKind::Succeeded { .. } | EventKind::Failed { .. } | EventKind::Retrying { .. } => {
                    live -= 1;
                    if let Some(g) = c.group[i] {
                        live_group[g] -= 1;
                    }
                    match &e.kind {
                        EventKind::Succeeded { .. } => { succeeded[i] = true; terminal[i] += 1; }
                        EventKind::Failed { .. } => { failed.insert(i); terminal[i] += 1; }
                        _ => { ready.insert(i); }
                    }
                }
                EventKind::Skipped { because } => {
                    prop_assert!(failed.contains(because));
                    skipped.insert(i);
                    terminal[i] += 1;
                }
                EventKind::Cancelled => terminal[i] += 1,
                EventKind::Queued => { prop_assert!(ready.insert(i), "{i} queued twice"); }
                _ => prop_assert!(false, "unexpected event {:?}", e),
            }
        }
        prop_assert_eq!(live, 0);
        for i in 0..n {
            prop_assert!(attempts[i] <= 1 + c.retries[i], "{} ran {} times", i, attempts[i]);
            prop_assert_eq!(terminal[i], 1, "node {} must end exactly once", i);
        }
        prop_assert!(max_running.load(Ordering::SeqCst) <= c.workers);
        for g in 0..2 {
            prop_assert!(max_in_group[g].load(Ordering::SeqCst) <= c.limits[g]);
        }

        // The expected outcome: a node fails when it cannot succeed and all its
        // dependencies succeeded; it is skipped when some dependency did not succeed.
        let mut expect_ok = vec![false; n];
        let mut expect_failed = BTreeSet::new();
        let mut expect_skipped = BTreeSet::new();
        for i in 0..n {
            if c.deps[i].iter().all(|&d| expect_ok[d]) {
                if can_succeed(c.behaviour[i], c.retries[i]) {
                    expect_ok[i] = true;
                } else {
                    expect_failed.insert(i);
                }
            } else {
                expect_skipped.insert(i);
            }
        }
        prop_assert_eq!(&failed, &expect_failed);
        prop_assert_eq!(&skipped, &expect_skipped);
        // Exactly the transitive dependents of failed nodes are skipped.
        let mut reach: HashMap<usize, BTreeSet<usize>> = HashMap::new();
        for &f in &failed {
            let deps = plan.graph().dependents(&f).unwrap();
            reach.insert(f, deps.into_iter().copied().collect());
        }
        let union: BTreeSet<usize> = reach.values().flatten().copied().collect();
        prop_assert_eq!(&skipped, &union);
        for i in 0..n {
            let want = if expect_ok[i] { TaskOutcome::Succeeded } else if failed.contains(&i) { TaskOutcome::Failed } else { record.tasks[&i].outcome.clone() };
            prop_assert_eq!(&record.tasks[&i].outcome, &want);
        }
    }
}
