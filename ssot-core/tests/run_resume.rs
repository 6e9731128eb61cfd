//! Journal and resume: a process running a plan is SIGKILLed at a point the test
//! chooses (a command of node `c` has started and is journaled); `resume` finishes the
//! plan, kills the process group the dead run left, and runs no succeeded node twice.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ssot_core::run::{
    CancelToken, CommandJob, Executor, Job, JobError, Plan, RunContext, TaskOutcome, process_gone,
};
use ssot_graph::DepGraph;

const CHILD_ENV: &str = "SSOT_RUN_RESUME_CHILD_DIR";

fn plan() -> Plan<&'static str> {
    let g = DepGraph::from_tasks([
        ("a", vec![]),
        ("b", vec!["a"]),
        ("c", vec!["b"]),
        ("d", vec![]),
    ])
    .unwrap();
    Plan::new(g)
}

fn note_ran(dir: &Path, id: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("ran.log"))
        .unwrap();
    writeln!(f, "{id}").unwrap();
}

/// The child half: run by `a_killed_run_is_resumed_without_rerunning_successes` in a
/// separate process (it needs the environment that test sets).
#[test]
#[ignore = "run as a child process by a_killed_run_is_resumed_without_rerunning_successes"]
fn child_process_runs_the_plan() {
    let dir = std::path::PathBuf::from(std::env::var_os(CHILD_ENV).expect("set by the parent"));
    let journal = dir.join("journal");
    let pidfile = dir.join("c.pid");
    let command = CommandJob::shell(format!(
        "echo $$ > '{0}.tmp' && mv '{0}.tmp' '{0}' && exec sleep 300",
        pidfile.display()
    ));
    let executor = Executor::builder().workers(1).journal_dir(&journal).build();
    let _ = executor.run(&plan(), &|id: &&str,
                                    ctx: &RunContext|
     -> Result<(), JobError> {
        if *id == "c" {
            // Blocks until the parent kills this process.
            return command.run(id, ctx);
        }
        note_ran(&dir, id);
        Ok(())
    });
    panic!("the parent should have killed this process while `c` ran");
}

#[test]
fn a_killed_run_is_resumed_without_rerunning_successes() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_runs_the_plan",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, dir.path())
        .spawn()
        .unwrap();
    // The hook: `c`'s command has written its pid and its process group is journaled.
    let pidfile = dir.path().join("c.pid");
    let run_id = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("child ended early: {status}");
        }
        let journal_file = std::fs::read_dir(&journal)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path());
        if let Some(path) = journal_file
            && pidfile.exists()
            && std::fs::read_to_string(&path)
                .unwrap()
                .contains("\"process_group\"")
        {
            break path.file_stem().unwrap().to_str().unwrap().to_owned();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let sleeper: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !process_gone(sleeper),
        "the orphaned command should still run before resume"
    );

    let executor = Executor::builder().workers(1).journal_dir(&journal).build();
    let (report, record) = executor
        .resume(
            &run_id,
            &plan(),
            &|id: &&str, _: &RunContext| -> Result<(), JobError> {
                note_ran(dir.path(), id);
                Ok(())
            },
            &CancelToken::new(),
            None,
        )
        .unwrap();
    // `a` and `b` succeeded before `c` started; `d` (independent) may have run while
    // `a`'s success waited for the journal's sync (group commit) or not at all.
    let done = &report.already_succeeded;
    assert!(
        done.starts_with(&["a".to_owned(), "b".to_owned()]),
        "{done:?}"
    );
    assert!(done == &["a", "b"] || done == &["a", "b", "d"], "{done:?}");
    assert_eq!(report.left_running.len(), 1);
    assert_eq!(report.left_running[0].0, "c");
    assert!(report.left_running[0].2);
    assert!(
        process_gone(sleeper),
        "resume should kill the orphaned group"
    );
    assert!(record.succeeded());
    let rest: Vec<&str> = ["c", "d"]
        .into_iter()
        .filter(|n| !done.iter().any(|d| d == n))
        .collect();
    assert_eq!(record.tasks.keys().copied().collect::<Vec<_>>(), rest);
    assert_eq!(record.tasks["c"].outcome, TaskOutcome::Succeeded);
    let mut ran: Vec<String> = std::fs::read_to_string(dir.path().join("ran.log"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    ran.sort();
    assert_eq!(ran, ["a", "b", "c", "d"], "every node ran exactly once");
}

#[test]
fn resuming_an_unknown_run_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = Executor::builder()
        .journal_dir(dir.path())
        .build()
        .resume(
            "nope",
            &plan(),
            &|_: &&str, _: &RunContext| Ok(()),
            &CancelToken::new(),
            None,
        )
        .unwrap_err();
    assert!(err.to_string().contains("`nope`"), "{err}");
}
