//! The executor's scheduling overhead: no-op closure jobs over a 100,000-node plan,
//! `ssot_core::run::Executor` beside the floor of running the same DAG without a
//! scheduler.
//!
//! Workloads (100,000 nodes, `u32` ids): `random` (each node depends on up to two
//! random earlier nodes), `chain` (each on the one before), `independent` (no
//! edges). Groups:
//! - `run/noop/{workers}`: the executor at 1 and 2 workers; floors: `rayon` running
//!   the graph's waves one after another on a pool of the same size (a barrier per
//!   wave, the DAG computed beforehand), and, for 1 worker, a plain loop over the
//!   topological order.
//! - `run/journal`: 1,000 independent no-op tasks with and without the run journal
//!   (successes are group-committed: one fdatasync per batch of lines written while
//!   the previous sync ran), to read the journal's cost per task.
//!
//! - `run/commands`: 1,000 `true` commands as a random DAG at 2 workers:
//!   `CommandJob` against GNU `make -j2` and `ninja -j2` on a generated Makefile and
//!   build.ninja (install them with `benches/setup.sh`; a missing tool's bench is
//!   skipped with a message).
//!
//! Run: `cargo bench -p ssot-benches --bench run -- --warm-up-time 1 --measurement-time 3`.

// A benchmark's setup failing is a bug in the benchmark: stop loudly.
#![allow(clippy::expect_used, missing_docs)]
// A skipped group says so on stderr.
#![allow(clippy::print_stderr)]

use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Bencher, BenchmarkId, Criterion, Throughput, criterion_group};
use jiff::Timestamp;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use ssot_core::run::{Attempt, AttemptOutcome, CommandJob, Executor, JobError, Plan, RunContext};
use ssot_graph::DepGraph;

const N: u32 = 100_000;

fn workload(kind: &str, n: u32) -> DepGraph<u32> {
    let mut rng = SmallRng::seed_from_u64(7);
    let tasks = (0..n).map(|i| {
        let deps: Vec<u32> = match kind {
            "chain" if i > 0 => vec![i - 1],
            "random" if i > 0 => (0..rng.random_range(0..3u32))
                .map(|_| rng.random_range(0..i))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
            _ => vec![],
        };
        (i, deps)
    });
    DepGraph::from_tasks(tasks.collect::<Vec<_>>()).expect("a DAG by construction")
}

fn noop(id: &u32, _ctx: &RunContext) -> Result<(), JobError> {
    black_box(id);
    Ok(())
}

/// One counter per task: every runner's job body is `tally.ran(id)`, an atomic
/// increment of the task's slot through `black_box` that no optimizer can remove,
/// and each timed run is followed (outside the timer) by a check that every task ran
/// exactly once.
struct Tally(Vec<AtomicU32>);

impl Tally {
    fn new(n: u32) -> Tally {
        Tally((0..n).map(|_| AtomicU32::new(0)).collect())
    }

    #[inline]
    fn ran(&self, id: u32) {
        self.0[black_box(id) as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Asserts that every task ran exactly once since the last check, and resets.
    fn check_and_reset(&self) {
        for (i, c) in self.0.iter().enumerate() {
            let ran = c.swap(0, Ordering::Relaxed);
            assert_eq!(ran, 1, "task {i} ran {ran} times");
        }
    }
}

/// Times `run` (and the drop of what it returns), checking the tally and the
/// result between runs, outside the timer.
fn timed<R>(b: &mut Bencher<'_>, tally: &Tally, mut run: impl FnMut() -> R, check: impl Fn(&R)) {
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let t = Instant::now();
            let r = run();
            total += t.elapsed();
            tally.check_and_reset();
            check(&r);
            let t = Instant::now();
            drop(black_box(r));
            total += t.elapsed();
        }
        total
    });
}

fn bench_noop(c: &mut Criterion) {
    for workers in [1usize, 2] {
        let mut group = c.benchmark_group(format!("run/noop/{workers}"));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(5));
        group.throughput(Throughput::Elements(u64::from(N)));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()
            .expect("a rayon pool");
        let tally = Tally::new(N);
        let tally = &tally;
        for kind in ["random", "chain", "independent"] {
            let graph = workload(kind, N);
            let waves: Vec<Vec<u32>> = graph
                .waves()
                .into_iter()
                .map(|w| w.into_iter().copied().collect())
                .collect();
            let topo: Vec<u32> = graph.topo_order().into_iter().copied().collect();
            let plan = Plan::new(graph);
            // The index arrays a plan computes once, on its first run (timed
            // separately: `ssot_setup`); the floors' setup (waves, order) is outside
            // their timings too.
            plan.prepare();
            let executor = Executor::builder().workers(workers).build();
            let job = |id: &u32, _: &RunContext| -> Result<(), JobError> {
                tally.ran(*id);
                Ok(())
            };
            group.bench_function(BenchmarkId::new("ssot", kind), |b| {
                timed(
                    b,
                    tally,
                    || executor.run(&plan, &job).expect("runs"),
                    |record| {
                        assert_eq!(record.tasks.len(), N as usize);
                        assert!(record.succeeded());
                    },
                );
            });
            group.bench_function(BenchmarkId::new("rayon_waves", kind), |b| {
                timed(
                    b,
                    tally,
                    || {
                        pool.install(|| {
                            for wave in &waves {
                                wave.par_iter().for_each(|&id| tally.ran(id));
                            }
                        });
                    },
                    |()| {},
                );
            });
            if workers == 1 {
                group.bench_function(BenchmarkId::new("topo_loop", kind), |b| {
                    timed(
                        b,
                        tally,
                        || {
                            for &id in &topo {
                                tally.ran(id);
                            }
                        },
                        |()| {},
                    );
                });
                group.bench_function(BenchmarkId::new("ssot_setup", kind), |b| {
                    b.iter_batched(
                        || Plan::new(plan.graph().clone()),
                        |fresh| {
                            fresh.prepare();
                            fresh
                        },
                        BatchSize::LargeInput,
                    );
                });
            }
        }
        group.finish();
    }
}

/// What an attempt record costs on this machine, beside the executor's per-task
/// figure: the two timestamps of an attempt, and the allocation of a node's
/// attempt list holding one `Attempt`.
fn bench_parts(c: &mut Criterion) {
    let mut group = c.benchmark_group("run/parts");
    group.bench_function("two_timestamps", |b| {
        b.iter(|| (black_box(Timestamp::now()), black_box(Timestamp::now())));
    });
    group.bench_function("attempt_vec", |b| {
        let now = Timestamp::now();
        b.iter(|| {
            black_box(vec![Attempt {
                number: 1,
                started: now,
                ended: now,
                outcome: AttemptOutcome::Succeeded,
                error: None,
                output_tail: String::new(),
            }])
        });
    });
    let lock = Mutex::new(0u64);
    group.bench_function("mutex_lock_unlock", |b| {
        b.iter(|| *lock.lock().expect("not poisoned") += 1);
    });
    group.finish();
}

fn bench_journal(c: &mut Criterion) {
    let mut group = c.benchmark_group("run/journal");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1_000));
    let plan = Plan::new(workload("independent", 1_000));
    let dir = tempfile::tempdir().expect("a temp dir");
    let plain = Executor::builder().workers(1).build();
    let journaled = Executor::builder()
        .workers(1)
        .journal_dir(dir.path())
        .build();
    group.bench_function("without", |b| {
        b.iter(|| plain.run(&plan, &noop).expect("runs"))
    });
    group.bench_function("with", |b| {
        b.iter(|| journaled.run(&plan, &noop).expect("runs"))
    });
    group.finish();
}

fn tool_present(name: &str) -> bool {
    std::process::Command::new(name)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn bench_commands(c: &mut Criterion) {
    const CMDS: u32 = 1_000;
    let mut group = c.benchmark_group("run/commands");
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(CMDS)));
    let graph = workload("random", CMDS);
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut makefile = String::from("all:");
    let mut ninja = String::from("rule t\n  command = true\n");
    for id in 0..CMDS {
        makefile.push_str(&format!(" t{id}"));
    }
    makefile.push('\n');
    for id in 0..CMDS {
        let deps: Vec<String> = graph
            .direct_dependencies(&id)
            .expect("a node")
            .into_iter()
            .map(|d| format!("t{d}"))
            .collect();
        makefile.push_str(&format!(
            ".PHONY: t{id}\nt{id}: {}\n\t@true\n",
            deps.join(" ")
        ));
        ninja.push_str(&format!("build t{id}: t | {}\n", deps.join(" ")));
    }
    std::fs::write(dir.path().join("Makefile"), makefile).expect("write Makefile");
    std::fs::write(dir.path().join("build.ninja"), ninja).expect("write build.ninja");
    let plan = Plan::new(graph);
    let executor = Executor::builder().workers(2).build();
    let job = CommandJob::new("true");
    group.bench_function("ssot", |b| {
        b.iter(|| assert!(executor.run(&plan, &job).expect("runs").succeeded()));
    });
    if tool_present("make") {
        group.bench_function("make_j2", |b| {
            b.iter(|| {
                let ok = std::process::Command::new("make")
                    .args(["-s", "-j2", "-C"])
                    .arg(dir.path())
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok);
            });
        });
    } else {
        eprintln!("run/commands/make_j2 skipped: `make` is not installed (run benches/setup.sh)");
    }
    if tool_present("ninja") {
        group.bench_function("ninja_j2", |b| {
            b.iter(|| {
                // Phony-like outputs are never created, so ninja reruns every edge.
                let ok = std::process::Command::new("ninja")
                    .args(["-j2", "-C"])
                    .arg(dir.path())
                    .stdout(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok);
            });
        });
    } else {
        eprintln!("run/commands/ninja_j2 skipped: `ninja` is not installed (run benches/setup.sh)");
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_noop,
    bench_parts,
    bench_journal,
    bench_commands
);

/// One executor run of a `run/noop` workload, for instruction counts:
/// `SSOT_RUN_ONCE=random:1 valgrind --tool=callgrind --toggle-collect='*run_inner*'
/// --toggle-collect='*Shared*worker*' target/release/deps/run-*` counts the run
/// alone (not building the graph). Without the variable: the criterion benches.
fn main() {
    if let Ok(spec) = std::env::var("SSOT_RUN_ONCE") {
        run_once(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

fn run_once(spec: &str) {
    let (kind, workers) = spec.split_once(':').unwrap_or((spec, "1"));
    let workers: usize = workers.parse().expect("SSOT_RUN_ONCE=KIND:WORKERS");
    let n = std::env::var("SSOT_RUN_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(N);
    let plan = Plan::new(workload(kind, n));
    let executor = Executor::builder().workers(workers).build();
    let tally = Tally::new(n);
    let job = |id: &u32, _: &RunContext| -> Result<(), JobError> {
        tally.ran(*id);
        Ok(())
    };
    let runs: usize = std::env::var("SSOT_RUN_TIMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for _ in 0..runs {
        let record = executor.run(&plan, &job).expect("runs");
        tally.check_and_reset();
        assert!(record.succeeded());
        assert_eq!(record.tasks.len(), n as usize);
    }
}
