//! Validate the five registry documents and a task list against the built-in schemas,
//! then validate a copy with typical mistakes and print where each one is, first for
//! a terminal (`file:line:col: message`), then as JSON for tools.
//!
//! Run from the repository root: `cargo run -p ssot-examples --example validate`
//! (or `cargo run -p ssot-examples --example validate -- SCHEMA FILE...` to check your
//! own files, e.g. `-- ssot/task-list tasks.yaml`).

// An example talks to its user on the terminal.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use ssot_schema::{SchemaRegistry, builtin};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One call registers the built-in schemas; each is compiled once, here.
    let mut registry = SchemaRegistry::new();
    registry.register_builtins()?;

    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [schema, files @ ..] = args.as_slice() {
        let mut all_valid = true;
        for file in files {
            let report = registry.validate_file(schema, file)?;
            all_valid &= report.is_valid();
            println!("{report}");
        }
        if !all_valid {
            std::process::exit(1);
        }
        return Ok(());
    }

    // 1. The example documents shipped with the repository validate.
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/registries");
    for (schema, file) in [
        (builtin::AUTOMATION_REGISTRY, "automation.yaml"),
        (builtin::PIPELINE_REGISTRY, "pipeline.yaml"),
        (builtin::ORCHESTRATION_REGISTRY, "orchestration.yaml"),
        (builtin::MONITORING_REGISTRY, "monitoring.yaml"),
        (builtin::SECURITY_REGISTRY, "security.yaml"),
        (builtin::TASK_LIST, "tasks.yaml"),
    ] {
        let report = registry.validate_file(schema, data.join(file))?;
        println!(
            "{:<20} {}",
            file,
            if report.is_valid() {
                "valid"
            } else {
                "INVALID"
            }
        );
        if !report.is_valid() {
            println!("{report}");
        }
    }

    // 2. A copy of the automation registry with the mistakes people make, written to
    //    a temporary directory (never into the repository).
    let original = std::fs::read_to_string(data.join("automation.yaml"))?;
    let broken = original
        .replacen("retry_policy: linear", "retry_policy: exponential", 1)
        .replacen("timeout: 600", "timeout: -600", 1)
        .replacen("interval: 10m", "interval: 10 minutes", 1)
        .replacen("retention: 14d", "retension: 14d", 1);
    let dir = std::env::temp_dir().join(format!("ssot-validate-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("automation.yaml");
    std::fs::write(&path, broken)?;

    let report = registry.validate_file(builtin::AUTOMATION_REGISTRY, &path);
    // The report owns everything it shows: the copy can go now.
    std::fs::remove_dir_all(&dir)?;
    let report = report?;
    println!(
        "\n{} problems in the edited copy:\n{report}",
        report.errors().len()
    );

    // 3. The same report as JSON, for an editor plugin or a CI annotation.
    println!("\nas JSON:\n{:#}", report.to_json());
    Ok(())
}
