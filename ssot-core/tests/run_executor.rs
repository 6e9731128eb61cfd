//! The executor's scheduling, failure, retry, timeout and cancellation behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use ssot_core::run::{
    AttemptOutcome, CancelToken, Event, EventKind, Executor, JobError, Plan, RetryPolicy,
    RunContext, TaskOptions, TaskOutcome,
};
use ssot_core::{Priority, Task, TaskId};
use ssot_graph::DepGraph;

fn graph(edges: &[(&'static str, &[&'static str])]) -> DepGraph<&'static str> {
    DepGraph::from_tasks(edges.iter().map(|(id, deps)| (*id, deps.to_vec()))).unwrap()
}

#[test]
fn one_worker_follows_the_task_queue_order_among_ready_tasks() {
    let mk = |id: &str, p: Priority, deps: &[&str]| {
        let mut t = Task::new(TaskId::new(id).unwrap(), id);
        t.priority = p;
        t.dependencies = deps.iter().map(|d| TaskId::new(*d).unwrap()).collect();
        t
    };
    let tasks = vec![
        mk("docs", Priority::Low, &[]),
        mk("fix", Priority::Critical, &["repro"]),
        mk("repro", Priority::High, &[]),
        mk("alpha", Priority::Low, &[]),
    ];
    let order = Mutex::new(Vec::new());
    let executor = Executor::builder().workers(1).build();
    let record = executor
        .run_tasks(
            &tasks,
            |_| TaskOptions::default(),
            &|t: &Task, _: &RunContext| {
                order.lock().unwrap().push(t.id.to_string());
                Ok(())
            },
            &CancelToken::new(),
            None,
        )
        .unwrap();
    assert!(record.succeeded());
    assert_eq!(
        order.into_inner().unwrap(),
        ["repro", "fix", "alpha", "docs"]
    );
}

#[test]
fn a_failure_skips_exactly_its_transitive_dependents_naming_it() {
    let g = graph(&[
        ("a", &[]),
        ("b", &["a"]),
        ("c", &["b"]),
        ("d", &[]),
        ("e", &["d", "c"]),
    ]);
    let record = Executor::builder()
        .workers(2)
        .build()
        .run(&Plan::new(g), &|id: &&str, _: &RunContext| {
            if *id == "b" {
                Err(JobError::new("boom"))
            } else {
                Ok(())
            }
        })
        .unwrap();
    let t = &record.tasks;
    assert_eq!(t["a"].outcome, TaskOutcome::Succeeded);
    assert_eq!(t["d"].outcome, TaskOutcome::Succeeded);
    assert_eq!(t["b"].outcome, TaskOutcome::Failed);
    assert_eq!(t["b"].attempts[0].error.as_deref(), Some("boom"));
    assert_eq!(t["c"].outcome, TaskOutcome::Skipped { because: "b" });
    assert_eq!(t["e"].outcome, TaskOutcome::Skipped { because: "b" });
    assert!(t["e"].attempts.is_empty());
    assert!(!record.succeeded());
}

#[test]
fn fail_fast_starts_nothing_after_a_failure() {
    let g = graph(&[("a", &[]), ("b", &[]), ("c", &[])]);
    let plan = Plan::new(g).with_order(["a", "b", "c"]).unwrap();
    let record = Executor::builder()
        .workers(1)
        .fail_fast()
        .build()
        .run(&plan, &|id: &&str, _: &RunContext| {
            if *id == "a" {
                Err(JobError::new("boom"))
            } else {
                Ok(())
            }
        })
        .unwrap();
    assert_eq!(record.tasks["a"].outcome, TaskOutcome::Failed);
    assert_eq!(record.tasks["b"].outcome, TaskOutcome::Cancelled);
    assert_eq!(record.tasks["c"].outcome, TaskOutcome::Cancelled);
    assert!(record.tasks["b"].attempts.is_empty());
}

#[test]
fn a_flaky_job_is_retried_and_every_attempt_recorded() {
    let g = graph(&[("flaky", &[]), ("after", &["flaky"])]);
    let record = Executor::builder()
        .workers(2)
        .retry(RetryPolicy::Linear {
            retries: 3,
            step: Duration::from_millis(1),
        })
        .build()
        .run(&Plan::new(g), &|id: &&str, ctx: &RunContext| {
            ctx.log(&format!("try {}", ctx.attempt()));
            if *id == "flaky" && ctx.attempt() < 3 {
                Err(JobError::new("not yet"))
            } else {
                Ok(())
            }
        })
        .unwrap();
    let flaky = &record.tasks["flaky"];
    assert_eq!(flaky.outcome, TaskOutcome::Succeeded);
    let outcomes: Vec<_> = flaky.attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AttemptOutcome::Failed,
            AttemptOutcome::Failed,
            AttemptOutcome::Succeeded
        ]
    );
    assert_eq!(flaky.attempts[2].output_tail, "try 3");
    assert_eq!(record.tasks["after"].outcome, TaskOutcome::Succeeded);
}

#[test]
fn a_timeout_is_a_failure_that_is_retried() {
    let g = graph(&[("slow", &[])]);
    let mut plan = Plan::new(g);
    plan.set_options(
        "slow",
        TaskOptions {
            retry: Some(RetryPolicy::Fixed {
                retries: 2,
                delay: Duration::ZERO,
            }),
            timeout: Some(Duration::from_millis(2)),
            group: None,
            inputs: None,
        },
    )
    .unwrap();
    let record = Executor::builder()
        .build()
        .run(&plan, &|_: &&str, ctx: &RunContext| {
            // Waits until its deadline: a deterministic timeout.
            ctx.wait(Duration::from_secs(600));
            Ok(())
        })
        .unwrap();
    let slow = &record.tasks["slow"];
    assert_eq!(slow.outcome, TaskOutcome::Failed);
    assert_eq!(slow.attempts.len(), 3);
    assert!(
        slow.attempts
            .iter()
            .all(|a| a.outcome == AttemptOutcome::TimedOut)
    );
}

#[test]
fn a_freed_worker_takes_ready_work_while_a_slow_task_runs() {
    // `slow` finishes only after `c`, at the end of a chain, has run: with a wave
    // barrier the chain could not advance while `slow` runs and `slow` would time out.
    let g = graph(&[("slow", &[]), ("a", &[]), ("b", &["a"]), ("c", &["b"])]);
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Mutex::new(rx);
    let tx = Mutex::new(tx);
    let record = Executor::builder()
        .workers(2)
        .build()
        .run(&Plan::new(g), &|id: &&str, _: &RunContext| match *id {
            "slow" => rx
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(60))
                .map_err(|_| JobError::new("the chain did not advance")),
            "c" => {
                tx.lock().unwrap().send(()).unwrap();
                Ok(())
            }
            _ => Ok(()),
        })
        .unwrap();
    assert!(record.succeeded(), "{record:?}");
}

#[test]
fn cancelling_starts_nothing_new_tells_running_jobs_and_records_cancelled() {
    let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &[])]);
    let plan = Plan::new(g).with_order(["a", "c"]).unwrap();
    let cancel = CancelToken::new();
    let (etx, erx) = mpsc::channel::<Event<&str>>();
    let record = Executor::builder()
        .workers(1)
        .build()
        .run_with(
            &plan,
            &|_: &&str, ctx: &RunContext| {
                ctx.cancel_token().cancel();
                // Returns because it was told to stop.
                if ctx.wait(Duration::from_secs(600)) {
                    return Err(JobError::new("stopped"));
                }
                Ok(())
            },
            &cancel,
            Some(&etx),
        )
        .unwrap();
    assert!(record.cancelled);
    assert_eq!(
        record.tasks["a"].attempts[0].outcome,
        AttemptOutcome::Cancelled
    );
    for id in ["a", "b", "c"] {
        assert_eq!(record.tasks[id].outcome, TaskOutcome::Cancelled, "{id}");
    }
    drop(etx);
    let started: Vec<&str> = erx
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Started { .. }))
        .map(|e| e.node)
        .collect();
    assert_eq!(started, ["a"]);
}

#[test]
fn a_group_of_limit_one_is_a_mutex() {
    let g = graph(&[("a", &[]), ("b", &[]), ("c", &[]), ("d", &[])]);
    let mut plan = Plan::new(g);
    for id in ["a", "b", "c"] {
        plan.set_options(
            id,
            TaskOptions {
                group: Some("db".into()),
                ..TaskOptions::default()
            },
        )
        .unwrap();
    }
    let inside = AtomicU32::new(0);
    let max = AtomicU32::new(0);
    let record = Executor::builder()
        .workers(4)
        .group("db", 1)
        .build()
        .run(&plan, &|id: &&str, ctx: &RunContext| {
            if *id != "d" {
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                ctx.wait(Duration::from_millis(2));
                inside.fetch_sub(1, Ordering::SeqCst);
            }
            Ok(())
        })
        .unwrap();
    assert!(record.succeeded());
    assert_eq!(max.load(Ordering::SeqCst), 1);
}

#[test]
fn an_undefined_group_is_an_error_naming_node_and_group() {
    let mut plan = Plan::new(graph(&[("a", &[])]));
    plan.set_options(
        "a",
        TaskOptions {
            group: Some("gpu".into()),
            ..TaskOptions::default()
        },
    )
    .unwrap();
    let err = Executor::builder()
        .build()
        .run(&plan, &|_: &&str, _: &RunContext| Ok(()))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`a`") && msg.contains("`gpu`"), "{msg}");
}

#[test]
fn a_panicking_job_is_a_failed_attempt() {
    let record = Executor::builder()
        .build()
        .run(&Plan::new(graph(&[("a", &[])])), &|_: &&str,
                                                 _: &RunContext|
         -> Result<
            (),
            JobError,
        > {
            panic!("bug")
        })
        .unwrap();
    assert_eq!(record.tasks["a"].outcome, TaskOutcome::Failed);
}

#[test]
fn a_worker_carries_no_output_or_deadline_from_one_attempt_to_the_next() {
    // One worker runs every attempt with the same context, reset in between.
    let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["b"])]);
    let mut plan = Plan::new(g);
    plan.set_options(
        "a",
        TaskOptions {
            timeout: Some(Duration::from_millis(1)),
            retry: Some(RetryPolicy::Fixed {
                retries: 1,
                delay: Duration::ZERO,
            }),
            ..TaskOptions::default()
        },
    )
    .unwrap();
    let record = Executor::builder()
        .workers(1)
        .build()
        .run(&plan, &|id: &&str, ctx: &RunContext| {
            ctx.log(&format!("{id} {}", ctx.attempt()));
            match *id {
                // Times out on its first attempt only.
                "a" if ctx.attempt() == 1 => {
                    ctx.wait(Duration::from_secs(60));
                    Ok(())
                }
                // No timeout of its own: a's deadline must not apply.
                "b" => {
                    assert!(ctx.deadline().is_none());
                    assert!(!ctx.wait(Duration::from_millis(5)));
                    Ok(())
                }
                _ => Ok(()),
            }
        })
        .unwrap();
    let a = &record.tasks["a"];
    assert_eq!(a.attempts[0].outcome, AttemptOutcome::TimedOut);
    assert_eq!(a.attempts[0].output_tail, "a 1");
    assert_eq!(a.attempts[1].outcome, AttemptOutcome::Succeeded);
    assert_eq!(a.attempts[1].output_tail, "a 2");
    assert_eq!(record.tasks["b"].attempts[0].output_tail, "b 1");
    assert_eq!(record.tasks["b"].outcome, TaskOutcome::Succeeded);
    assert_eq!(record.tasks["c"].attempts[0].output_tail, "c 1");
    assert!(record.succeeded());
}

#[test]
fn a_plan_runs_the_same_after_its_index_is_computed_and_after_a_reorder() {
    let g = graph(&[("a", &[]), ("b", &[]), ("c", &["a"])]);
    let plan = Plan::new(g);
    plan.prepare();
    let order = |plan: &Plan<&'static str>| {
        let seen = Mutex::new(Vec::new());
        let record = Executor::builder()
            .workers(1)
            .build()
            .run(plan, &|id: &&'static str, _: &RunContext| {
                seen.lock().unwrap().push(*id);
                Ok(())
            })
            .unwrap();
        assert!(record.succeeded());
        assert_eq!(
            record.tasks.keys().copied().collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        seen.into_inner().unwrap()
    };
    assert_eq!(order(&plan), ["a", "b", "c"]);
    assert_eq!(order(&plan), ["a", "b", "c"]);
    // A new order drops the shared index: the clone's runs follow it.
    let reordered = plan.clone().with_order(["b", "c"]).unwrap();
    assert_eq!(order(&reordered), ["b", "a", "c"]);
    assert_eq!(order(&plan), ["a", "b", "c"]);
}
