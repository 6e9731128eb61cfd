//! Several processes share a counter file under `FileLock`.
//!
//! The test re-executes its own binary (`std::env::current_exe()`) to run the ignored
//! test `child`, selected with `--exact --ignored` and told what to do through the
//! `SSOT_LOCK_CHILD` variable. Writers increment the counter many times each, some
//! through `FileLock` directly (Write then upgrade, Exclusive, and the timed forms),
//! some through a `LockManager` with two threads and `acquire_with_file`. Readers read
//! under a shared lock, checking every time that the file is whole. The counter is
//! written in several pieces with a truncation first, so a reader that ran beside a
//! writer would see a short or mixed file. The final count must be exact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ssot_lock::LockKind::{Exclusive, Read, Write};
use ssot_lock::{Error, FileLock, LockManager};

const CHILD_ENV: &str = "SSOT_LOCK_CHILD";
const LINES: usize = 64;
const INCREMENTS: u64 = 60;
const TARGET_ENV: &str = "SSOT_LOCK_CHILD_TARGET";

fn counter_path(dir: &Path) -> PathBuf {
    dir.join("counter.txt")
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.join("counter.txt.lock")
}

/// The counter is `LINES` copies of its value, one per line.
fn write_counter(path: &Path, value: u64) {
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    let line = format!("{value:020}\n");
    for chunk in 0..4 {
        // Several writes with a yield between: a torn state is there to be seen.
        for _ in 0..LINES / 4 {
            file.write_all(line.as_bytes()).unwrap();
        }
        file.flush().unwrap();
        if chunk == 1 {
            std::thread::yield_now();
        }
    }
}

/// Reads the counter, panicking if the file is not whole.
fn read_counter(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), LINES, "torn write: {} lines", lines.len());
    assert!(
        lines.iter().all(|l| *l == lines[0]),
        "torn write: mixed lines"
    );
    lines[0].parse().unwrap()
}

fn increment_with_file_lock(dir: &Path, round: u64) {
    let mut lock = FileLock::open(lock_path(dir)).unwrap();
    let path = counter_path(dir);
    match round % 3 {
        0 => {
            let mut g = lock.lock(Write).unwrap();
            let value = read_counter(&path);
            g.upgrade().unwrap();
            write_counter(&path, value + 1);
        }
        1 => {
            let _g = lock.lock(Exclusive).unwrap();
            write_counter(&path, read_counter(&path) + 1);
        }
        _ => loop {
            // The polling forms; a timeout (unlikely with a minute) just retries.
            let mut g = match lock.lock_timeout(Write, Duration::from_secs(60)) {
                Ok(g) => g,
                Err(Error::Timeout { .. }) => continue,
                Err(e) => panic!("{e}"),
            };
            let value = read_counter(&path);
            match g.upgrade_timeout(Duration::from_secs(60)) {
                Ok(()) => {
                    write_counter(&path, value + 1);
                    break;
                }
                Err(Error::Timeout { .. }) => continue,
                Err(e) => panic!("{e}"),
            }
        },
    }
}

#[test]
#[ignore = "a child process of several_processes_count_exactly_and_readers_never_see_a_torn_write"]
fn child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return; // run by hand without the parent: nothing to do
    };
    let (role, dir) = spec.split_once(':').unwrap();
    let dir = Path::new(dir);
    match role {
        "writer" => {
            for round in 0..INCREMENTS {
                increment_with_file_lock(dir, round);
            }
        }
        "combined" => {
            let locks = LockManager::<String>::new();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..INCREMENTS / 2 {
                            let mut g = locks
                                .request("counter", Write)
                                .acquire_with_file(lock_path(dir))
                                .unwrap();
                            let value = read_counter(&counter_path(dir));
                            g.upgrade().unwrap();
                            write_counter(&counter_path(dir), value + 1);
                        }
                    });
                }
            });
        }
        "reader" => {
            // Reads until the writers are done, so that reads and writes overlap.
            let target: u64 = std::env::var(TARGET_ENV).unwrap().parse().unwrap();
            let mut lock = FileLock::open(lock_path(dir)).unwrap();
            let mut last = 0;
            let start = Instant::now();
            while last < target {
                // The writers finish in seconds; if one died, stop rather than spin on.
                assert!(
                    start.elapsed() < support::LIMIT,
                    "the counter stayed at {last} of {target}: a writer failed or hung"
                );
                let g = lock.lock(Read).unwrap();
                let value = read_counter(&counter_path(dir));
                drop(g);
                assert!(
                    value >= last,
                    "the counter went back from {last} to {value}"
                );
                last = value;
                std::thread::yield_now();
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

#[test]
fn several_processes_count_exactly_and_readers_never_see_a_torn_write() {
    let dir = tempfile::tempdir().unwrap();
    write_counter_new(&counter_path(dir.path()));
    let exe = std::env::current_exe().unwrap();
    let roles = [
        "writer", "writer", "combined", "combined", "reader", "reader",
    ];
    let writers = roles.iter().filter(|r| **r != "reader").count() as u64;
    let children: Vec<_> = roles
        .iter()
        .map(|role| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "child",
                    "--ignored",
                    "--test-threads=1",
                    "--quiet",
                ])
                .env(CHILD_ENV, format!("{role}:{}", dir.path().display()))
                .env(TARGET_ENV, (writers * INCREMENTS).to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    wait_for_all(children.into_iter().zip(roles).collect());
    assert_eq!(
        read_counter(&counter_path(dir.path())),
        writers * INCREMENTS
    );
}

fn write_counter_new(path: &Path) {
    std::fs::File::create(path).unwrap();
    write_counter(path, 0);
}

/// Waits for every child, at most [`support::LIMIT`] in all. On the first failure or
/// at the limit, kills the others (a reader waits for a count that a dead writer will
/// never reach) and fails, naming the child.
fn wait_for_all(mut children: Vec<(Child, &str)>) {
    let start = Instant::now();
    let mut failure = None;
    while !children.is_empty() && failure.is_none() {
        let mut k = 0;
        while k < children.len() {
            let (child, role) = &mut children[k];
            match child.try_wait().unwrap() {
                Some(status) if status.success() => {
                    children.swap_remove(k);
                }
                Some(status) => {
                    failure = Some(format!("{role} child failed: {status}"));
                    break;
                }
                None => k += 1,
            }
        }
        if failure.is_none() && start.elapsed() > support::LIMIT {
            let roles: Vec<&str> = children.iter().map(|(_, role)| *role).collect();
            failure = Some(format!(
                "children still running after {:?}: {roles:?}",
                support::LIMIT
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for (mut child, _) in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    if let Some(failure) = failure {
        panic!("{failure}");
    }
}
