//! Building a dependency graph edge by edge with a cycle check on every edge, and
//! the queries a scheduler runs on it, `ssot-graph` beside its peers.
//!
//! Workload: a random DAG. Nodes get a hidden random rank; each edge joins two
//! distinct random nodes, pointing from the lower rank to the higher, so every edge
//! is legal; edges are inserted in random order and nodes are created in an order
//! unrelated to the ranks, so the maintained order is wrong as often as it can be
//! (adversarial for incremental topological ordering). Sizes: 10,000 nodes /
//! 50,000 edges and 100,000 nodes / 500,000 edges. Ids are `u32`; peers get node
//! handles, `ssot-graph` looks each id up in its hash map, as its users do.
//!
//! Capacity: every builder is told the sizes up front wherever its API takes a
//! hint. `ssot-graph` gets `DepGraph::with_capacity(nodes)` (it takes no edge
//! hint); petgraph's `Acyclic`, the daggy-style graph and the floor get
//! `with_capacity(nodes, edges)`; incremental-topo has no capacity API.
//!
//! Groups:
//! - `graph/build`: create every node, then add every edge with a cycle check.
//!   Peers: petgraph's `acyclic::Acyclic<StableDiGraph>` (Pearce–Kelly over
//!   `BTreeMap`s), the `incremental-topo` crate, and petgraph with
//!   `has_path_connecting` before each edge as daggy does (small size only: a full
//!   search per edge). Floor: `StableDiGraph::add_edge` with no check at all.
//! - `graph/run`: from the built graph with every node pending, repeatedly take
//!   `ready()` and mark all of it done until nothing is left. References: the same
//!   loop over petgraph rescanning every node per round (what a caller without
//!   counts does), and a hand-written Kahn loop over petgraph with counters (the
//!   floor: no ids, no sorting).
//! - `graph/topo_order`, `graph/waves`, `graph/critical_path`: ours (deterministic:
//!   by wave, ties by id) beside petgraph's `toposort` and a hand-written layering
//!   and longest-path pass over petgraph (each with its order left to DFS history).
//!
//! Run: `cargo bench -p ssot-benches --bench graph` (filter with e.g. `graph/build`).

// A benchmark's setup failing is a bug in the benchmark: stop loudly.
#![allow(clippy::expect_used, missing_docs)]

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use petgraph::Direction;
use petgraph::acyclic::Acyclic;
use petgraph::algo::{DfsSpace, has_path_connecting, toposort};
use petgraph::data::{Build, Create};
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::NodeIndexable;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use ssot_graph::DepGraph;

/// A random DAG: `edges[i] = (task, depends_on)`, in insertion order.
struct Workload {
    nodes: u32,
    edges: Vec<(u32, u32)>,
}

fn workload(nodes: u32, edges: usize, seed: u64) -> Workload {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut rank: Vec<u32> = (0..nodes).collect();
    rank.shuffle(&mut rng);
    let mut seen = HashSet::with_capacity(edges);
    let mut out = Vec::with_capacity(edges);
    while out.len() < edges {
        let a = rng.random_range(0..nodes);
        let b = rng.random_range(0..nodes);
        if a == b {
            continue;
        }
        // The higher rank depends on the lower.
        let (task, dep) = if rank[a as usize] > rank[b as usize] {
            (a, b)
        } else {
            (b, a)
        };
        if seen.insert((task, dep)) {
            out.push((task, dep));
        }
    }
    out.shuffle(&mut rng);
    Workload { nodes, edges: out }
}

fn build_ours(w: &Workload) -> DepGraph<u32> {
    let mut g = DepGraph::with_capacity(w.nodes as usize);
    for id in 0..w.nodes {
        g.add_node(id).expect("fresh id");
    }
    for (task, dep) in &w.edges {
        g.add_dependency(task, dep).expect("legal edge");
    }
    g
}

fn build_floor(w: &Workload) -> StableDiGraph<u32, ()> {
    let mut g = StableDiGraph::with_capacity(w.nodes as usize, w.edges.len());
    for id in 0..w.nodes {
        g.add_node(id);
    }
    for &(task, dep) in &w.edges {
        g.add_edge(
            NodeIndex::new(dep as usize),
            NodeIndex::new(task as usize),
            (),
        );
    }
    g
}

fn build_acyclic(w: &Workload) -> Acyclic<StableDiGraph<u32, ()>> {
    // `Create::with_capacity` reserves the graph's nodes and edges and the order
    // map's node vector; its position map is a `BTreeMap`, which has no capacity.
    let mut g =
        <Acyclic<StableDiGraph<u32, ()>> as Create>::with_capacity(w.nodes as usize, w.edges.len());
    for id in 0..w.nodes {
        g.add_node(id);
    }
    for &(task, dep) in &w.edges {
        g.try_add_edge(
            NodeIndex::new(dep as usize),
            NodeIndex::new(task as usize),
            (),
        )
        .expect("legal edge");
    }
    g
}

fn build_incremental_topo(w: &Workload) -> incremental_topo::IncrementalTopo {
    // incremental-topo 0.3 offers no capacity hint: its node arena and each node's
    // two `FnvHashSet`s of neighbours grow as they go. Only our own handle vector
    // is preallocated.
    let mut g = incremental_topo::IncrementalTopo::new();
    let mut nodes = Vec::with_capacity(w.nodes as usize);
    nodes.extend((0..w.nodes).map(|_| g.add_node()));
    for &(task, dep) in &w.edges {
        g.add_dependency(nodes[dep as usize], nodes[task as usize])
            .expect("legal edge");
    }
    g
}

fn build_daggy_style(w: &Workload) -> StableDiGraph<u32, ()> {
    let mut g = StableDiGraph::with_capacity(w.nodes as usize, w.edges.len());
    for id in 0..w.nodes {
        g.add_node(id);
    }
    let mut space = DfsSpace::new(&g);
    for &(task, dep) in &w.edges {
        let (d, t) = (NodeIndex::new(dep as usize), NodeIndex::new(task as usize));
        assert!(
            !has_path_connecting(&g, t, d, Some(&mut space)),
            "legal edge"
        );
        g.add_edge(d, t, ());
    }
    g
}

fn sizes() -> [(u32, usize, &'static str); 2] {
    [(10_000, 50_000, "10k/50k"), (100_000, 500_000, "100k/500k")]
}

fn bench_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("graph/build");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for (nodes, edges, label) in sizes() {
        let w = workload(nodes, edges, 7);
        // Every builder must agree that the workload is acyclic and complete.
        assert_eq!(build_ours(&w).dependency_count(), edges);
        group.throughput(Throughput::Elements(edges as u64));
        group.bench_with_input(BenchmarkId::new("ssot-graph", label), &w, |b, w| {
            b.iter_with_large_drop(|| build_ours(black_box(w)));
        });
        group.bench_with_input(BenchmarkId::new("petgraph-acyclic", label), &w, |b, w| {
            b.iter_with_large_drop(|| build_acyclic(black_box(w)))
        });
        group.bench_with_input(BenchmarkId::new("incremental-topo", label), &w, |b, w| {
            b.iter_with_large_drop(|| build_incremental_topo(black_box(w)))
        });
        if nodes <= 10_000 {
            group.bench_with_input(
                BenchmarkId::new("petgraph-has_path_connecting", label),
                &w,
                |b, w| b.iter_with_large_drop(|| build_daggy_style(black_box(w))),
            );
        }
        group.bench_with_input(
            BenchmarkId::new("petgraph-unchecked-floor", label),
            &w,
            |b, w| b.iter_with_large_drop(|| build_floor(black_box(w))),
        );
    }
    group.finish();
}

/// Marks every ready node done, round after round, until none is left; returns
/// the number of rounds.
fn run_ours(mut g: DepGraph<u32>) -> usize {
    let mut rounds = 0;
    let mut batch = Vec::new();
    loop {
        batch.clear();
        batch.extend(g.ready().into_iter().copied());
        if batch.is_empty() {
            return rounds;
        }
        for id in &batch {
            g.mark_done(id).expect("known id");
        }
        rounds += 1;
    }
}

/// The same loop over petgraph without counts: every round rescans every node.
fn run_rescan(g: &StableDiGraph<u32, ()>) -> usize {
    let mut done = vec![false; g.node_bound()];
    let mut rounds = 0;
    let mut batch = Vec::new();
    loop {
        batch.clear();
        for n in g.node_indices() {
            if !done[n.index()]
                && g.neighbors_directed(n, Direction::Incoming)
                    .all(|d| done[d.index()])
            {
                batch.push(n);
            }
        }
        if batch.is_empty() {
            return rounds;
        }
        for n in &batch {
            done[n.index()] = true;
        }
        rounds += 1;
    }
}

/// Kahn's algorithm with counters over petgraph, round by round: the floor.
fn run_counters(g: &StableDiGraph<u32, ()>) -> usize {
    let mut unmet: Vec<u32> = vec![0; g.node_bound()];
    for n in g.node_indices() {
        unmet[n.index()] = g.neighbors_directed(n, Direction::Incoming).count() as u32;
    }
    let mut batch: Vec<NodeIndex> = g.node_indices().filter(|n| unmet[n.index()] == 0).collect();
    let mut next = Vec::new();
    let mut rounds = 0;
    while !batch.is_empty() {
        for &n in &batch {
            for w in g.neighbors_directed(n, Direction::Outgoing) {
                unmet[w.index()] -= 1;
                if unmet[w.index()] == 0 {
                    next.push(w);
                }
            }
        }
        std::mem::swap(&mut batch, &mut next);
        next.clear();
        rounds += 1;
    }
    rounds
}

fn bench_run(c: &mut Criterion) {
    let mut group = c.benchmark_group("graph/run");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for (nodes, edges, label) in sizes() {
        let w = workload(nodes, edges, 7);
        let ours = build_ours(&w);
        let floor = build_floor(&w);
        let rounds = run_ours(ours.clone());
        assert_eq!(rounds, run_rescan(&floor));
        assert_eq!(rounds, run_counters(&floor));
        group.throughput(Throughput::Elements(u64::from(nodes)));
        group.bench_with_input(BenchmarkId::new("ssot-graph", label), &ours, |b, g| {
            b.iter_batched(|| g.clone(), run_ours, BatchSize::LargeInput);
        });
        group.bench_with_input(
            BenchmarkId::new("petgraph-rescan", label),
            &floor,
            |b, g| b.iter(|| run_rescan(black_box(g))),
        );
        group.bench_with_input(
            BenchmarkId::new("petgraph-counters-floor", label),
            &floor,
            |b, g| b.iter(|| run_counters(black_box(g))),
        );
    }
    group.finish();
}

/// Layers over petgraph: depth = longest chain below, from `toposort`.
fn waves_petgraph(g: &StableDiGraph<u32, ()>) -> Vec<Vec<NodeIndex>> {
    let order = toposort(g, None).expect("acyclic");
    let mut depth = vec![0usize; g.node_bound()];
    let mut waves: Vec<Vec<NodeIndex>> = Vec::new();
    for n in order {
        let d = g
            .neighbors_directed(n, Direction::Incoming)
            .map(|p| depth[p.index()] + 1)
            .max()
            .unwrap_or(0);
        depth[n.index()] = d;
        if waves.len() <= d {
            waves.resize_with(d + 1, Vec::new);
        }
        waves[d].push(n);
    }
    waves
}

/// Longest path by node weight over petgraph, from `toposort`.
fn critical_petgraph(g: &StableDiGraph<u32, ()>, weight: impl Fn(u32) -> u64) -> u64 {
    let order = toposort(g, None).expect("acyclic");
    let mut best = vec![0u64; g.node_bound()];
    let mut top = 0;
    for n in order {
        let before = g
            .neighbors_directed(n, Direction::Incoming)
            .map(|p| best[p.index()])
            .max()
            .unwrap_or(0);
        best[n.index()] = before + weight(g[n]);
        top = top.max(best[n.index()]);
    }
    top
}

fn estimate(id: u32) -> u64 {
    u64::from(id % 97 + 1)
}

fn bench_queries(c: &mut Criterion) {
    for (nodes, edges, label) in sizes() {
        let w = workload(nodes, edges, 7);
        let ours = build_ours(&w);
        let floor = build_floor(&w);
        assert_eq!(ours.waves().len(), waves_petgraph(&floor).len());
        assert_eq!(
            ours.critical_path(|id| estimate(*id))
                .expect("fits")
                .expect("not empty")
                .total(),
            critical_petgraph(&floor, estimate)
        );

        let mut group = c.benchmark_group("graph/topo_order");
        group.sample_size(20);
        group.throughput(Throughput::Elements(u64::from(nodes)));
        group.bench_function(BenchmarkId::new("ssot-graph", label), |b| {
            b.iter(|| black_box(&ours).topo_order().len());
        });
        group.bench_function(BenchmarkId::new("petgraph-toposort", label), |b| {
            b.iter(|| toposort(black_box(&floor), None).expect("acyclic").len());
        });
        group.finish();

        let mut group = c.benchmark_group("graph/waves");
        group.sample_size(20);
        group.throughput(Throughput::Elements(u64::from(nodes)));
        group.bench_function(BenchmarkId::new("ssot-graph", label), |b| {
            b.iter(|| black_box(&ours).waves().len());
        });
        group.bench_function(BenchmarkId::new("petgraph-toposort-layers", label), |b| {
            b.iter(|| waves_petgraph(black_box(&floor)).len());
        });
        group.finish();

        let mut group = c.benchmark_group("graph/critical_path");
        group.sample_size(20);
        group.throughput(Throughput::Elements(u64::from(nodes)));
        group.bench_function(BenchmarkId::new("ssot-graph", label), |b| {
            b.iter(|| {
                black_box(&ours)
                    .critical_path(|id| estimate(*id))
                    .expect("fits")
                    .map(|p| p.total())
            });
        });
        group.bench_function(BenchmarkId::new("petgraph-toposort-dp", label), |b| {
            b.iter(|| critical_petgraph(black_box(&floor), estimate));
        });
        group.finish();
    }
}

criterion_group!(benches, bench_build, bench_run, bench_queries);
criterion_main!(benches);
