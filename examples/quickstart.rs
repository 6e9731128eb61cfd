//! ssot in one run. A store made of a Markdown todo list, a YAML task file with
//! comments, service documents checked against a schema and a configuration overlay
//! pair is validated (one mistake is caught, then fixed in place), planned across
//! files, changed (a task completed, a configuration value patched with its comments
//! kept), audited, versioned, rolled back, and checked for drift after an edit made
//! behind its back.
//!
//! Run from the repository root: `cargo run --example quickstart`. It works on a copy
//! of `examples/data/store/` in a temporary directory, removed at the end. The `ssot`
//! command does the same from a shell:
//! `cargo run -p ssot-core --features cli --bin ssot -- -C examples/data/store plan`.

// An example talks to its user on the terminal.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::json;
use ssot_core::prelude::*;
use ssot_core::store::{Operation, Role};
use ssot_core::version::VersionId;

type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

fn main() -> Result {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/store"),
        root,
    )?;
    // `${DB_HOST}` in config/production.yaml is read from this map; a program would
    // leave the default, the process environment.
    let env = BTreeMap::from([("DB_HOST".to_owned(), "db.internal".to_owned())]);
    let store = Store::builder().env(env).actor("quickstart").open(root)?;
    println!("A copy of examples/data/store in {}:", root.display());
    for file in store.files()? {
        let role = match &file.role {
            Role::Tasks { format, .. } => format!("{format} task list"),
            Role::Document { schema } => format!("document, schema `{schema}`"),
            _ => "file".to_owned(),
        };
        println!("  {:<18} {role}", file.path);
    }
    for set in store.manifest().configs() {
        println!(
            "  configuration `{}`: {}",
            set.name,
            set.files.join(" then ")
        );
    }

    step("1. Validate: every file against its schema, problems at file:line:col");
    println!("{}", store.validate()?);
    // Fix it through the store: a merge patch, applied in place, validated first.
    let fixed = patch(&store, "services/web.yaml", json!({ "port": 8080 }))?;
    println!("after the fix: {}", store.validate()?);

    step("2. Plan: one graph across todo.md and ci.tasks.yaml");
    let plan = store.plan()?;
    print!("{plan}");
    let next = plan.next_task().ok_or("nothing is ready")?.clone();
    println!("next: {} ({})", next.task.id, next.location);

    step("3. Complete the next task: one line of todo.md changes");
    let done = store.set_status(next.task.id.as_str(), Status::Done)?;
    println!(
        "revision {}: {}",
        done.revision,
        line_at(root, &next.location)?
    );
    println!("ready now: {}", join(store.plan()?.ready()));

    step("4. Patch a configuration file: its comments stay");
    patch(
        &store,
        "config/production.yaml",
        json!({ "database": { "pool": 40 } }),
    )?;
    println!("{}", store.explain("app", "database.pool")?);

    step("5. The audit log (a hash chain) and the versions");
    // Records of one revision that did the same thing are shown on one line.
    let mut lines: Vec<(u64, String, Vec<String>)> = Vec::new();
    for r in store.audit_log()? {
        let what = match &r.operation {
            // The first change of a file records it as it was found: the baseline
            // that drift is measured against.
            Operation::External if r.before.is_none() => "first recorded, as found".to_owned(),
            Operation::External => "changed outside the store".to_owned(),
            Operation::SetStatus { id, status } => format!("set {id} to {status}"),
            Operation::Rollback { version } => format!("rolled back to {}", short(version)),
            other => format!("{other:?}").to_lowercase(),
        };
        match lines.last_mut() {
            Some((rev, w, paths)) if *rev == r.revision && *w == what => paths.push(r.path),
            _ => lines.push((r.revision, what, vec![r.path])),
        }
    }
    for (revision, what, paths) in lines {
        let files = match paths.len() {
            1 | 2 => paths.join(", "),
            n => format!("{n} files: every file of the store"),
        };
        println!("  revision {revision}  {what:<24}  {files}");
    }
    let check = store.verify_audit()?;
    println!(
        "chain verified: {} records, intact: {}",
        check.records,
        check.is_ok()
    );
    for v in store.history()? {
        println!("  version {}  {}", short(v.id().as_str()), v.description());
    }

    step("6. Roll back to the version right after the fix");
    let version = fixed.ok_or("the manifest snapshots every change")?;
    let back = store.rollback(version.as_str())?;
    println!(
        "revision {}: {}",
        back.revision,
        line_at(root, &next.location)?
    );
    println!("{}", store.explain("app", "database.pool")?);

    step("7. Drift: a file edited outside the store is noticed");
    fs::write(root.join("services/api.yaml"), "name: api\nport: 9090\n")?;
    let drift = store.drift()?;
    println!("modified outside the store: {}", drift.modified.join(", "));
    if let Some(commit) = store.record_drift()? {
        println!("recorded in the audit log as revision {}", commit.revision);
    }
    Ok(())
}

/// Applies a merge patch through the store and prints the lines it changed; returns
/// the version recorded with the change.
fn patch(store: &Store, path: &str, patch: serde_json::Value) -> Result<Option<VersionId>> {
    let file = store.root().join(path);
    let before = fs::read_to_string(&file)?;
    let commit = store.patch(path, &patch)?;
    let after = fs::read_to_string(&file)?;
    println!("revision {}: patched {path} with {patch}", commit.revision);
    let (old, new) = changed_lines(&before, &after);
    for line in old {
        println!("  - {line}");
    }
    for line in &new {
        println!("  + {line}");
    }
    let kept = after.lines().count() - new.len();
    println!("  ({kept} other lines, comments included, are as they were)");
    Ok(commit.version)
}

/// The lines between the common head and the common tail of two texts.
fn changed_lines<'a>(before: &'a str, after: &'a str) -> (Vec<&'a str>, Vec<&'a str>) {
    let (old, new): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    (
        old[head..old.len() - tail].to_vec(),
        new[head..new.len() - tail].to_vec(),
    )
}

/// `file:line: text of the line`.
fn line_at(root: &Path, at: &Location) -> Result<String> {
    let text = fs::read_to_string(root.join(&at.file))?;
    let line = at
        .line
        .and_then(|n| text.lines().nth(n - 1))
        .unwrap_or_default();
    Ok(format!("{at}: {line}"))
}

fn step(title: &str) {
    println!("\n== {title}");
}

fn join(ids: &[TaskId]) -> String {
    ids.iter()
        .map(TaskId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
