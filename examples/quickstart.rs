//! Read a Markdown todo file, print its tasks in the order they should be done, mark
//! the next ready task done, and print the rewritten file.
//!
//! Run from the repository root: `cargo run --example quickstart`
//! (or `cargo run --example quickstart -- path/to/your/todo.md`).

// An example talks to its user on the terminal.
#![allow(clippy::print_stdout)]

use std::collections::HashSet;
use std::path::PathBuf;

use ssot_core::format::markdown::MarkdownDocument;
use ssot_core::{Status, TaskQueue};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/todo.md"),
        PathBuf::from,
    );
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;

    // Parse: every checkbox item outside code blocks is a task; errors name the line.
    let mut doc = MarkdownDocument::parse(text).map_err(|e| format!("{}: {e}", path.display()))?;

    // Queue the unfinished tasks: most urgent first, then oldest, then by id.
    let done: HashSet<String> = doc
        .tasks()
        .iter()
        .filter(|t| t.status() == Status::Done)
        .map(|t| t.id.to_string())
        .collect();
    let mut queue = TaskQueue::new();
    for task in doc.tasks().iter().filter(|t| !t.status().is_finished()) {
        queue.push(task.clone())?;
    }

    println!(
        "{} open tasks in {}, in queue order:",
        queue.len(),
        path.display()
    );
    for task in queue.iter() {
        let waiting: Vec<&str> = task
            .dependencies
            .iter()
            .map(|d| d.as_str())
            .filter(|d| !done.contains(*d))
            .collect();
        let state = if waiting.is_empty() {
            "ready".to_owned()
        } else {
            format!("waits for {}", waiting.join(", "))
        };
        println!(
            "  {:<8} {:<11} {:<10} {}  ({state})",
            task.priority.as_str(),
            task.status().as_str(),
            task.id.as_str(),
            task.title
        );
    }

    // Take the most urgent task whose dependencies are all done, and finish it.
    let ready = |t: &ssot_core::Task| t.dependencies.iter().all(|d| done.contains(d.as_str()));
    let Some(next) = queue.pop_next(ready) else {
        println!("\nNothing is ready.");
        return Ok(());
    };
    println!(
        "\nNext ready task: `{}` ({}). Marking it done.",
        next.id, next.title
    );
    doc.set_status(next.id.as_str(), Status::Done)?;

    // Only that task's line changed; every other byte of the file is as it was.
    println!("\nThe rewritten file:\n");
    print!("{}", doc.as_str());
    Ok(())
}
