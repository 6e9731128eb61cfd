//! Several threads edit one task file safely: each takes a Write lock (in this process
//! and, through a lock file, against other processes), reads, prepares its change while
//! readers keep reading, upgrades to Exclusive, and writes. Then a deadlock between two
//! sessions is reported as an error instead of a hang, a timeout is shown, and the
//! manager's statistics are printed.
//!
//! Run from the repository root: `cargo run -p ssot-examples --example locking`
//! (it works in a fresh directory under the system's temp dir and removes it).

// An example talks to its user on the terminal.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::Duration;

use ssot_lock::{Error, LockKind, LockManager, Owner};

const WORKERS: usize = 4;
const EDITS: usize = 25;

/// One edit: read the file, prepare the new text, commit it.
fn append_task(locks: &LockManager<PathBuf>, file: &Path, line: &str) -> Result<(), Error> {
    let lock_file = file.with_extension("md.lock");
    // Write: one writer at a time here and in other processes; readers still read.
    let mut guard = locks
        .request(file, LockKind::Write)
        .acquire_with_file(lock_file)?;
    let mut text = std::fs::read_to_string(file).map_err(|source| io(file, source))?;
    text.push_str(line);
    // Commit: wait for current readers to finish; new ones queue behind us.
    guard.upgrade()?;
    std::fs::write(file, text).map_err(|source| io(file, source))?;
    Ok(())
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        action: "read or write",
        source,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("ssot-locking-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("tasks.md");
    std::fs::write(&file, "# Tasks\n")?;
    let locks = LockManager::<PathBuf>::new();

    // 1. Writers and a reader at work on the same file.
    std::thread::scope(|s| -> Result<(), Error> {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (locks, file) = (&locks, &file);
                s.spawn(move || {
                    for i in 0..EDITS {
                        append_task(locks, file, &format!("- [ ] task {w}-{i}\n"))?;
                    }
                    Ok::<_, Error>(())
                })
            })
            .collect();
        let reader = s.spawn(|| -> Result<usize, Error> {
            let mut reads = 0;
            loop {
                let guard = locks.lock(&file, LockKind::Read)?;
                let text = std::fs::read_to_string(&file).map_err(|source| io(&file, source))?;
                reads += 1;
                if text.lines().count() == 1 + WORKERS * EDITS {
                    return Ok(reads);
                }
                drop(guard);
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        for w in workers {
            w.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        }
        let reads = reader
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        println!(
            "{WORKERS} writers made {} edits; a reader read the file {reads} times meanwhile",
            WORKERS * EDITS
        );
        Ok(())
    })?;
    let lines = std::fs::read_to_string(&file)?.lines().count();
    println!(
        "tasks.md has {lines} lines (1 heading + {} tasks): no edit lost",
        WORKERS * EDITS
    );

    // 2. Two sessions take two files in opposite order: one gets a Deadlock error.
    let (a, b) = (dir.join("a.md"), dir.join("b.md"));
    let barrier = Barrier::new(2);
    let session = |first: &Path, second: &Path| -> Result<(), Error> {
        let owner = Owner::new();
        let _first = locks
            .request(first, LockKind::Exclusive)
            .owner(owner)
            .acquire()?;
        barrier.wait();
        let _second = locks
            .request(second, LockKind::Exclusive)
            .owner(owner)
            .acquire()?;
        Ok(())
    };
    let results = std::thread::scope(|s| {
        let one = s.spawn(|| session(&a, &b));
        let two = s.spawn(|| session(&b, &a));
        [one.join(), two.join()]
    });
    for result in results {
        match result.unwrap_or_else(|p| std::panic::resume_unwind(p)) {
            Ok(()) => println!("one session got both files"),
            Err(e) => println!("the other was refused:\n  {e}"),
        }
    }

    // 3. A bounded wait.
    let held = locks
        .request(&file, LockKind::Exclusive)
        .owner(Owner::new())
        .acquire()?;
    match locks.lock_timeout(&file, LockKind::Read, Duration::from_millis(10)) {
        Err(e @ Error::Timeout { .. }) => println!("as expected: {e}"),
        other => println!("unexpected: {other:?}"),
    }
    drop(held);

    let stats = locks.stats();
    println!(
        "statistics: {} acquisitions, {} upgrades, {} contended, {} timeouts, {} deadlocks, {:?} spent waiting",
        stats.acquisitions,
        stats.upgrades,
        stats.contended,
        stats.timeouts,
        stats.deadlocks,
        stats.wait_time
    );
    println!("keys still taking memory: {}", locks.active_keys());

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
