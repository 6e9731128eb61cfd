//! Version a directory of task files: snapshot it, see what drifted, compare two
//! versions, roll back (and undo the rollback), tag a release, prune old versions and
//! check the store.
//!
//! Run from the repository root: `cargo run -p ssot-examples --example snapshots`
//! (it works in a fresh directory under the system's temporary directory, and
//! removes it at the end).

// An example talks to its user on the terminal.
#![allow(clippy::print_stdout)]

use std::fs;
use std::path::Path;

use ssot_version::{PrunePolicy, VersionStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::temp_dir().join(format!("ssot-snapshots-example-{}", std::process::id()));
    fs::create_dir_all(root.join("tasks"))?;
    let result = run(&root);
    fs::remove_dir_all(&root)?;
    result
}

fn run(root: &Path) -> Result<(), Box<dyn std::error::Error>> {
    fs::write(
        root.join("tasks/today.md"),
        "- [ ] write the report\n- [ ] send it\n",
    )?;
    fs::write(root.join("config.yaml"), "retries: 3\n")?;
    fs::write(root.join("scratch.log"), "not worth versioning\n")?;

    // The store lives in `<root>/.ssot/versions`. Log files are not tracked: they are
    // neither snapshotted nor touched by a rollback.
    let store = VersionStore::builder(root).exclude("**/*.log").open()?;
    let first = store.snapshot("morning")?;
    println!(
        "snapshot {} ({} files)",
        first.id().short(),
        first.files().len()
    );
    store.tag(first.id().as_str(), "v-morning")?;

    // Work happens; `status` shows the drift from the newest version.
    fs::write(
        root.join("tasks/today.md"),
        "- [x] write the report\n- [ ] send it\n",
    )?;
    fs::write(root.join("tasks/tomorrow.md"), "- [ ] plan the week\n")?;
    fs::remove_file(root.join("config.yaml"))?;
    let drift = store.status()?;
    println!(
        "drift: added {:?}, removed {:?}, modified {:?}",
        drift.added, drift.removed, drift.modified
    );
    let second = store.snapshot("afternoon")?;

    // Compare by tag, full id or any unique id prefix.
    let diff = store.diff("v-morning", second.id().short())?;
    println!("morning -> afternoon: {} paths changed", diff.len());

    // Roll back to the morning. The rollback is journaled (a crash cannot leave a mix
    // of both versions) and recorded as a new version, so it can be undone.
    let rollback = store.rollback("v-morning")?;
    println!(
        "rolled back as version {}: today.md reads {:?}; tomorrow.md exists: {}",
        rollback.id().short(),
        fs::read_to_string(root.join("tasks/today.md"))?,
        root.join("tasks/tomorrow.md").exists()
    );
    println!(
        "scratch.log is untouched: {:?}",
        fs::read_to_string(root.join("scratch.log"))?
    );
    store.rollback(second.id().as_str())?;
    println!(
        "undone: tomorrow.md exists again: {}",
        root.join("tasks/tomorrow.md").exists()
    );

    println!("\nhistory, newest first:");
    for v in store.history()? {
        let restored = v
            .restored_from()
            .map(|id| format!(" (restores {})", id.short()))
            .unwrap_or_default();
        println!("  {}  {}{restored}", v.id().short(), v.description());
    }

    // Keep the last two versions and anything tagged; free the rest.
    let report = store.prune(&PrunePolicy::new().keep_last(2))?;
    println!(
        "\npruned {} versions, freed {} objects ({} bytes)",
        report.removed_versions.len(),
        report.removed_objects,
        report.freed_bytes
    );
    let check = store.verify()?;
    println!(
        "verify: {} objects and {} versions checked, {} problems",
        check.objects_checked,
        check.versions_checked,
        check.problems.len()
    );
    Ok(())
}
