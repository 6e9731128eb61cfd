//! Run a small workflow of shell commands with the embedded executor: `fetch` is flaky
//! and succeeds on its retry (the first run only), `slow` times out on each of its two attempts (so `report`,
//! which needs it, is skipped), and `build` declares its inputs, so the second run
//! skips it as up to date. Progress is printed from the event channel as it happens,
//! then the run record. Last, the `release.production` workflow of the shipped
//! automation registry (`data/registries/automation.yaml`) runs as a chain of steps
//! (each an `echo`) with the registry's timeout, retry policy and concurrency limit.
//! Then the `docs.check` workflow of the example store's registry
//! (`data/store/registries/automation.yaml`, in a temporary copy) runs against the
//! store: each step's `run` line in the store's directory, and the outcome written
//! back into the registry as the workflow's `last_run` (validated, audited, in place).
//! Unix only (commands run in their own process group).
//!
//! Run from the repository root: `cargo run --example run`.

// An example talks to its user on the terminal.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use ssot_core::run::{
    AutomationRegistry, CancelToken, CommandJob, EventKind, Executor, Inputs, Job, Plan,
    RetryPolicy, RunContext, RunRecord, TaskOptions,
};
use ssot_graph::DepGraph;

struct Step {
    id: String,
    deps: Vec<String>,
    retries: u32,
    timeout_ms: u64,
    input: String,
    command: String,
}

fn read_workflow(path: &Path) -> Result<Vec<Step>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut steps = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.splitn(6, '|').map(str::trim).collect();
        let [id, deps, retries, timeout, input, command] = f[..] else {
            return Err(format!(
                "{}:{}: expected 6 fields separated by `|`",
                path.display(),
                n + 1
            ));
        };
        let num = |s: &str, what: &str| {
            s.parse::<u64>()
                .map_err(|e| format!("{}:{}: {what} `{s}`: {e}", path.display(), n + 1))
        };
        steps.push(Step {
            id: id.to_owned(),
            deps: deps
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
            retries: u32::try_from(num(retries, "retries")?).map_err(|e| e.to_string())?,
            timeout_ms: num(timeout, "timeout")?,
            input: input.to_owned(),
            command: command.to_owned(),
        });
    }
    Ok(steps)
}

fn run_once(
    steps: &[Step],
    data: &Path,
    scratch: &Path,
) -> Result<RunRecord<String>, Box<dyn std::error::Error>> {
    let graph = DepGraph::from_tasks(steps.iter().map(|s| (s.id.clone(), s.deps.clone())))?;
    let mut plan = Plan::new(graph).with_order(steps.iter().map(|s| s.id.clone()))?;
    for s in steps {
        plan.set_options(
            s.id.clone(),
            TaskOptions {
                retry: Some(RetryPolicy::Fixed {
                    retries: s.retries,
                    delay: Duration::from_millis(50),
                }),
                timeout: (s.timeout_ms > 0).then(|| Duration::from_millis(s.timeout_ms)),
                group: None,
                inputs: (!s.input.is_empty()).then(|| Inputs {
                    root: data.to_path_buf(),
                    globs: vec![s.input.clone()],
                    outputs: vec![scratch.join("build.out")],
                    command: s.command.clone(),
                    env: vec![],
                }),
            },
        )?;
    }
    let commands: std::collections::HashMap<String, CommandJob> = steps
        .iter()
        .map(|s| {
            let job = CommandJob::shell(&s.command)
                .current_dir(scratch)
                .env("DATA", data)
                .grace(Duration::from_millis(200));
            (s.id.clone(), job)
        })
        .collect();
    let executor = Executor::builder()
        .workers(2)
        .state_dir(scratch.join("state"))
        .build();
    let (tx, rx) = mpsc::channel::<ssot_core::run::Event<String>>();
    std::thread::scope(|s| {
        s.spawn(move || {
            for e in rx {
                let what = match e.kind {
                    EventKind::Started { attempt } => format!("started (attempt {attempt})"),
                    EventKind::Succeeded { .. } => "succeeded".into(),
                    EventKind::Retrying { error, delay, .. } => {
                        format!("retrying in {delay:?}: {error}")
                    }
                    EventKind::Failed { error, .. } => format!("FAILED: {error}"),
                    EventKind::Skipped { because } => format!("skipped: `{because}` failed"),
                    EventKind::UpToDate => "up to date".into(),
                    EventKind::Cancelled => "cancelled".into(),
                    _ => continue,
                };
                println!("  [{} running] {:<7} {what}", e.running, e.node);
            }
        });
        let result = executor.run_with(
            &plan,
            &|id: &String, ctx: &ssot_core::run::RunContext| match commands.get(id) {
                Some(job) => Job::run(job, id, ctx),
                None => Err(ssot_core::run::JobError::new(format!(
                    "no command for `{id}`"
                ))),
            },
            &CancelToken::new(),
            Some(&tx),
        );
        // The printer ends when the last sender is gone.
        drop(tx);
        result.map_err(Into::into)
    })
}

fn print_record(record: &RunRecord<String>) {
    println!(
        "run {} ({} to {})",
        record.run_id, record.started, record.ended
    );
    for (id, task) in &record.tasks {
        println!("  {id}: {:?}", task.outcome);
        for a in &task.attempts {
            println!(
                "    attempt {}: {:?}{}  output: {:?}",
                a.number,
                a.outcome,
                a.error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default(),
                a.output_tail.trim_end()
            );
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/run");
    let steps = read_workflow(&data.join("workflow.txt"))?;
    let scratch = std::env::temp_dir().join(format!("ssot-run-example-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;

    for round in 1..=2 {
        println!("== run {round} ==");
        let record = run_once(&steps, &data, &scratch)?;
        println!();
        print_record(&record);
        println!();
    }
    std::fs::remove_dir_all(&scratch)?;

    println!("== the registry workflow release.production ==");
    let registry_path = data.join("../registries/automation.yaml");
    let registry = AutomationRegistry::parse(&std::fs::read_to_string(&registry_path)?)?;
    let workflow = registry
        .workflow("release.production")
        .ok_or("the shipped registry has release.production")?;
    println!(
        "  steps {:?}, timeout {:?}, retry {:?}, max_concurrent {:?}",
        workflow.steps, workflow.timeout, workflow.retry, registry.max_concurrent
    );
    let plan = registry.plan(&["release.production"])?;
    let executor = registry.configure(Executor::builder().workers(2)).build();
    let record = executor.run(&plan, &|id: &String, ctx: &RunContext| {
        CommandJob::new("echo").arg(id).run(id, ctx)
    })?;
    print_record(&record);
    println!();

    println!("== the store's workflow docs.check, its outcome written back ==");
    let store_dir = tempfile::tempdir()?;
    copy_dir(&data.join("../store"), store_dir.path())?;
    let store = ssot_core::Store::open(store_dir.path())?;
    let registry = "registries/automation.yaml";
    let before = std::fs::read_to_string(store_dir.path().join(registry))?;
    let workflow = AutomationRegistry::parse(&before)?
        .workflow("docs.check")
        .cloned()
        .ok_or("the example store's registry has docs.check")?;
    let root = store_dir.path().to_path_buf();
    let run = Executor::builder().build().run_workflow(
        &store,
        registry,
        "docs.check",
        &|node: &String, ctx: &RunContext| {
            let step = node.rsplit('/').next().unwrap_or(node);
            match workflow.commands.get(step) {
                Some(line) => CommandJob::shell(line).current_dir(&root).run(node, ctx),
                None => Err(ssot_core::run::JobError::new(format!(
                    "no command for `{step}`"
                ))),
            }
        },
        &CancelToken::new(),
        None,
    )?;
    print_record(&run.record);
    println!("  lines the run added to {registry}:");
    let after = std::fs::read_to_string(store_dir.path().join(registry))?;
    for line in after.lines().filter(|l| !before.lines().any(|b| b == *l)) {
        println!("    {line}");
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
