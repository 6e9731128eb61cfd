//! A directory as one store: validate every file, plan across files, pick the next
//! task, see a read served from the cache, and explain a configuration value whose
//! secrets stay masked.
//!
//! Run from the repository root: `cargo run -p ssot-examples --example store` (it
//! copies `examples/data/store/` into a fresh directory under the system's temporary
//! directory, and removes it at the end).

// An example talks to its user on the terminal.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use ssot_core::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::temp_dir().join(format!("ssot-store-example-{}", std::process::id()));
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/store"),
        &root,
    )?;
    let result = run(&root);
    fs::remove_dir_all(&root)?;
    result
}

fn run(root: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // The environment for `${VAR}` in configuration files. A program would use the
    // default, the process environment.
    let env = BTreeMap::from([
        ("DB_HOST".to_owned(), "db.internal".to_owned()),
        ("DB_PASSWORD".to_owned(), "hunter2".to_owned()),
    ]);
    let store = Store::builder().env(env).open(root)?;

    println!("== validate: every problem of every file, file:line:col");
    println!("{}\n", store.validate()?);

    // Fix the mistake, as a person would in an editor.
    fs::write(root.join("services/web.yaml"), "name: web\nport: 8080\n")?;
    println!("after the fix: {}\n", store.validate()?);

    println!("== plan: one graph across todo.md and ci.tasks.yaml");
    let plan = store.plan()?;
    print!("{plan}");
    if let Some(next) = plan.next_task() {
        println!("next: {} ({})\n", next.task.title, next.location);
    }

    println!("== reads: parsed once per content change");
    let todo = store.task_file("todo.md")?;
    println!(
        "todo.md holds {} tasks; {:?}\n",
        todo.tasks().len(),
        store.read_stats()
    );

    println!("== configuration: base.yaml then production.yaml, ${{VAR}} resolved");
    let app = store.config("app")?;
    println!("{}", serde_json::to_string_pretty(&app.masked())?);
    println!("{}", app.explain("database.pool")?);
    println!("{}", app.explain("database.password")?);
    Ok(())
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
