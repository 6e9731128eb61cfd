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
//!   (each success is fdatasync'ed), to read the journal's cost per task.
//!
//! Not measured yet: `true` commands against `make -j2` / `ninja -j2`.
//!
//! Run: `cargo bench -p ssot-benches --bench run -- --warm-up-time 1 --measurement-time 3`.

// A benchmark's setup failing is a bug in the benchmark: stop loudly.
#![allow(clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use ssot_core::run::{Executor, JobError, Plan, RunContext};
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
        for kind in ["random", "chain", "independent"] {
            let graph = workload(kind, N);
            let waves: Vec<Vec<u32>> = graph
                .waves()
                .into_iter()
                .map(|w| w.into_iter().copied().collect())
                .collect();
            let topo: Vec<u32> = graph.topo_order().into_iter().copied().collect();
            let plan = Plan::new(graph);
            let executor = Executor::builder().workers(workers).build();
            group.bench_function(BenchmarkId::new("ssot", kind), |b| {
                b.iter(|| {
                    let record = executor.run(&plan, &noop).expect("runs");
                    assert_eq!(record.tasks.len(), N as usize);
                });
            });
            group.bench_function(BenchmarkId::new("rayon_waves", kind), |b| {
                b.iter(|| {
                    pool.install(|| {
                        for wave in &waves {
                            wave.par_iter().for_each(|id| {
                                black_box(id);
                            });
                        }
                    });
                });
            });
            if workers == 1 {
                group.bench_function(BenchmarkId::new("topo_loop", kind), |b| {
                    b.iter(|| {
                        for id in &topo {
                            black_box(id);
                        }
                    });
                });
            }
        }
        group.finish();
    }
}

fn bench_journal(c: &mut Criterion) {
    let mut group = c.benchmark_group("run/journal");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1_000));
    let plan = Plan::new(workload("independent", 1_000));
    let dir = tempfile::tempdir().expect("a temp dir");
    let plain = Executor::builder().workers(1).build();
    let journaled = Executor::builder().workers(1).journal_dir(dir.path()).build();
    group.bench_function("without", |b| b.iter(|| plain.run(&plan, &noop).expect("runs")));
    group.bench_function("with", |b| b.iter(|| journaled.run(&plan, &noop).expect("runs")));
    group.finish();
}

criterion_group!(benches, bench_noop, bench_journal);
criterion_main!(benches);
