//! `ssot-core` as the one dependency: the leaf crates under `ssot_core::*` and a
//! prelude.
#![cfg(all(
    feature = "store",
    feature = "lock",
    feature = "version",
    feature = "cache"
))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ssot_core::prelude::*;

#[test]
fn the_leaf_crates_are_reexported() {
    let mut g = ssot_core::graph::DepGraph::new();
    g.add_node("a").unwrap();
    assert_eq!(g.ready(), [&"a"]);

    let cache: ssot_core::cache::MemoryCache<u32, u32> = ssot_core::cache::MemoryCache::new(8);
    cache.insert(1, 2);
    assert_eq!(cache.get(&1), Some(2));

    let mut registry = ssot_core::schema::SchemaRegistry::new();
    registry.register_builtins().unwrap();
    assert!(registry.contains(ssot_core::schema::builtin::TASK_LIST));

    let locks: ssot_core::lock::LockManager<String> = ssot_core::lock::LockManager::new();
    drop(locks);

    let dir = tempfile::tempdir().unwrap();
    let versions = ssot_core::version::VersionStore::open(dir.path());
    assert!(versions.is_ok());
}

#[test]
fn the_prelude_names_the_model_and_the_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("todo.md"), "- [ ] Write 🆔 write\n").unwrap();
    let store: Store = Store::open(dir.path()).unwrap();
    let plan: Plan = store.plan().unwrap();
    let next: &PlannedTask = plan.next_task().unwrap();
    let task: &Task = &next.task;
    assert_eq!(task.id, TaskId::new("write").unwrap());
    assert_eq!(task.status(), Status::Pending);
    assert_eq!(task.priority, Priority::Normal);
    let report: Report = store.validate().unwrap();
    assert!(report.is_valid());
    let _: Option<Format> = Format::from_path("x.md");
    let _ = TaskQueue::new();
    let _: Result<(), Error> = Ok(());
}
