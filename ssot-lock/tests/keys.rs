//! Key types: lookups borrow like `HashMap` (`K: Borrow<Q>`), a request that stores the
//! key takes any `&Q` whose owned form converts into `K`, and keys need `Debug` only
//! for the default way errors name them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ssot_lock::LockKind::{Exclusive, Read, Write};
use ssot_lock::{Error, LockManager, Owner};

#[test]
fn an_arc_str_manager_takes_str_keys_everywhere() {
    let locks = LockManager::<Arc<str>>::new();
    let held = locks.lock("tasks.md", Write).unwrap();
    let reader = locks
        .request("tasks.md", Read)
        .owner(Owner::new())
        .no_wait()
        .acquire()
        .unwrap();
    assert_eq!(locks.holders("tasks.md").len(), 2);
    assert!(locks.waiters("tasks.md").is_empty());
    let err = locks
        .request("tasks.md", Exclusive)
        .owner(Owner::new())
        .no_wait()
        .acquire()
        .unwrap_err();
    assert!(
        matches!(&err, Error::WouldBlock { resource, .. } if resource == "key \"tasks.md\""),
        "{err}"
    );
    // An `&Arc<str>` works too, and clones the `Arc` instead of copying the text.
    let shared: Arc<str> = Arc::from("index.md");
    drop(locks.try_lock(&shared, Exclusive).unwrap());
    drop((held, reader));
    assert_eq!(locks.active_keys(), 0);
}

#[test]
fn string_and_path_keys_take_borrowed_forms() {
    let strings = LockManager::<String>::new();
    drop(strings.lock("a", Read).unwrap());
    drop(strings.lock(&String::from("a"), Read).unwrap());
    let paths = LockManager::<PathBuf>::new();
    drop(paths.lock(Path::new("/tmp/a"), Read).unwrap());
    assert!(paths.holders(Path::new("/tmp/a")).is_empty());
}

/// Hash + Eq + Clone, and deliberately not Debug.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Account(u64);

#[test]
fn keys_need_not_be_debug_and_errors_name_them_as_told() {
    let locks = LockManager::<Account>::builder()
        .shards(2)
        .build_with_key_names(|a| format!("account {}", a.0));
    let (a, b) = (Owner::new(), Owner::new());
    let held = locks
        .request(&Account(7), Exclusive)
        .owner(a)
        .acquire()
        .unwrap();
    let err = locks
        .request(&Account(7), Read)
        .owner(b)
        .no_wait()
        .acquire()
        .unwrap_err();
    assert!(err.to_string().contains("account 7"), "{err}");
    let err = locks
        .request(&Account(7), Read)
        .owner(a)
        .acquire()
        .unwrap_err();
    assert!(
        matches!(&err, Error::AlreadyHeld { resource, .. } if resource == "account 7"),
        "{err}"
    );
    assert_eq!(locks.holders(&Account(7)), vec![(a, Exclusive)]);
    drop(held);
}
