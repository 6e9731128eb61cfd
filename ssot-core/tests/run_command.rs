//! `CommandJob`: process groups, timeouts, late output. Unix only.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use ssot_core::run::{
    AttemptOutcome, CancelToken, CommandJob, Executor, Plan, RetryPolicy, RunContext, TaskOptions,
    TaskOutcome, process_gone,
};
use ssot_graph::DepGraph;

#[test]
fn a_command_past_its_timeout_is_killed_with_the_grandchild_it_spawned() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    let tmp = dir.path().join("grandchild.pid.tmp");
    // The pid file appears whole (written, then renamed) once the grandchild runs.
    // On a loaded machine the shell may not get that far before a short timeout:
    // then the run proves nothing, and is tried again with a longer one (the test
    // does not depend on speed, only on the timeout coming after the pid file).
    for timeout_ms in [300, 1_000, 5_000, 30_000] {
        let job = CommandJob::shell(format!(
            "sleep 300 & echo $! > '{}' && mv '{}' '{}'; sleep 300",
            tmp.display(),
            tmp.display(),
            pidfile.display()
        ))
        .timeout(Duration::from_millis(timeout_ms))
        .grace(Duration::from_millis(200));
        let out = job.execute_alone().unwrap();
        assert!(out.timed_out);
        let Ok(text) = std::fs::read_to_string(&pidfile) else {
            continue;
        };
        let pid: i32 = text.trim().parse().unwrap();
        assert!(process_gone(pid), "grandchild {pid} still runs");
        return;
    }
    panic!("the shell never wrote the grandchild's pid within 30 s");
}

#[test]
fn output_written_after_the_parent_exits_is_recorded() {
    let out = CommandJob::shell("(sleep 0.3; echo late; echo late-err >&2) & echo early")
        .execute_alone()
        .unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout_tail, "early\nlate\n");
    assert_eq!(out.stderr_tail, "late-err\n");
}

#[test]
fn the_output_tail_is_bounded() {
    let out = CommandJob::shell("seq 1 1000")
        .output_limit(9)
        .execute_alone()
        .unwrap();
    assert_eq!(out.stdout_tail, "999\n1000\n");
}

#[test]
fn cwd_env_and_exit_code_reach_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let g = DepGraph::from_tasks([("a", Vec::<&str>::new())]).unwrap();
    let job = CommandJob::shell("pwd; echo \"$GREETING\"; exit 4")
        .current_dir(dir.path())
        .env("GREETING", "hi");
    let record = Executor::builder()
        .build()
        .run(&Plan::new(g), &job)
        .unwrap();
    let a = &record.tasks["a"];
    assert_eq!(a.outcome, TaskOutcome::Failed);
    let err = a.attempts[0].error.as_deref().unwrap();
    assert!(err.contains("exited with code 4"), "{err}");
    let tail = &a.attempts[0].output_tail;
    assert!(tail.ends_with("\nhi\n"), "{tail}");
    assert!(tail.contains(dir.path().file_name().unwrap().to_str().unwrap()));
}

#[test]
fn a_timed_out_command_is_retried_by_the_executor() {
    let g = DepGraph::from_tasks([("slow", Vec::<&str>::new())]).unwrap();
    let mut plan = Plan::new(g);
    plan.set_options(
        "slow",
        TaskOptions {
            retry: Some(RetryPolicy::Fixed {
                retries: 1,
                delay: Duration::ZERO,
            }),
            timeout: Some(Duration::from_millis(100)),
            group: None,
            inputs: None,
        },
    )
    .unwrap();
    let job = CommandJob::shell("sleep 300").grace(Duration::from_millis(100));
    let record = Executor::builder().build().run(&plan, &job).unwrap();
    let slow = &record.tasks["slow"];
    assert_eq!(slow.attempts.len(), 2);
    assert!(
        slow.attempts
            .iter()
            .all(|a| a.outcome == AttemptOutcome::TimedOut)
    );
}

#[test]
fn cancelling_stops_the_running_command_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let cancel = CancelToken::new();
    // The pid file appears whole (written, then renamed): the cancel below waits
    // for it, so the group is never stopped before the pid is in the file.
    let g = DepGraph::from_tasks([("a", Vec::<&str>::new()), ("b", vec!["a"])]).unwrap();
    let job = CommandJob::shell(format!(
        "sleep 300 & echo $! > '{}.tmp' && mv '{}.tmp' '{}'; wait",
        pidfile.display(),
        pidfile.display(),
        pidfile.display()
    ))
    .grace(Duration::from_millis(100));
    let record = std::thread::scope(|s| {
        s.spawn(|| {
            while !pidfile.exists() {
                std::thread::sleep(Duration::from_millis(5));
            }
            cancel.cancel();
        });
        Executor::builder()
            .build()
            .run_with(
                &Plan::new(g),
                &|n: &&str, ctx: &RunContext| ssot_core::run::Job::run(&job, n, ctx),
                &cancel,
                None,
            )
            .unwrap()
    });
    assert!(record.cancelled);
    assert_eq!(record.tasks["a"].outcome, TaskOutcome::Cancelled);
    assert_eq!(record.tasks["b"].outcome, TaskOutcome::Cancelled);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(process_gone(pid));
}
