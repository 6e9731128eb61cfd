//! Read a Markdown todo file, build its dependency graph, and answer the questions a
//! planner asks: what can start now, what is blocked and by what, in which waves the
//! rest can run, how long the remaining work takes at best, and what a change would
//! affect. Then try to add a dependency that would close a cycle, and write the
//! graph as Graphviz DOT into a temporary directory.
//!
//! Run from the repository root: `cargo run --example dependencies`
//! (or `cargo run --example dependencies -- path/to/your/todo.md`).

// An example talks to its user on the terminal.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Duration;

use ssot_core::TaskId;
use ssot_core::format::markdown::MarkdownDocument;
use ssot_graph::{DepGraph, State};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/todo.md"),
        PathBuf::from,
    );
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let doc = MarkdownDocument::parse(text).map_err(|e| format!("{}: {e}", path.display()))?;
    let tasks = doc.tasks();

    // Bulk construction: a dangling reference or every cycle in the file is reported
    // in one error, naming the ids.
    // The graph holds the tasks' own `TaskId`s and is asked with plain `&str`.
    let mut graph: DepGraph<TaskId> = DepGraph::from_tasks(
        tasks
            .iter()
            .map(|t| (t.id.clone(), t.dependencies.iter().cloned())),
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;

    // The file's statuses become the graph's states, by the one documented mapping
    // (`impl From<Status> for State` in ssot-core: blocked is on hold, in progress
    // is running).
    for task in tasks {
        graph.set_state(task.id.as_str(), task.status().into())?;
    }

    println!(
        "{} tasks, {} dependencies in {}",
        graph.len(),
        graph.dependency_count(),
        path.display()
    );
    println!("\nReady to start: {}", join(graph.ready()));
    println!("\nBlocked:");
    for (task, holders) in graph.blocked() {
        println!("  {:<10} waits for {}", task.as_str(), join(holders));
    }

    println!("\nWaves (each can run in parallel once the ones before are done):");
    for (i, wave) in graph.waves().iter().enumerate() {
        println!("  {i}: {}", join(wave.iter().copied()));
    }

    // The longest chain of remaining work, by estimate (done tasks count zero;
    // tasks without an estimate count as one hour).
    let estimate = |id: &TaskId| {
        let task = tasks.iter().find(|t| &t.id == id);
        match (graph.state(id), task) {
            (Some(State::Done), _) => Duration::ZERO,
            (_, Some(t)) => t.estimated_time.unwrap_or(Duration::from_secs(3600)),
            _ => Duration::ZERO,
        }
    };
    if let Some(path) = graph.critical_path(estimate)? {
        println!(
            "\nCritical path ({} min at best): {}",
            path.total().as_secs() / 60,
            join(path.nodes().iter().copied())
        );
    }

    println!(
        "\nA change to `artifacts` affects: {}",
        join(graph.dependents("artifacts")?)
    );

    // A dependency that would close a cycle is refused, with the whole cycle, and
    // the graph is left as it was.
    match graph.add_dependency("bump", "publish") {
        Ok(_) => println!("\nunexpected: the cycle was accepted"),
        Err(e) => println!("\nRefused: {e}"),
    }

    // Marking a task done releases what it was holding.
    graph.mark_done("flaky")?;
    println!("\nAfter `flaky` is done, ready: {}", join(graph.ready()));

    let dot_path = std::env::temp_dir().join("ssot-dependencies.dot");
    std::fs::write(&dot_path, graph.to_dot())?;
    println!(
        "\nGraphviz: {} (render with `dot -Tsvg {} -o graph.svg`)",
        dot_path.display(),
        dot_path.display()
    );
    Ok(())
}

fn join<'a>(ids: impl IntoIterator<Item = &'a TaskId>) -> String {
    let ids: Vec<&str> = ids.into_iter().map(TaskId::as_str).collect();
    if ids.is_empty() {
        "(none)".to_string()
    } else {
        ids.join(", ")
    }
}
