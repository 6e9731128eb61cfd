//! Model-based properties: random sequences of edits applied to a `DepGraph` and to
//! a brute-force model (a set of nodes with states and a set of dependency pairs),
//! with every answer of the graph checked against the model after every step.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use ssot_graph::{DepGraph, Error, State};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Ids are drawn from a small range so that edits collide: duplicates, unknown ids,
/// cycles.
const IDS: u8 = 9;

#[derive(Debug, Clone)]
enum Op {
    AddNode(u8),
    RemoveNode(u8),
    AddDependency(u8, u8),
    RemoveDependency(u8, u8),
    SetState(u8, State),
}

fn state() -> impl Strategy<Value = State> {
    prop::sample::select(State::ALL.to_vec())
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..IDS).prop_map(Op::AddNode),
        1 => (0..IDS).prop_map(Op::RemoveNode),
        6 => (0..IDS, 0..IDS).prop_map(|(a, b)| Op::AddDependency(a, b)),
        1 => (0..IDS, 0..IDS).prop_map(|(a, b)| Op::RemoveDependency(a, b)),
        3 => (0..IDS, state()).prop_map(|(a, s)| Op::SetState(a, s)),
    ]
}

/// The reference: nodes with states, and `(task, depends_on)` pairs.
#[derive(Debug, Default, Clone)]
struct Model {
    nodes: BTreeMap<u8, State>,
    deps: BTreeSet<(u8, u8)>,
}

impl Model {
    fn direct_deps(&self, task: u8) -> Vec<u8> {
        self.deps
            .iter()
            .filter(|&&(t, _)| t == task)
            .map(|&(_, d)| d)
            .collect()
    }

    /// Every node reachable from `from` by following `(task -> depends_on)` pairs
    /// (or the reverse when `forward` is false), excluding `from` unless on a cycle.
    fn reach(&self, from: u8, forward: bool) -> BTreeSet<u8> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(v) = stack.pop() {
            for &(t, d) in &self.deps {
                let (a, b) = if forward { (t, d) } else { (d, t) };
                if a == v && seen.insert(b) {
                    stack.push(b);
                }
            }
        }
        seen
    }

    /// The length of the shortest "depends on" path from `from` to `to`, if any.
    fn distance(&self, from: u8, to: u8) -> Option<usize> {
        let mut frontier = vec![from];
        let mut seen = BTreeSet::from([from]);
        let mut steps = 0;
        while !frontier.is_empty() {
            if frontier.contains(&to) {
                return Some(steps);
            }
            let mut next = Vec::new();
            for &v in &frontier {
                for d in self.direct_deps(v) {
                    if seen.insert(d) {
                        next.push(d);
                    }
                }
            }
            frontier = next;
            steps += 1;
        }
        None
    }

    fn ready(&self) -> Vec<u8> {
        self.nodes
            .iter()
            .filter(|&(&id, &s)| {
                s == State::Pending
                    && self
                        .direct_deps(id)
                        .iter()
                        .all(|d| self.nodes[d] == State::Done)
            })
            .map(|(&id, _)| id)
            .collect()
    }

    fn blocked(&self) -> Vec<(u8, Vec<u8>)> {
        self.nodes
            .iter()
            .filter(|&(_, &s)| s == State::Pending)
            .filter_map(|(&id, _)| {
                let holders: Vec<u8> = self
                    .direct_deps(id)
                    .into_iter()
                    .filter(|d| self.nodes[d] != State::Done)
                    .collect();
                (!holders.is_empty()).then_some((id, holders))
            })
            .collect()
    }

    /// Length of the longest chain of dependencies below each node.
    fn depth(&self, id: u8) -> usize {
        self.direct_deps(id)
            .into_iter()
            .map(|d| self.depth(d) + 1)
            .max()
            .unwrap_or(0)
    }

    /// The heaviest total over every path (each node depending on the one before),
    /// by exhaustive enumeration.
    fn heaviest_path(&self, weight: impl Fn(u8) -> i64 + Copy) -> Option<i64> {
        fn walk(m: &Model, at: u8, sum: i64, weight: impl Fn(u8) -> i64 + Copy, best: &mut i64) {
            *best = (*best).max(sum);
            for &(t, d) in &m.deps {
                if d == at {
                    walk(m, t, sum + weight(t), weight, best);
                }
            }
        }
        let mut best = None;
        for &id in self.nodes.keys() {
            let mut b = i64::MIN;
            walk(self, id, weight(id), weight, &mut b);
            best = Some(best.map_or(b, |x: i64| x.max(b)));
        }
        best
    }
}

fn weight(id: u8) -> i64 {
    i64::from(id % 5) * 3 - 4
}

/// Applies `op` to both, checking the graph's immediate answer against the model.
fn step(g: &mut DepGraph<u8>, m: &mut Model, op: &Op) {
    match *op {
        Op::AddNode(id) => {
            let r = g.add_node(id);
            match m.nodes.entry(id) {
                std::collections::btree_map::Entry::Occupied(_) => {
                    assert_eq!(r, Err(Error::DuplicateNode { id }));
                }
                std::collections::btree_map::Entry::Vacant(slot) => {
                    assert_eq!(r, Ok(()));
                    slot.insert(State::Pending);
                }
            }
        }
        Op::RemoveNode(id) => {
            let r = g.remove_node(&id);
            if m.nodes.remove(&id).is_some() {
                assert_eq!(r, Ok(()));
                m.deps.retain(|&(t, d)| t != id && d != id);
            } else {
                assert_eq!(r, Err(Error::UnknownNode { id: id.to_string() }));
            }
        }
        Op::AddDependency(task, dep) => {
            let r = g.add_dependency(&task, &dep);
            if !m.nodes.contains_key(&task) {
                assert_eq!(
                    r,
                    Err(Error::UnknownNode {
                        id: task.to_string()
                    })
                );
            } else if !m.nodes.contains_key(&dep) {
                assert_eq!(
                    r,
                    Err(Error::UnknownNode {
                        id: dep.to_string()
                    })
                );
            } else if task == dep {
                assert_eq!(r, Err(Error::SelfDependency { id: task }));
            } else if m.deps.contains(&(task, dep)) {
                assert_eq!(r, Ok(false));
            } else if let Some(back) = m.distance(dep, task) {
                // `dep` already depends on `task`: refused, with a real cycle through
                // the new dependency, as short as any.
                let Err(Error::Cycle {
                    task: t,
                    depends_on: d,
                    cycle,
                }) = r
                else {
                    panic!("expected a cycle for {task} -> {dep}, got {r:?}");
                };
                assert_eq!((t, d), (task, dep));
                let nodes = cycle.nodes();
                assert_eq!(&nodes[..2], &[task, dep]);
                assert_eq!(nodes.len(), back + 1, "not a shortest cycle: {cycle:?}");
                let distinct: BTreeSet<_> = nodes.iter().collect();
                assert_eq!(distinct.len(), nodes.len());
                for (a, b) in cycle.dependencies() {
                    assert!(
                        (*a, *b) == (task, dep) || m.deps.contains(&(*a, *b)),
                        "{a} -> {b} is not a dependency"
                    );
                }
            } else {
                assert_eq!(r, Ok(true), "a safe dependency was refused");
                m.deps.insert((task, dep));
            }
        }
        Op::RemoveDependency(task, dep) => {
            let r = g.remove_dependency(&task, &dep);
            if !m.nodes.contains_key(&task) {
                assert_eq!(
                    r,
                    Err(Error::UnknownNode {
                        id: task.to_string()
                    })
                );
            } else if !m.nodes.contains_key(&dep) {
                assert_eq!(
                    r,
                    Err(Error::UnknownNode {
                        id: dep.to_string()
                    })
                );
            } else {
                assert_eq!(r, Ok(m.deps.remove(&(task, dep))));
            }
        }
        Op::SetState(id, s) => {
            let r = g.set_state(&id, s);
            match m.nodes.get_mut(&id) {
                Some(old) => {
                    assert_eq!(r, Ok(*old));
                    *old = s;
                }
                None => assert_eq!(r, Err(Error::UnknownNode { id: id.to_string() })),
            }
        }
    }
}

/// Checks every answer of the graph against the model.
fn check(g: &DepGraph<u8>, m: &Model) {
    assert_eq!(g.len(), m.nodes.len());
    assert_eq!(g.dependency_count(), m.deps.len());
    for (&id, &s) in &m.nodes {
        assert_eq!(g.state(&id), Some(s));
    }

    // Acyclic, and the order respects every dependency.
    let order = g.topo_order();
    assert_eq!(order.len(), m.nodes.len());
    let position: BTreeMap<u8, usize> = order.iter().enumerate().map(|(i, &&id)| (id, i)).collect();
    assert_eq!(position.len(), m.nodes.len());
    for &(t, d) in &m.deps {
        assert!(
            position[&d] < position[&t],
            "{t} placed before its dependency {d}"
        );
        assert!(!m.reach(d, true).contains(&d), "cycle through {d}");
    }

    // Waves: each node at its depth, each wave sorted, nothing missing.
    let waves = g.waves();
    let mut seen = 0;
    for (k, wave) in waves.iter().enumerate() {
        assert!(!wave.is_empty());
        assert!(wave.windows(2).all(|w| w[0] < w[1]));
        for &&id in wave {
            assert_eq!(m.depth(id), k);
            seen += 1;
        }
    }
    assert_eq!(seen, m.nodes.len());
    let flat: Vec<&u8> = waves.into_iter().flatten().collect();
    assert_eq!(flat, order);

    // Ready and blocked.
    assert_eq!(
        g.ready().into_iter().copied().collect::<Vec<_>>(),
        m.ready()
    );
    assert_eq!(g.ready_count(), m.ready().len());
    let blocked: Vec<(u8, Vec<u8>)> = g
        .blocked()
        .into_iter()
        .map(|(id, h)| (*id, h.into_iter().copied().collect()))
        .collect();
    assert_eq!(blocked, m.blocked());

    // Impact, both ways, and pairwise transitive dependency.
    for &id in m.nodes.keys() {
        let deps: BTreeSet<u8> = g.dependencies(&id).unwrap().into_iter().copied().collect();
        assert_eq!(deps, m.reach(id, true));
        let dependents: BTreeSet<u8> = g.dependents(&id).unwrap().into_iter().copied().collect();
        assert_eq!(dependents, m.reach(id, false));
        assert_eq!(g.is_ready(&id), m.ready().contains(&id));
        for &other in m.nodes.keys() {
            assert_eq!(
                g.depends_on(&id, &other).unwrap(),
                id != other && deps.contains(&other)
            );
        }
    }

    // The critical path is a real path with the true largest total.
    match g.critical_path(|&id| weight(id)).unwrap() {
        None => assert!(m.nodes.is_empty()),
        Some(path) => {
            assert_eq!(Some(path.total()), m.heaviest_path(weight));
            let nodes = path.nodes();
            assert_eq!(
                nodes.iter().map(|&&id| weight(id)).sum::<i64>(),
                path.total()
            );
            for pair in nodes.windows(2) {
                assert!(
                    m.deps.contains(&(*pair[1], *pair[0])),
                    "not a path: {nodes:?}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    /// After every edit, every answer equals the brute-force model's.
    #[test]
    fn every_answer_matches_the_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut g = DepGraph::new();
        let mut m = Model::default();
        for op in &ops {
            step(&mut g, &mut m, op);
            check(&g, &m);
        }
    }

    /// Bulk construction accepts exactly the acyclic lists, and otherwise reports
    /// every strongly connected component that has a cycle, each with a real cycle.
    #[test]
    fn bulk_construction_reports_every_cycle(
        deps in prop::collection::btree_set((0..IDS, 0..IDS), 0..24),
        nodes in 1..=IDS,
    ) {
        let deps: BTreeSet<(u8, u8)> =
            deps.into_iter().filter(|&(t, d)| t < nodes && d < nodes).collect();
        let m = Model { nodes: (0..nodes).map(|id| (id, State::Pending)).collect(), deps };
        let tasks = (0..nodes).map(|id| (id, m.direct_deps(id)));
        // Reference components: mutual reachability; a cycle needs two members or a
        // self-dependency.
        let mut components: Vec<Vec<u8>> = Vec::new();
        for id in 0..nodes {
            let down = m.reach(id, true);
            if !down.contains(&id) || components.iter().any(|c| c.contains(&id)) {
                continue;
            }
            let mut c: Vec<u8> = (0..nodes)
                .filter(|&o| o == id || (down.contains(&o) && m.reach(o, true).contains(&id)))
                .collect();
            c.sort_unstable();
            components.push(c);
        }
        match DepGraph::from_tasks(tasks) {
            Ok(g) => {
                prop_assert!(components.is_empty());
                check(&g, &m);
            }
            Err(Error::Cycles { components: found }) => {
                let members: Vec<Vec<u8>> = found.iter().map(|c| c.members().to_vec()).collect();
                prop_assert_eq!(members, components);
                for c in &found {
                    let cycle = c.cycle();
                    prop_assert_eq!(cycle.nodes()[0], c.members()[0]);
                    for (a, b) in cycle.dependencies() {
                        prop_assert!(m.deps.contains(&(*a, *b)));
                        prop_assert!(c.members().contains(b));
                    }
                    // As short as any cycle through its first node.
                    let first = cycle.nodes()[0];
                    let shortest = m
                        .direct_deps(first)
                        .into_iter()
                        .filter_map(|d| m.distance(d, first))
                        .min()
                        .map(|k| k + 1);
                    prop_assert_eq!(Some(cycle.len()), shortest);
                }
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}
