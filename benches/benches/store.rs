//! The SSOT store (`ssot_core::store`): open, validate and plan; cached and cold
//! reads; durable status changes, beside SQLite (`rusqlite`) and TaskChampion.
//!
//! The store under test is generated: 10,000 tasks across 100 files, 25 of each
//! format (Markdown, YAML, JSON, CSV), 100 tasks per file. Task `t{n}` depends on
//! `t{n-1}` within its file, every seventh task also on a task of the previous file
//! (so dependencies cross files and formats), every third task has an estimate, and
//! the first 40 tasks of each file are done. Every file's modification time is set an
//! hour back, out of the store's racy window, as for files that are not being edited.
//!
//! Workloads:
//!
//! - `store_open_plan/cold_open_plan`: `Store::open` + `plan()`, a new `Store` each
//!   iteration (no parse cached in the process; the OS page cache is warm). The
//!   issue's goal: under 100 ms.
//! - `store_open_plan/cold_open_validate_plan`: the same with `validate()` between.
//! - `store_open_plan/warm_validate_plan`: `validate()` + `plan()` on one open store
//!   whose cache holds every file: two directory walks, a `stat` per file, the plan
//!   built twice (validation builds it to find cycles and unknown dependencies).
//! - `store_open_plan/warm_plan`: `plan()` alone on that store.
//! - `store_read/cached`: `Store::task_file` of one unchanged 100-task Markdown file
//!   already in the cache: the goal: under 1 µs.
//! - `store_read/stat_floor`: `std::fs::metadata` of that file alone, the one system
//!   call such a read makes (its freshness check): the floor under `cached`.
//! - `store_read/cold_{markdown,yaml,json,csv}`: the same read on a store just
//!   opened (open not timed): `stat`, read, hash, parse, locate each task's line.
//! - `durable_status/*`: one durable status change, and a transaction of 100
//!   status changes, on a 10,000-task data set:
//!   - `ssot_*`: `Store::set_status` (pending <-> in progress) on the generated
//!     store, cycling over one task in each file; `Store::transaction()` of 100
//!     `set_status` (10 tasks in each of 10 files) and `commit()`. Each is validated,
//!     locked, written in place, made durable, audited and given a revision;
//!   - `sqlite_*`: `rusqlite` (bundled SQLite), WAL, `synchronous=FULL`, a
//!     10,000-row table with a primary key; `UPDATE tasks SET status = ?1 WHERE id = ?2
//!     AND status <> ?1` in autocommit (single) or in one `BEGIN IMMEDIATE`
//!     transaction (100 rows), each asserted to change its row. Every update must
//!     change the row: SQLite writes and syncs nothing for a commit that changed no
//!     page, and an earlier version of this benchmark, whose statuses repeated after
//!     the first pass over the table, measured mostly such empty commits (4 µs, no
//!     fsync; checked with `strace -f -c -e trace=fsync,fdatasync`: one `fsync` of
//!     the WAL per durable commit now). Each workload has its own database;
//!   - `taskchampion_*`: a TaskChampion 3 replica (its SQLite storage, as Taskwarrior
//!     3 uses it) of 10,000 tasks; `Task::set_status` and `Replica::commit_operations`
//!     of one task's change (single) or of 100 tasks' changes in one `Operations`
//!     (100). TaskChampion's storage opens SQLite in WAL mode and leaves
//!     `synchronous` at SQLite's default, FULL, so each commit is durable.
//!
//! Run: `cargo bench -p ssot-benches --bench store -- FILTER` (e.g. `store_read`).

// A benchmark's setup failing is a bug in the benchmark: stop loudly.
#![allow(clippy::expect_used, missing_docs)]

use std::fs::{self, File, FileTimes};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ssot_core::format::{self, Format, TaskList};
use ssot_core::store::Store;
use ssot_core::{Status, Task, TaskId};
use tempfile::TempDir;

const FILES: usize = 100;
const PER_FILE: usize = 100;
const TASKS: usize = FILES * PER_FILE;

const FORMATS: [(Format, &str); 4] = [
    (Format::Markdown, "md"),
    (Format::Yaml, "tasks.yaml"),
    (Format::Json, "tasks.json"),
    (Format::Csv, "tasks.csv"),
];

fn file_name(f: usize) -> String {
    let ext = FORMATS[f % FORMATS.len()].1;
    format!("area{:02}/list{f:03}.{ext}", f / 10)
}

fn id(n: usize) -> TaskId {
    TaskId::new(format!("t{n}")).expect("a valid id")
}

/// The tasks of file `f`.
fn tasks_of(f: usize) -> Vec<Task> {
    (0..PER_FILE)
        .map(|i| {
            let n = f * PER_FILE + i;
            let mut task = Task::new(id(n), format!("Task number {n} of list {f}"));
            if i > 0 {
                task.dependencies.push(id(n - 1));
            }
            if f > 0 && i % 7 == 0 {
                task.dependencies.push(id(n - PER_FILE + 50));
            }
            if i % 3 == 0 {
                task.estimated_time = Some(Duration::from_secs(60 * (1 + (n as u64 % 90))));
            }
            if i < 40 {
                task = task.with_status(Status::Done);
            }
            task
        })
        .collect()
}

/// Writes the 10,000-task store into a new directory, every file aged an hour.
fn generate_store() -> TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for f in 0..FILES {
        let (fmt, _) = FORMATS[f % FORMATS.len()];
        let text = format::render(fmt, &TaskList::new(tasks_of(f))).expect("renders");
        let path = dir.path().join(file_name(f));
        fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        fs::write(&path, text).expect("write");
        age(&path, hour_ago);
    }
    dir
}

fn age(path: &Path, when: SystemTime) {
    let file = File::options().write(true).open(path).expect("open");
    file.set_times(FileTimes::new().set_modified(when))
        .expect("set mtime");
}

/// A value built the first time a benchmark that needs it runs: criterion skips the
/// closures of filtered-out benchmarks, so their setup is never paid.
struct Lazy<T>(std::cell::OnceCell<T>, fn() -> T);

impl<T> Lazy<T> {
    fn new(make: fn() -> T) -> Lazy<T> {
        Lazy(std::cell::OnceCell::new(), make)
    }
    fn get(&self) -> &T {
        self.0.get_or_init(self.1)
    }
}

/// The generated store, checked once: 10,000 tasks, a valid plan, no problem.
fn checked_store() -> TempDir {
    let dir = generate_store();
    let store = Store::open(dir.path()).expect("opens");
    assert_eq!(store.plan().expect("plans").len(), TASKS);
    assert!(store.validate().expect("validates").problems().is_empty());
    dir
}

fn open_plan(c: &mut Criterion) {
    let dir = Lazy::new(checked_store);
    let mut g = c.benchmark_group("store_open_plan");
    g.throughput(Throughput::Elements(TASKS as u64));
    g.sample_size(10);
    g.bench_function("cold_open_plan", |b| {
        let dir = dir.get().path();
        b.iter(|| {
            let store = Store::open(dir).expect("opens");
            black_box(store.plan().expect("plans"))
        });
    });
    g.bench_function("cold_open_validate_plan", |b| {
        let dir = dir.get().path();
        b.iter(|| {
            let store = Store::open(dir).expect("opens");
            let report = store.validate().expect("validates");
            assert!(report.problems().is_empty());
            black_box(store.plan().expect("plans"))
        });
    });
    g.bench_function("warm_validate_plan", |b| {
        let store = Store::open(dir.get().path()).expect("opens");
        store.plan().expect("plans");
        b.iter(|| {
            let report = store.validate().expect("validates");
            assert!(report.problems().is_empty());
            black_box(store.plan().expect("plans"))
        });
    });
    g.bench_function("warm_plan", |b| {
        let store = Store::open(dir.get().path()).expect("opens");
        store.plan().expect("plans");
        b.iter(|| black_box(store.plan().expect("plans")));
    });
    g.finish();
}

fn read(c: &mut Criterion) {
    let dir = Lazy::new(generate_store);
    let mut g = c.benchmark_group("store_read");
    g.bench_function("cached", |b| {
        let store = Store::open(dir.get().path()).expect("opens");
        let md = file_name(0);
        assert_eq!(store.task_file(&md).expect("reads").tasks().len(), PER_FILE);
        b.iter(|| black_box(store.task_file(black_box(&md)).expect("reads")));
        assert_eq!(store.read_stats().parses, 1, "the cached read parsed again");
    });
    g.bench_function("stat_floor", |b| {
        // The one system call a read that is never stale must make: the floor
        // under `cached`.
        let path = dir.get().path().join(file_name(0));
        b.iter(|| black_box(fs::metadata(black_box(&path)).expect("stat")));
    });
    for (f, (_, name)) in FORMATS.iter().enumerate() {
        let path = file_name(f);
        let name = name.rsplit('.').next().unwrap_or(name);
        let label = match name {
            "md" => "markdown",
            other => other,
        };
        g.bench_function(format!("cold_{label}"), |b| {
            let dir = dir.get().path();
            b.iter_batched(
                || Store::open(dir).expect("opens"),
                |store| {
                    black_box(store.task_file(&path).expect("reads"));
                    store
                },
                BatchSize::PerIteration,
            );
        });
    }
    g.finish();
}

/// The tasks a single change cycles through: pending ones (index 40 and up in
/// their file), spread over every file.
fn single_ids() -> Vec<String> {
    (0..FILES)
        .map(|f| format!("t{}", f * PER_FILE + 40 + (f * 37) % 60))
        .collect()
}

/// The 100 tasks of a transaction: 10 pending tasks in each of 10 files, none of
/// them one that `single_ids` changes.
fn transaction_ids() -> Vec<String> {
    (0..10)
        .flat_map(|f| {
            let file = f * 10;
            (50..)
                .filter(move |&o| o != 40 + (file * 37) % 60)
                .take(10)
                .map(move |o| format!("t{}", file * PER_FILE + o))
        })
        .collect()
}

/// The generated store, opened, with one change made (the first revision also
/// records a baseline of every file).
fn changing_store() -> (TempDir, Store) {
    let dir = checked_store();
    let store = Store::open(dir.path()).expect("opens");
    let first = single_ids().pop().expect("ids");
    let one = store
        .set_status(&first, Status::InProgress)
        .expect("first change");
    let two = store.set_status(&first, Status::Pending).expect("back");
    assert_eq!(two.revision, one.revision + 1);
    (dir, store)
}

fn durable_ssot(c: &mut Criterion) {
    let store = Lazy::new(changing_store);
    let mut g = c.benchmark_group("durable_status");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    // Criterion calls a benchmark's closure several times (warm-up, samples): the
    // counters live outside it, so that every change moves a task to the status it
    // does not have, and writes.
    let ids = single_ids();
    let mut j = 0usize;
    g.bench_function("ssot_single", |b| {
        let (_, store) = store.get();
        b.iter(|| {
            // Each task goes pending -> in progress on even passes over the list,
            // and back on odd ones: every change writes.
            let to = if (j / ids.len()).is_multiple_of(2) {
                Status::InProgress
            } else {
                Status::Pending
            };
            let commit = store.set_status(&ids[j % ids.len()], to).expect("change");
            assert!(commit.records.iter().all(|r| r.before != r.after));
            j += 1;
            black_box(commit)
        });
    });
    g.throughput(Throughput::Elements(100));
    let ids = transaction_ids();
    let mut round = 0usize;
    g.bench_function("ssot_transaction_100", |b| {
        let (_, store) = store.get();
        b.iter(|| {
            let to = if round.is_multiple_of(2) {
                Status::InProgress
            } else {
                Status::Pending
            };
            round += 1;
            let mut tx = store.transaction();
            for id in &ids {
                tx = tx.set_status(id, to);
            }
            let commit = tx.commit().expect("commit");
            assert!(commit.records.iter().all(|r| r.before != r.after));
            black_box(commit)
        });
    });
    g.finish();
}

/// The statuses a durable SQLite change alternates between.
const FLIP: [&str; 2] = ["in_progress", "pending"];

fn sqlite_db() -> (TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let conn = rusqlite::Connection::open(dir.path().join("tasks.sqlite")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("WAL");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("FULL");
    conn.execute_batch(
        "CREATE TABLE tasks (id TEXT PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL, \
         dependencies TEXT NOT NULL);",
    )
    .expect("create");
    let tx = conn.unchecked_transaction().expect("begin");
    {
        let mut insert = tx
            .prepare("INSERT INTO tasks VALUES (?1, ?2, 'pending', ?3)")
            .expect("prepare");
        for n in 0..TASKS {
            let deps = if n > 0 {
                format!("t{}", n - 1)
            } else {
                String::new()
            };
            insert
                .execute((format!("t{n}"), format!("Task number {n}"), deps))
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
    let synchronous: i64 = conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .expect("synchronous");
    assert_eq!(synchronous, 2, "synchronous=FULL");
    (dir, conn)
}

/// Changes the status of a row that holds the other one, or fails: an update that
/// changes nothing is not a durable change (see the module docs).
const UPDATE: &str = "UPDATE tasks SET status = ?1 WHERE id = ?2 AND status <> ?1";

fn durable_sqlite(c: &mut Criterion) {
    let single = Lazy::new(sqlite_db);
    let batch = Lazy::new(sqlite_db);
    let mut g = c.benchmark_group("durable_status");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    // Update `i` visits row `i * 7919 mod TASKS` (each row once per pass over the
    // table) and sets the status of pass `i / TASKS`, which alternates. The counter
    // lives outside the closure, which criterion calls several times.
    let mut i = 0usize;
    g.bench_function("sqlite_single", |b| {
        let (_, conn) = single.get();
        let mut update = conn.prepare(UPDATE).expect("prepare");
        b.iter(|| {
            let n = update
                .execute((FLIP[(i / TASKS) % 2], format!("t{}", (i * 7919) % TASKS)))
                .expect("update");
            assert_eq!(n, 1, "update {i} changed no row");
            i += 1;
        });
    });
    g.throughput(Throughput::Elements(100));
    // Round `r` changes the 100 rows from `100 r mod TASKS`, to the status of its
    // pass over the table.
    let mut round = 0usize;
    g.bench_function("sqlite_transaction_100", |b| {
        let (_, conn) = batch.get();
        b.iter(|| {
            let first = round * 100;
            round += 1;
            conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
            {
                let mut update = conn.prepare_cached(UPDATE).expect("prepare");
                for k in 0..100 {
                    let n = update
                        .execute((
                            FLIP[((first + k) / TASKS) % 2],
                            format!("t{}", (first + k) % TASKS),
                        ))
                        .expect("update");
                    assert_eq!(n, 1, "round {round}, row {k} changed no row");
                }
            }
            conn.execute_batch("COMMIT").expect("commit");
        });
    });
    g.finish();
}

type Champion = (
    tokio::runtime::Runtime,
    TempDir,
    std::cell::RefCell<taskchampion::Replica<taskchampion::SqliteStorage>>,
    Vec<taskchampion::Uuid>,
);

fn taskchampion_replica() -> Champion {
    use taskchampion::storage::AccessMode;
    use taskchampion::{Operations, Replica, SqliteStorage, Uuid};

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let (replica, uuids) = rt.block_on(async {
        let storage = SqliteStorage::new(dir.path(), AccessMode::ReadWrite, true)
            .await
            .expect("storage");
        let mut replica = Replica::new(storage);
        let mut ops = Operations::new();
        let mut uuids = Vec::with_capacity(TASKS);
        for n in 0..TASKS {
            let uuid = Uuid::new_v4();
            let mut task = replica.create_task(uuid, &mut ops).await.expect("create");
            task.set_description(format!("Task number {n}"), &mut ops)
                .expect("description");
            task.set_status(taskchampion::Status::Pending, &mut ops)
                .expect("status");
            uuids.push(uuid);
        }
        replica.commit_operations(ops).await.expect("commit");
        assert_eq!(replica.all_task_uuids().await.expect("uuids").len(), TASKS);
        (replica, uuids)
    });
    (rt, dir, std::cell::RefCell::new(replica), uuids)
}

fn flip(s: taskchampion::Status) -> taskchampion::Status {
    if s == taskchampion::Status::Pending {
        taskchampion::Status::Completed
    } else {
        taskchampion::Status::Pending
    }
}

fn durable_taskchampion(c: &mut Criterion) {
    use taskchampion::Operations;

    let champion = Lazy::new(taskchampion_replica);
    let mut g = c.benchmark_group("durable_status");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    g.bench_function("taskchampion_single", |b| {
        let (rt, _, replica, uuids) = champion.get();
        let mut replica = replica.borrow_mut();
        let mut i = 0usize;
        b.iter(|| {
            i += 1;
            rt.block_on(async {
                let uuid = uuids[(i * 7919) % TASKS];
                let mut ops = Operations::new();
                let mut task = replica.get_task(uuid).await.expect("get").expect("exists");
                let to = flip(task.get_status());
                task.set_status(to, &mut ops).expect("status");
                replica.commit_operations(ops).await.expect("commit");
            });
        });
    });
    g.throughput(Throughput::Elements(100));
    g.bench_function("taskchampion_transaction_100", |b| {
        let (rt, _, replica, uuids) = champion.get();
        let mut replica = replica.borrow_mut();
        let mut round = 0usize;
        b.iter(|| {
            round += 1;
            rt.block_on(async {
                let mut ops = Operations::new();
                for k in 0..100 {
                    let uuid = uuids[(k * 97 + round) % TASKS];
                    let mut task = replica.get_task(uuid).await.expect("get").expect("exists");
                    let to = flip(task.get_status());
                    task.set_status(to, &mut ops).expect("status");
                }
                replica.commit_operations(ops).await.expect("commit");
            });
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = open_plan, read, durable_ssot, durable_sqlite, durable_taskchampion
}
criterion_main!(benches);
