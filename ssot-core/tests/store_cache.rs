//! Reads through the cache: a file is parsed once per content change, and a change
//! made behind the store's back is seen on the next read.
#![cfg(feature = "store")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod store_common;

use std::fs::{File, FileTimes};
use std::time::{Duration, SystemTime};

use ssot_core::store::{ReadStats, Store};
use store_common::{copy_of, write};

/// Sets the file's modification time `ago` in the past, out of the racy window.
fn age(path: &std::path::Path, ago: Duration) -> SystemTime {
    let when = SystemTime::now() - ago;
    let file = File::options().write(true).open(path).unwrap();
    file.set_times(FileTimes::new().set_modified(when)).unwrap();
    when
}

fn stats(store: &Store) -> (u64, u64, u64) {
    let ReadStats {
        fresh_hits,
        unchanged_rereads,
        parses,
        ..
    } = store.read_stats();
    (parses, unchanged_rereads, fresh_hits)
}

#[test]
fn the_store_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Store>();
}

#[test]
fn a_file_is_parsed_once_and_then_served_from_the_cache() {
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    let todo = dir.path().join("todo.md");
    age(&todo, Duration::from_secs(3600));
    let first = store.task_file("todo.md").unwrap();
    for _ in 0..10 {
        let again = store.task_file("todo.md").unwrap();
        // The very same parse is handed out.
        assert!(std::sync::Arc::ptr_eq(&first, &again));
    }
    assert_eq!(stats(&store), (1, 0, 10));
    assert!(store.cache_stats().hits >= 10);
}

#[test]
fn a_recently_written_file_is_rehashed_but_not_reparsed() {
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    // Just written (the copy): inside the racy window, so every read re-reads and
    // hashes the bytes, and finds them unchanged.
    write(dir.path(), "todo.md", "- [ ] Fresh 🆔 fresh\n");
    store.task_file("todo.md").unwrap();
    store.task_file("todo.md").unwrap();
    store.task_file("todo.md").unwrap();
    assert_eq!(stats(&store), (1, 2, 0));
}

#[test]
fn an_outside_edit_is_seen_on_the_next_read() {
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    let path = dir.path().join("todo.md");
    age(&path, Duration::from_secs(3600));
    assert_eq!(store.task_file("todo.md").unwrap().tasks().len(), 4);
    assert_eq!(store.plan().unwrap().len(), 7);

    write(dir.path(), "todo.md", "- [ ] Replaced 🆔 replaced\n");
    let now = store.task_file("todo.md").unwrap();
    assert_eq!(now.tasks().len(), 1);
    assert_eq!(now.tasks()[0].id, "replaced");
    // The plan sees it too (and `ship`, `build` are gone, so `test` is now broken).
    assert!(store.plan().is_err());
}

#[test]
fn touching_a_file_without_changing_it_does_not_reparse_it() {
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    let path = dir.path().join("todo.md");
    age(&path, Duration::from_secs(3600));
    store.task_file("todo.md").unwrap();
    age(&path, Duration::from_secs(1800));
    store.task_file("todo.md").unwrap();
    assert_eq!(stats(&store), (1, 1, 0));
}

#[cfg(unix)]
#[test]
fn a_same_size_edit_that_restores_the_mtime_is_still_seen() {
    // The size and modification time say nothing changed; the inode's change time
    // (which no user call can set back) says otherwise.
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    let path = dir.path().join("backlog.yaml");
    let when = age(&path, Duration::from_secs(3600));
    let before = store.task_file("backlog.yaml").unwrap();
    assert_eq!(before.tasks()[0].title, "Polish the UI");

    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace("Polish the UI", "Polish the UX");
    assert_eq!(edited.len(), text.len());
    std::fs::write(&path, &edited).unwrap();
    let file = File::options().write(true).open(&path).unwrap();
    file.set_times(FileTimes::new().set_modified(when)).unwrap();
    drop(file);

    assert_eq!(
        store.task_file("backlog.yaml").unwrap().tasks()[0].title,
        "Polish the UX"
    );
}

#[test]
fn a_deleted_file_is_an_error_naming_it_and_is_forgotten() {
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    store.task_file("todo.md").unwrap();
    std::fs::remove_file(dir.path().join("todo.md")).unwrap();
    let err = store.task_file("todo.md").unwrap_err().to_string();
    assert!(err.starts_with("todo.md: cannot read: "), "{err}");
    write(dir.path(), "todo.md", "- [ ] Back 🆔 back\n");
    assert_eq!(store.task_file("todo.md").unwrap().tasks()[0].id, "back");
}

#[test]
fn validate_and_plan_share_the_cached_parses() {
    let dir = copy_of("basic");
    let env = std::collections::BTreeMap::from([("DB_HOST".to_owned(), "db".to_owned())]);
    let store = Store::builder().env(env).open(dir.path()).unwrap();
    assert!(store.validate().unwrap().is_valid());
    let parsed = store.read_stats().parses;
    // 4 files of the walk and 2 configuration files.
    assert_eq!(parsed, 6);
    store.plan().unwrap();
    assert!(store.validate().unwrap().is_valid());
    assert_eq!(store.read_stats().parses, parsed);
}
