//! Properties of the store's plan across files: for random acyclic task sets split
//! over Markdown, YAML, JSON and CSV files, the plan equals a simple model, and
//! every task is located on a line of its own file that names it.
//!
//! 24 cases by default; a deeper run: `PROPTEST_CASES=1000 cargo test -p ssot-core
//! --test store_props`.
#![cfg(feature = "store")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use ssot_core::format::{self, Format};
use ssot_core::store::Store;
use ssot_core::{Status, Task, TaskId, TaskList};

const FILES: [(&str, Format); 4] = [
    ("a.md", Format::Markdown),
    ("b.tasks.yaml", Format::Yaml),
    ("c.tasks.json", Format::Json),
    ("d.tasks.csv", Format::Csv),
];

#[derive(Debug, Clone)]
struct Spec {
    status: Status,
    deps: Vec<usize>,
    file: usize,
}

fn arb_specs() -> impl Strategy<Value = Vec<Spec>> {
    (1usize..14).prop_flat_map(|n| {
        (0..n)
            .map(|i| {
                (
                    prop::sample::select(Status::ALL.to_vec()),
                    prop::collection::btree_set(0..i.max(1), 0..=i.min(3)),
                    0usize..FILES.len(),
                )
                    .prop_map(move |(status, deps, file)| Spec {
                        status,
                        // Only earlier tasks: the set is acyclic.
                        deps: deps.into_iter().filter(|&d| d < i).collect(),
                        file,
                    })
            })
            .collect::<Vec<_>>()
    })
}

fn id(i: usize) -> TaskId {
    TaskId::new(format!("t{i}")).unwrap()
}

/// The not-done tasks below `i` that nothing holds.
fn model_roots(specs: &[Spec], i: usize) -> BTreeSet<usize> {
    let held = |j: usize| -> Vec<usize> {
        specs[j]
            .deps
            .iter()
            .copied()
            .filter(|&d| specs[d].status != Status::Done)
            .collect()
    };
    let mut roots = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut stack = held(i);
    while let Some(j) = stack.pop() {
        if !seen.insert(j) {
            continue;
        }
        let h = held(j);
        if h.is_empty() {
            roots.insert(j);
        } else {
            stack.extend(h);
        }
    }
    roots
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_plan_across_files_equals_the_model(specs in arb_specs()) {
        let dir = tempfile::tempdir().unwrap();
        let mut lists: BTreeMap<usize, Vec<Task>> = BTreeMap::new();
        for (i, s) in specs.iter().enumerate() {
            let mut t = Task::new(id(i), format!("Task number {i}")).with_status(s.status);
            t.dependencies = s.deps.iter().map(|&d| id(d)).collect();
            lists.entry(s.file).or_default().push(t);
        }
        for (f, tasks) in &lists {
            let (name, fmt) = FILES[*f];
            let text = format::render(fmt, &TaskList::new(tasks.clone())).unwrap();
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let plan = store.plan().unwrap();
        prop_assert_eq!(plan.len(), specs.len());

        let done = |d: &usize| specs[*d].status == Status::Done;
        let mut ready: Vec<String> = Vec::new();
        let mut blocked: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            if s.status != Status::Pending {
                continue;
            }
            if s.deps.iter().all(done) {
                ready.push(id(i).to_string());
            } else {
                let mut waiting: Vec<String> =
                    s.deps.iter().filter(|d| !done(d)).map(|&d| id(d).to_string()).collect();
                waiting.sort();
                let mut roots: Vec<String> =
                    model_roots(&specs, i).into_iter().map(|d| id(d).to_string()).collect();
                roots.sort();
                blocked.push((id(i).to_string(), waiting, roots));
            }
        }
        ready.sort();
        blocked.sort();
        let got_ready: Vec<String> = plan.ready().iter().map(ToString::to_string).collect();
        prop_assert_eq!(got_ready, ready);
        let got_blocked: Vec<(String, Vec<String>, Vec<String>)> = plan
            .blocked()
            .iter()
            .map(|b| {
                let s = |v: &[TaskId]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
                (b.id.to_string(), s(&b.waiting_on), s(&b.root_causes))
            })
            .collect();
        prop_assert_eq!(got_blocked, blocked);

        // Every task is found in its own file, on a line that names it (a JSON
        // object's line is its `{`, the id a line or two below).
        for (i, s) in specs.iter().enumerate() {
            let (name, fmt) = FILES[s.file];
            let planned = plan.task(id(i).as_str()).unwrap();
            prop_assert_eq!(&planned.location.file, name);
            let line = planned.location.line.expect("every task has a line");
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let needle = format!("t{i}");
            let window = if fmt == Format::Json { 3 } else { 1 };
            let found = lines[line - 1..(line - 1 + window).min(lines.len())]
                .iter()
                .any(|l| l.split(|c: char| !c.is_alphanumeric()).any(|w| w == needle));
            prop_assert!(found, "{name}:{line} does not name {needle}:\n{text}");
        }

        // next_task is the first ready task in queue order: all are normal
        // priority without creation time, so the smallest id.
        let next = plan.next_task().map(|t| t.task.id.to_string());
        prop_assert_eq!(next, plan.ready().first().map(ToString::to_string));
    }
}
