//! Per-task settings from task fields, and the automation registry's workflows run as
//! chains of tasks (on the shipped registry files in `examples/data/registries`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use ssot_core::run::{
    AutomationRegistry, CancelToken, Event, EventKind, Executor, JobError, RetryPolicy, RunContext,
    TaskOptions, TaskOutcome, WORKFLOW_GROUP,
};
use ssot_core::{Error, Task, TaskId};

fn registry_text(name: &str) -> String {
    let path = format!(
        "{}/../examples/data/registries/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn task(id: &str, deps: &[&str], fields: &[(&str, Value)]) -> Task {
    let mut t = Task::new(TaskId::new(id).unwrap(), id);
    t.dependencies = deps.iter().map(|d| TaskId::new(*d).unwrap()).collect();
    for (k, v) in fields {
        t.extra.insert((*k).to_owned(), v.clone());
    }
    t
}

#[test]
fn task_fields_set_retries_timeout_and_group_over_the_executor_defaults() {
    let tasks = vec![
        // Fails twice, then succeeds: needs its own `retries: 2` (the default is none).
        task(
            "flaky",
            &[],
            &[("retries", 2.into()), ("retry_delay", "1ms".into())],
        ),
        // Waits past its own 20 ms timeout every time: retried once, then failed.
        task(
            "slow",
            &[],
            &[
                ("timeout", "20ms".into()),
                ("retry_policy", "fixed".into()),
                ("max_retries", "1".into()),
                ("retry_delay", "0s".into()),
            ],
        ),
        task("plain", &["flaky"], &[("concurrency_group", "db".into())]),
    ];
    let executor = Executor::builder()
        .workers(2)
        .timeout(Duration::from_secs(600))
        .group("db", 1)
        .build();
    let job = |t: &Task, ctx: &RunContext| -> Result<(), JobError> {
        match t.id.as_str() {
            "flaky" if ctx.attempt() <= 2 => Err(JobError::new("not yet")),
            "slow" => {
                assert_eq!(ctx.timeout(), Some(Duration::from_millis(20)));
                ctx.wait(Duration::from_secs(600));
                Ok(())
            }
            "plain" => {
                // The executor's default timeout: no field overrides it.
                assert_eq!(ctx.timeout(), Some(Duration::from_secs(600)));
                Ok(())
            }
            _ => Ok(()),
        }
    };
    let record = executor
        .run_tasks(
            &tasks,
            |_| TaskOptions::default(),
            &job,
            &CancelToken::new(),
            None,
        )
        .unwrap();
    let id = |s: &str| TaskId::new(s).unwrap();
    assert_eq!(record.tasks[&id("flaky")].outcome, TaskOutcome::Succeeded);
    assert_eq!(record.tasks[&id("flaky")].attempts.len(), 3);
    assert_eq!(record.tasks[&id("slow")].outcome, TaskOutcome::Failed);
    assert_eq!(record.tasks[&id("slow")].attempts.len(), 2);
    assert_eq!(record.tasks[&id("plain")].outcome, TaskOutcome::Succeeded);
}

#[test]
fn the_options_callback_wins_over_task_fields() {
    let tasks = vec![task("a", &[], &[("retries", 5.into())])];
    let executor = Executor::builder().workers(1).build();
    let record = executor
        .run_tasks(
            &tasks,
            |_| TaskOptions {
                retry: Some(RetryPolicy::None),
                ..TaskOptions::default()
            },
            &|_: &Task, _: &RunContext| Err(JobError::new("always")),
            &CancelToken::new(),
            None,
        )
        .unwrap();
    assert_eq!(record.tasks.values().next().unwrap().attempts.len(), 1);
}

#[test]
fn a_task_field_that_does_not_parse_stops_the_run_before_it_starts() {
    let tasks = vec![task("a", &[], &[("retries", "many".into())])];
    let ran = Mutex::new(0);
    let err = Executor::builder()
        .build()
        .run_tasks(
            &tasks,
            |_| TaskOptions::default(),
            &|_: &Task, _: &RunContext| {
                *ran.lock().unwrap() += 1;
                Ok(())
            },
            &CancelToken::new(),
            None,
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::TaskField { id, field, .. } if id == "a" && field == "retries"),
        "{err}"
    );
    assert_eq!(*ran.lock().unwrap(), 0);
}

#[test]
fn the_shipped_automation_registry_reads_with_its_settings() {
    let reg = AutomationRegistry::parse(&registry_text("automation.yaml")).unwrap();
    let names: Vec<&str> = reg.workflows.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "release.preview",
            "release.production",
            "upkeep.nightly_backup",
            "upkeep.queue_health"
        ]
    );
    assert_eq!(reg.max_concurrent, Some(4));
    let prod = reg.workflow("release.production").unwrap();
    assert_eq!(
        prod.steps,
        [
            "check_schema",
            "build",
            "run_tests",
            "publish",
            "smoke_test"
        ]
    );
    assert_eq!(prod.timeout, Some(Duration::from_secs(2400)));
    assert!(matches!(
        prod.retry,
        Some(RetryPolicy::Exponential { retries: 2, .. })
    ));
    // No `max_retries` of its own: the registry's default (3).
    let preview = reg.workflow("release.preview").unwrap();
    assert!(matches!(
        preview.retry,
        Some(RetryPolicy::Linear { retries: 3, .. })
    ));
    assert_eq!(preview.timeout, Some(Duration::from_secs(600)));
    // No timeout of its own: the registry's `timeout_default` (900 s).
    let backup = reg.workflow("upkeep.nightly_backup").unwrap();
    assert_eq!(backup.timeout, Some(Duration::from_secs(900)));
    assert!(matches!(
        backup.retry,
        Some(RetryPolicy::Fixed { retries: 3, .. })
    ));
}

#[test]
fn registry_files_without_workflows_are_refused_naming_the_key() {
    for name in ["pipeline.yaml", "tasks.yaml"] {
        let err = AutomationRegistry::parse(&registry_text(name)).unwrap_err();
        assert!(
            matches!(&err, Error::Workflow { key, .. } if key.starts_with("automation")),
            "{name}: {err}"
        );
    }
}

#[test]
fn a_registry_workflow_runs_as_a_chain_with_its_settings() {
    let reg = AutomationRegistry::parse(&registry_text("automation.yaml")).unwrap();
    let plan = reg
        .plan(&["release.production", "upkeep.nightly_backup"])
        .unwrap();
    let executor = reg
        .configure(Executor::builder().workers(4))
        .retry(RetryPolicy::None)
        .build();
    let seen: Mutex<BTreeMap<String, (Option<Duration>, u32)>> = Mutex::new(BTreeMap::new());
    let (tx, rx) = mpsc::channel::<Event<String>>();
    let record = executor
        .run_with(
            &plan,
            &|id: &String, ctx: &RunContext| {
                seen.lock()
                    .unwrap()
                    .insert(id.clone(), (ctx.timeout(), ctx.attempt()));
                // `publish` fails once: the workflow's exponential policy retries it.
                if id == "release.production/publish" && ctx.attempt() == 1 {
                    return Err(JobError::new("registry unreachable"));
                }
                Ok(())
            },
            &CancelToken::new(),
            Some(&tx),
        )
        .unwrap();
    drop(tx);
    assert!(record.succeeded(), "{record:?}");
    let seen = seen.into_inner().unwrap();
    assert_eq!(
        seen["release.production/build"].0,
        Some(Duration::from_secs(2400))
    );
    assert_eq!(
        seen["upkeep.nightly_backup/verify_upload"].0,
        Some(Duration::from_secs(900))
    );
    assert_eq!(seen["release.production/publish"].1, 2);
    // Each workflow is a chain: a step starts only after the one before succeeded.
    let mut done = Vec::new();
    for e in rx.iter() {
        match e.kind {
            EventKind::Started { attempt: 1 } => {
                for w in ["release.production", "upkeep.nightly_backup"] {
                    let steps = &reg.workflow(w).unwrap().steps;
                    if let Some(k) = steps.iter().position(|s| e.node == format!("{w}/{s}"))
                        && k > 0
                    {
                        let before = format!("{w}/{}", steps[k - 1]);
                        assert!(done.contains(&before), "{} before {before}", e.node);
                    }
                }
            }
            EventKind::Succeeded { .. } => done.push(e.node.clone()),
            _ => {}
        }
    }
    assert_eq!(done.len(), 9);
}

#[test]
fn workflow_steps_share_the_registry_concurrency_limit() {
    let text = "automation:\n  workflows:\n    w:\n      a: {steps: [x]}\n      b: {steps: [x]}\n      c: {steps: [x]}\n  policies:\n    execution: {max_concurrent: 1}\n";
    let reg = AutomationRegistry::parse(text).unwrap();
    let plan = reg.plan(&[]).unwrap();
    // Without the group the plan cannot run: its steps name it.
    let err = Executor::builder()
        .build()
        .run(&plan, &|_: &String, _: &RunContext| Ok(()))
        .unwrap_err();
    assert!(matches!(&err, Error::UnknownGroup { group, .. } if group == WORKFLOW_GROUP));
    let running = std::sync::atomic::AtomicUsize::new(0);
    let max = std::sync::atomic::AtomicUsize::new(0);
    let executor = reg.configure(Executor::builder().workers(3)).build();
    let record = executor
        .run(&plan, &|_: &String, ctx: &RunContext| {
            use std::sync::atomic::Ordering::SeqCst;
            let r = running.fetch_add(1, SeqCst) + 1;
            max.fetch_max(r, SeqCst);
            ctx.wait(Duration::from_millis(5));
            running.fetch_sub(1, SeqCst);
            Ok(())
        })
        .unwrap();
    assert!(record.succeeded());
    assert_eq!(max.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn unknown_workflows_and_repeated_steps_are_errors() {
    let reg = AutomationRegistry::parse(&registry_text("automation.yaml")).unwrap();
    let err = reg.plan(&["release.nope"]).unwrap_err();
    assert!(err.to_string().contains("release.production"), "{err}");
    let text = "automation:\n  workflows:\n    w:\n      a: {steps: [x, y, x]}\n";
    let err = AutomationRegistry::parse(text)
        .unwrap()
        .plan(&[])
        .unwrap_err();
    assert!(err.to_string().contains("listed twice"), "{err}");
    let text = "automation:\n  workflows:\n    w:\n      a: {steps: [x], timeout: soon}\n";
    let err = AutomationRegistry::parse(text).unwrap_err();
    assert!(
        matches!(&err, Error::Workflow { key, .. } if key == "automation.workflows.w.a.timeout"),
        "{err}"
    );
}

#[test]
fn settings_written_in_markdown_and_yaml_task_lists_are_read() {
    let md = "- [ ] Deploy [id:: deploy] [timeout:: 30s] [retries:: 2]\n";
    let list = ssot_core::format::markdown::parse(md).unwrap();
    let o = TaskOptions::from_task_fields(&list.tasks[0], RetryPolicy::None).unwrap();
    assert_eq!(o.timeout, Some(Duration::from_secs(30)));
    assert_eq!(o.retry.map(|r| r.max_retries()), Some(2));
    let yaml = "tasks:\n  - id: deploy\n    title: Deploy\n    timeout: 90\n    retry_policy: exponential_backoff\n    concurrency_group: db\n";
    let list = ssot_core::format::parse(ssot_core::Format::Yaml, yaml).unwrap();
    let o = TaskOptions::from_task_fields(&list.tasks[0], RetryPolicy::None).unwrap();
    assert_eq!(o.timeout, Some(Duration::from_secs(90)));
    assert!(matches!(o.retry, Some(RetryPolicy::Exponential { .. })));
    assert_eq!(o.group.as_deref(), Some("db"));
}
