//! Incremental runs: up-to-date skips by input hash, and dry runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Mutex;

use ssot_core::run::{
    DryRun, Executor, Inputs, Job, JobError, Plan, RunContext, RunRecord, TaskOptions, TaskOutcome,
};
use ssot_graph::DepGraph;

fn plan(root: &Path) -> Plan<&'static str> {
    let g = DepGraph::from_tasks([
        ("gen_a", vec![]),
        ("gen_b", vec![]),
        ("combine", vec!["gen_a", "gen_b"]),
    ])
    .unwrap();
    let mut plan = Plan::new(g);
    for (id, glob) in [
        ("gen_a", "a.txt"),
        ("gen_b", "b/*.txt"),
        ("combine", "none"),
    ] {
        plan.set_options(
            id,
            TaskOptions {
                inputs: Some(Inputs {
                    root: root.to_path_buf(),
                    globs: vec![glob.into()],
                    command: format!("make {id}"),
                    ..Inputs::default()
                }),
                ..TaskOptions::default()
            },
        )
        .unwrap();
    }
    plan
}

fn run(
    state: &Path,
    plan: &Plan<&'static str>,
    fail: &[&str],
) -> (RunRecord<&'static str>, Vec<String>) {
    let ran = Mutex::new(Vec::new());
    let record = Executor::builder()
        .workers(2)
        .state_dir(state)
        .build()
        .run(plan, &|id: &&str, _: &RunContext| {
            ran.lock().unwrap().push(id.to_string());
            if fail.contains(id) {
                Err(JobError::new("boom"))
            } else {
                Ok(())
            }
        })
        .unwrap();
    let mut ran = ran.into_inner().unwrap();
    ran.sort();
    (record, ran)
}

#[test]
fn changing_an_input_reruns_only_that_task_and_its_dependents() {
    let root = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("a.txt"), "a1").unwrap();
    std::fs::create_dir(root.path().join("b")).unwrap();
    std::fs::write(root.path().join("b/x.txt"), "b1").unwrap();
    let plan = plan(root.path());

    let (_, ran) = run(state.path(), &plan, &[]);
    assert_eq!(ran, ["combine", "gen_a", "gen_b"]);

    let (record, ran) = run(state.path(), &plan, &[]);
    assert!(ran.is_empty(), "{ran:?}");
    assert!(
        record
            .tasks
            .values()
            .all(|t| t.outcome == TaskOutcome::UpToDate)
    );
    assert!(record.succeeded());

    std::fs::write(root.path().join("b/x.txt"), "b2").unwrap();
    let dry = Executor::builder()
        .state_dir(state.path())
        .build()
        .dry_run(&plan);
    assert_eq!(dry[0], ("gen_a", DryRun::UpToDate));
    assert_eq!(
        dry[1],
        (
            "gen_b",
            DryRun::Runs("inputs, command or environment changed".into())
        )
    );
    assert_eq!(
        dry[2],
        ("combine", DryRun::Runs("dependency `gen_b` runs".into()))
    );

    let (record, ran) = run(state.path(), &plan, &[]);
    assert_eq!(ran, ["combine", "gen_b"]);
    assert_eq!(record.tasks["gen_a"].outcome, TaskOutcome::UpToDate);
    assert!(record.tasks["gen_a"].attempts.is_empty());

    // A new input file matched by the glob counts as a change too.
    std::fs::write(root.path().join("b/y.txt"), "new").unwrap();
    let (_, ran) = run(state.path(), &plan, &[]);
    assert_eq!(ran, ["combine", "gen_b"]);
}

#[test]
fn a_failed_task_is_never_up_to_date() {
    let root = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("a.txt"), "a1").unwrap();
    std::fs::create_dir(root.path().join("b")).unwrap();
    let plan = plan(root.path());

    let (record, _) = run(state.path(), &plan, &["gen_a"]);
    assert_eq!(record.tasks["gen_a"].outcome, TaskOutcome::Failed);
    let (record, ran) = run(state.path(), &plan, &["gen_a"]);
    assert_eq!(
        ran,
        ["gen_a"],
        "the failed task runs again, gen_b is up to date"
    );
    assert_eq!(record.tasks["gen_a"].outcome, TaskOutcome::Failed);

    // Success, then a failure on changed inputs, then the old inputs back: the
    // failure forgot the success, so it runs.
    let (_, ran) = run(state.path(), &plan, &[]);
    assert_eq!(ran, ["combine", "gen_a"]);
    std::fs::write(root.path().join("a.txt"), "a2").unwrap();
    run(state.path(), &plan, &["gen_a"]);
    std::fs::write(root.path().join("a.txt"), "a1").unwrap();
    let (_, ran) = run(state.path(), &plan, &[]);
    assert_eq!(ran, ["combine", "gen_a"]);
}

/// A job that logs, in one sequence, each run and each up-to-date call.
struct Logged(Mutex<Vec<String>>);

impl Job<&'static str> for Logged {
    fn run(&self, id: &&'static str, _: &RunContext) -> Result<(), JobError> {
        self.0.lock().unwrap().push(format!("run {id}"));
        Ok(())
    }

    fn up_to_date(&self, id: &&'static str) {
        self.0.lock().unwrap().push(format!("up to date {id}"));
    }
}

#[test]
fn the_up_to_date_hook_is_called_for_each_skipped_node_before_its_dependents_run() {
    let root = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("a.txt"), "a1").unwrap();
    std::fs::create_dir(root.path().join("b")).unwrap();
    std::fs::write(root.path().join("b/x.txt"), "b1").unwrap();
    let plan = plan(root.path());
    let executor = Executor::builder()
        .workers(2)
        .state_dir(state.path())
        .build();
    let run = |plan: &Plan<&'static str>| {
        let job = Logged(Mutex::new(Vec::new()));
        let record = executor.run(plan, &job).unwrap();
        assert!(record.succeeded());
        job.0.into_inner().unwrap()
    };

    // First run: everything runs, no hook call.
    let mut log = run(&plan);
    log.sort();
    assert_eq!(log, ["run combine", "run gen_a", "run gen_b"]);

    // `gen_b` changes: `gen_a` is up to date (hook), `combine` runs after both.
    std::fs::write(root.path().join("b/x.txt"), "b2").unwrap();
    let log = run(&plan);
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(log.contains(&"up to date gen_a".to_owned()), "{log:?}");
    assert!(log.contains(&"run gen_b".to_owned()), "{log:?}");
    assert_eq!(log[2], "run combine", "{log:?}");

    // Nothing changes: each node's hook, once, `combine`'s after its dependencies'.
    let log = run(&plan);
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[2], "up to date combine", "{log:?}");

    // Without a state directory nothing is up to date: no hook call.
    let job = Logged(Mutex::new(Vec::new()));
    Executor::builder().build().run(&plan, &job).unwrap();
    assert!(
        job.0
            .into_inner()
            .unwrap()
            .iter()
            .all(|l| l.starts_with("run ")),
        "no hook without a state directory"
    );
}
