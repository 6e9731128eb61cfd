//! Snapshots and rollbacks of a directory of 4 KiB files, beside git.
//!
//! Workloads, on identical trees (ours and git's are separate directories with the
//! same files; files are 4 KiB of deterministic pseudo-random text, 100 per
//! directory):
//!
//! - `snapshot_1000/first`: the first snapshot of 1,000 files.
//! - `snapshot_1000/unchanged`: a snapshot of the same, unchanged tree.
//! - `snapshot_1000/one_changed`: a snapshot after rewriting one file.
//! - `snapshot_10000/one_changed`: the same among 10,000 files.
//! - `rollback_1000/100_changed` and `rollback_1000/all_changed`: restoring the other
//!   of two versions of 1,000 files that differ in 100 (or all) files.
//! - `write/1_file`, `write/100_files` (and `_recorded`, with `record_version`):
//!   `VersionStore::write` of 1 or 100 files of 1 KiB over existing ones, all or
//!   nothing and durable (no git peer: git has no all-or-nothing multi-file write).
//! - `git_startup/version` and `git_startup/rev_parse`: what starting a git process
//!   costs on its own (`git --version`, and `git rev-parse HEAD` in the 1,000-file
//!   repository). git runs as processes and ours in-process, so every git row above
//!   includes this start-up once per process (twice for a snapshot: `add`, then
//!   `commit`; once for a rollback: `checkout`). BENCHMARKS.md gives the ratios both
//!   with and without it.
//!
//! Peers: `git add -A && git commit` and `git checkout <commit>`, run as processes the
//! way a user runs them, each in two configurations: `git` as it comes (no fsync of
//! objects or the index) and `git_fsync` with
//! `-c core.fsync=all -c core.fsyncMethod=fsync`. For the unchanged tree, where our
//! snapshot writes nothing and returns the newest version, git's `commit` is run
//! without `--allow-empty`, so it also refuses to record an empty commit (exit status
//! 1, "nothing to commit"); elsewhere `--allow-empty` changes nothing. Ours is always durable: a snapshot
//! fsyncs its pack, manifest, `HEAD` and their directories; a rollback fsyncs every
//! restored file, the journal and every touched directory. So `git_fsync` is the
//! like-for-like peer (and neither git configuration fsyncs the files `checkout`
//! writes into the working tree).
//!
//! Run: `cargo bench -p ssot-benches --bench version` (git 2.47 from
//! `/usr/local/bin/git`, `/usr/bin/git` or `PATH`).

// A benchmark's setup failing is a bug in the benchmark: stop loudly.
#![allow(clippy::expect_used, missing_docs)]

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ssot_version::VersionStore;
use tempfile::TempDir;

const FILE_SIZE: usize = 4096;

/// A deterministic pseudo-random sequence (64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn content(seed: u64) -> Vec<u8> {
    let mut rng = Lcg(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    (0..FILE_SIZE)
        .map(|i| {
            if i % 64 == 63 {
                b'\n'
            } else {
                b'a' + (rng.next() % 26) as u8
            }
        })
        .collect()
}

fn rel(i: usize) -> String {
    format!("d{:03}/f{i:05}.md", i / 100)
}

/// Writes `n` files; file `i` gets content seeded by `seed + i`.
fn write_tree(root: &Path, n: usize, seed: u64) {
    for i in 0..n {
        let path = root.join(rel(i));
        if i % 100 == 0 {
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        }
        fs::write(path, content(seed + i as u64)).expect("write");
    }
}

/// Rewrites files `0..changed` of a tree written with `write_tree(.., seed)`.
fn rewrite(root: &Path, changed: usize, seed: u64) {
    for i in 0..changed {
        fs::write(root.join(rel(i)), content(seed + i as u64)).expect("write");
    }
}

fn git_bin() -> PathBuf {
    ["/usr/local/bin/git", "/usr/bin/git"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("git"))
}

/// A global git configuration file that never exists (git reads a missing one as
/// empty): under the repository's `.git`, which git never creates such a file in.
fn no_global_config(dir: &Path) -> PathBuf {
    dir.join(".git").join("ssot-bench-no-global-config")
}

#[derive(Clone, Copy)]
enum Git {
    Default,
    Fsync,
}

impl Git {
    fn name(self) -> &'static str {
        match self {
            Git::Default => "git",
            Git::Fsync => "git_fsync",
        }
    }

    fn run(self, dir: &Path, args: &[&str]) {
        self.run_expecting(dir, args, 0);
    }

    /// Runs git and checks its exit status is `code`.
    fn run_expecting(self, dir: &Path, args: &[&str], code: i32) {
        let mut cmd = Command::new(git_bin());
        cmd.arg("-C").arg(dir);
        cmd.args([
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            "-c",
            "gc.auto=0",
            "-c",
            "commit.gpgSign=false",
            "-c",
            "maintenance.auto=false",
        ]);
        if let Git::Fsync = self {
            cmd.args(["-c", "core.fsync=all", "-c", "core.fsyncMethod=fsync"]);
        }
        let out = cmd
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            // No user configuration: a path that does not exist reads as an empty
            // file (`/dev/null` did too, until a shared machine's was replaced by a
            // regular file holding text).
            .env("GIT_CONFIG_GLOBAL", no_global_config(dir))
            .output()
            .expect("run git");
        assert_eq!(
            out.status.code(),
            Some(code),
            "git {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn init(self, dir: &Path) {
        self.run(dir, &["init", "-q"]);
    }

    /// `git add -A && git commit`.
    fn commit(self, dir: &Path, message: &str) {
        self.run(dir, &["add", "-A"]);
        self.run(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// `git add -A && git commit` of an unchanged tree: git finds nothing to commit
    /// and records nothing (exit status 1), as our snapshot returns the newest version.
    fn commit_nothing(self, dir: &Path, message: &str) {
        self.run(dir, &["add", "-A"]);
        self.run_expecting(dir, &["commit", "-q", "-m", message], 1);
    }

    fn head(self, dir: &Path) -> String {
        let out = Command::new(git_bin())
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "HEAD"])
            .output()
            .expect("git rev-parse");
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }
}

const GITS: [Git; 2] = [Git::Default, Git::Fsync];

fn ours(dir: &Path) -> VersionStore {
    VersionStore::open(dir).expect("open store")
}

fn snapshot_1000(c: &mut Criterion) {
    let n = 1000;
    let mut group = c.benchmark_group("version/snapshot_1000");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(n as u64));

    // First snapshot: a fresh tree each iteration (setup not timed; the temporary
    // directory is returned so that its removal is not timed either).
    group.bench_function(BenchmarkId::new("first", "ssot"), |b| {
        b.iter_batched(
            || {
                let dir = TempDir::new().expect("tempdir");
                write_tree(dir.path(), n, 0);
                let store = ours(dir.path());
                (dir, store)
            },
            |(dir, store)| {
                let v = store.snapshot("first").expect("snapshot");
                (dir, store, v)
            },
            BatchSize::PerIteration,
        );
    });
    for git in GITS {
        group.bench_function(BenchmarkId::new("first", git.name()), |b| {
            b.iter_batched(
                || {
                    let dir = TempDir::new().expect("tempdir");
                    write_tree(dir.path(), n, 0);
                    git.init(dir.path());
                    dir
                },
                |dir| {
                    git.commit(dir.path(), "first");
                    dir
                },
                BatchSize::PerIteration,
            );
        });
    }

    // Unchanged tree.
    {
        let dir = TempDir::new().expect("tempdir");
        write_tree(dir.path(), n, 0);
        let store = ours(dir.path());
        store.snapshot("first").expect("snapshot");
        store.snapshot("settle the stat cache").expect("snapshot");
        let head = store.head().expect("head").expect("a version");
        group.bench_function(BenchmarkId::new("unchanged", "ssot"), |b| {
            b.iter(|| {
                let v = store.snapshot("again").expect("snapshot");
                assert_eq!(v.id(), head.id(), "an unchanged tree records no version");
                black_box(v)
            });
        });
    }
    for git in GITS {
        let dir = TempDir::new().expect("tempdir");
        write_tree(dir.path(), n, 0);
        git.init(dir.path());
        git.commit(dir.path(), "first");
        group.bench_function(BenchmarkId::new("unchanged", git.name()), |b| {
            b.iter(|| git.commit_nothing(dir.path(), "again"));
        });
    }

    // One file changed (the rewrite is setup, not timed).
    one_changed(&mut group, n, "one_changed");
    group.finish();
}

fn one_changed(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    n: usize,
    id: &str,
) {
    let mut counter = 1_000_000u64;
    {
        let dir = TempDir::new().expect("tempdir");
        write_tree(dir.path(), n, 0);
        let store = ours(dir.path());
        store.snapshot("first").expect("snapshot");
        store.snapshot("settle the stat cache").expect("snapshot");
        group.bench_function(BenchmarkId::new(id, "ssot"), |b| {
            b.iter_batched(
                || {
                    counter += 1;
                    fs::write(dir.path().join(rel(counter as usize % n)), content(counter))
                        .expect("write");
                },
                |()| store.snapshot("one changed").expect("snapshot"),
                BatchSize::PerIteration,
            );
        });
    }
    for git in GITS {
        let dir = TempDir::new().expect("tempdir");
        write_tree(dir.path(), n, 0);
        git.init(dir.path());
        git.commit(dir.path(), "first");
        group.bench_function(BenchmarkId::new(id, git.name()), |b| {
            b.iter_batched(
                || {
                    counter += 1;
                    fs::write(dir.path().join(rel(counter as usize % n)), content(counter))
                        .expect("write");
                },
                |()| git.commit(dir.path(), "one changed"),
                BatchSize::PerIteration,
            );
        });
    }
}

fn snapshot_10000(c: &mut Criterion) {
    let mut group = c.benchmark_group("version/snapshot_10000");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(10_000));
    one_changed(&mut group, 10_000, "one_changed");
    group.finish();
}

fn rollback_1000(c: &mut Criterion) {
    let n = 1000;
    let mut group = c.benchmark_group("version/rollback_1000");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for changed in [100, n] {
        let id = if changed == n {
            "all_changed".to_owned()
        } else {
            format!("{changed}_changed")
        };
        group.throughput(Throughput::Elements(changed as u64));
        {
            let dir = TempDir::new().expect("tempdir");
            write_tree(dir.path(), n, 0);
            let store = ours(dir.path());
            let a = store.snapshot("a").expect("snapshot").id().clone();
            rewrite(dir.path(), changed, 50_000);
            let b_id = store.snapshot("b").expect("snapshot").id().clone();
            let mut to_a = true;
            group.bench_function(BenchmarkId::new(&id, "ssot"), |b| {
                b.iter(|| {
                    let target = if to_a { &a } else { &b_id };
                    to_a = !to_a;
                    black_box(store.rollback(target.as_str()).expect("rollback"))
                });
            });
        }
        for git in GITS {
            let dir = TempDir::new().expect("tempdir");
            write_tree(dir.path(), n, 0);
            git.init(dir.path());
            git.commit(dir.path(), "a");
            let a = git.head(dir.path());
            rewrite(dir.path(), changed, 50_000);
            git.commit(dir.path(), "b");
            let b_id = git.head(dir.path());
            let mut to_a = true;
            group.bench_function(BenchmarkId::new(&id, git.name()), |b| {
                b.iter(|| {
                    let target = if to_a { &a } else { &b_id };
                    to_a = !to_a;
                    git.run(dir.path(), &["checkout", "-q", target]);
                });
            });
        }
    }
    group.finish();
}

/// What starting git costs by itself: the share of every git row above that is
/// process start-up rather than work.
fn git_startup(c: &mut Criterion) {
    let mut group = c.benchmark_group("version/git_startup");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("version", |b| {
        b.iter(|| {
            let out = Command::new(git_bin())
                .arg("--version")
                .output()
                .expect("git --version");
            assert!(out.status.success());
            black_box(out)
        });
    });
    let dir = TempDir::new().expect("tempdir");
    write_tree(dir.path(), 1000, 0);
    Git::Default.init(dir.path());
    Git::Default.commit(dir.path(), "first");
    // Through `run`, with the same options and environment as every git row.
    group.bench_function("rev_parse", |b| {
        b.iter(|| Git::Default.run(dir.path(), &["rev-parse", "HEAD"]));
    });
    group.finish();
}

/// `VersionStore::write`: one file, and 100 files of ~1 KiB, all or nothing, among 100
/// existing files; each iteration writes new content over the previous (so every file
/// really changes), durable when `write` returns. With `record_version` too.
fn write(c: &mut Criterion) {
    let mut group = c.benchmark_group("version/write");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (files, record) in [(1usize, false), (100, false), (1, true), (100, true)] {
        let dir = TempDir::new().expect("tempdir");
        write_tree(dir.path(), 100, 0);
        let store = ours(dir.path());
        store.snapshot("base").expect("snapshot");
        let mut round = 0u64;
        let id = format!("{files}_file{}", if files == 1 { "" } else { "s" });
        let id = if record { format!("{id}_recorded") } else { id };
        group.throughput(Throughput::Elements(files as u64));
        group.bench_function(BenchmarkId::new(id, "ssot"), |b| {
            b.iter(|| {
                round += 1;
                let mut set = ssot_version::WriteSet::new();
                for i in 0..files {
                    let mut bytes = content(round * 1000 + i as u64);
                    bytes.truncate(1024);
                    set = set.put(rel(i), bytes);
                }
                if record {
                    set = set.record_version("write");
                }
                black_box(store.write(set).expect("write"))
            });
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    snapshot_1000,
    snapshot_10000,
    rollback_1000,
    write,
    git_startup
);
criterion_main!(benches);
