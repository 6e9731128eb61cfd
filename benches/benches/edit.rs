//! In-place edits of one task in a 10,000-task YAML and JSON file, beside what an
//! edit used to cost (parse and re-render the whole file) and beside one write of the
//! file. Goal: an edit costs less than 5% of a parse and re-render.
//!
//! Run: `cargo bench -p ssot-benches --bench edit` (add a filter such as `yaml`).

// A benchmark's setup failing is a bug in the benchmark: stop loudly.
#![allow(clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ssot_core::format::edit::{Position, TaskDocument};
use ssot_core::{Format, Priority, Status, Tag, Task, TaskId, TaskList, format};

const TASKS: usize = 10_000;

/// 10,000 tasks with a few fields each, deterministic.
fn tasks() -> Vec<Task> {
    let mut state = 42u64;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    (0..TASKS)
        .map(|i| {
            let id = TaskId::new(format!("task-{i}")).expect("valid id");
            let words = [
                "deploy", "the", "release", "fix", "flaky", "test", "docs", "café",
            ];
            let title: Vec<&str> = (0..3 + next(6)).map(|_| words[next(8) as usize]).collect();
            let mut t = Task::new(id, title.join(" ")).with_status(Status::Pending);
            t.priority = Priority::ALL[next(6) as usize];
            if i > 0 && next(2) == 0 {
                t.dependencies
                    .push(TaskId::new(format!("task-{}", next(i as u64))).expect("valid id"));
            }
            if next(2) == 0 {
                t.tags.push(Tag::new("ops").expect("valid tag"));
            }
            t
        })
        .collect()
}

fn edit(c: &mut Criterion, fmt: Format) {
    let list = TaskList::new(tasks());
    let text = format::render(fmt, &list).expect("renders");
    let mut doc = TaskDocument::parse(fmt, text.clone()).expect("parses");
    let target = format!("task-{}", TASKS / 2);
    let dir = std::env::temp_dir().join(format!("ssot-bench-edit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("tasks");

    let mut group = c.benchmark_group(format!("{fmt} edit (10,000 tasks)"));
    group.throughput(Throughput::Bytes(text.len() as u64));
    let mut done = false;
    group.bench_function("set_status one task", |b| {
        b.iter(|| {
            // Pending and done go both ways; the value's length changes each time.
            done = !done;
            let to = if done { Status::Done } else { Status::Pending };
            doc.set_status(black_box(&target), to).expect("allowed");
        })
    });
    let mut long = false;
    group.bench_function("set_title one task", |b| {
        b.iter(|| {
            long = !long;
            let title = if long {
                "A longer title for this task"
            } else {
                "Short"
            };
            doc.set_title(black_box(&target), title)
                .expect("valid title");
        })
    });
    let new = Task::new(TaskId::new("new-task").expect("valid id"), "A new task");
    let after = Position::After(TaskId::new(target.clone()).expect("valid id"));
    // Inserted and removed again in one iteration, on the same document: a clone per
    // iteration would have exact capacities, and every insert into it would pay for
    // growing the text, the task vector and the id index, which a long-lived
    // document pays once.
    group.bench_function("insert + remove one task (middle)", |b| {
        b.iter(|| {
            doc.insert(black_box(new.clone()), after.clone())
                .expect("inserts");
            doc.remove(black_box("new-task")).expect("removes")
        })
    });
    group.bench_function("remove one task (middle)", |b| {
        b.iter_batched_ref(
            || doc.clone(),
            |d| d.remove(black_box(&target)).expect("removes"),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("reference: parse + render every task", |b| {
        b.iter(|| {
            let list = format::parse(fmt, black_box(doc.as_str())).expect("parses");
            format::render(fmt, &list).expect("renders")
        })
    });
    group.bench_function("reference: render every task", |b| {
        b.iter(|| format::render(fmt, black_box(&list)).expect("renders"))
    });
    group.bench_function("reference: fs::write of the file", |b| {
        b.iter(|| std::fs::write(&file, black_box(doc.as_str())).expect("write"))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn yaml(c: &mut Criterion) {
    edit(c, Format::Yaml);
}

fn json(c: &mut Criterion) {
    edit(c, Format::Json);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = yaml, json
}
criterion_main!(benches);
