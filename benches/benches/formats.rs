//! Parsing and rendering 10,000 tasks in each format, beside the floor.
//!
//! The floor for JSON, YAML and CSV is the same library (serde_json, yaml_serde, csv)
//! (de)serializing the same text into a plain struct of strings with no model logic:
//! no enum names, no timestamps or durations parsed, no ids validated or derived, no
//! unknown fields kept. The ratio ssot / floor is what the model costs. For Markdown
//! the floor is pulldown-cmark walking the same document's events and nothing else.
//!
//! Run: `cargo bench -p ssot-benches --bench formats` (add a filter such as `json`).

// A benchmark's setup failing is a bug in the benchmark: stop loudly.
#![allow(clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use ssot_core::format::{self, markdown::MarkdownDocument};
use ssot_core::{Format, Priority, Status, Tag, Task, TaskId, TaskList};

const TASKS: usize = 10_000;

/// A deterministic pseudo-random sequence (64-bit LCG), so every run and every peer
/// sees the same data without a `rand` dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: [&str; 16] = [
    "deploy",
    "the",
    "release",
    "fix",
    "flaky",
    "test",
    "in",
    "parser",
    "write",
    "docs",
    "für",
    "café",
    "日本語",
    "review",
    "cache",
    "rollback",
];

/// Realistic tasks: every field set on some, dependencies on earlier tasks.
fn tasks() -> Vec<Task> {
    let mut rng = Lcg(42);
    let mut out = Vec::with_capacity(TASKS);
    for i in 0..TASKS {
        let words = 3 + rng.below(8);
        let title: Vec<&str> = (0..words)
            .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
            .collect();
        let id = TaskId::new(format!("task-{i}")).expect("valid id");
        let mut t = Task::new(id, title.join(" ")).with_status(match rng.below(4) {
            0 => Status::Done,
            1 => Status::InProgress,
            _ => Status::Pending,
        });
        t.priority = Priority::ALL[rng.below(6) as usize];
        if i > 0 {
            for _ in 0..rng.below(3) {
                let dep = rng.below(i as u64);
                let dep = TaskId::new(format!("task-{dep}")).expect("valid id");
                if !t.dependencies.contains(&dep) {
                    t.dependencies.push(dep);
                }
            }
        }
        for _ in 0..rng.below(3) {
            let tag = ["backend", "frontend", "ops", "area/db", "urgent"][rng.below(5) as usize];
            let tag = Tag::new(tag).expect("valid tag");
            if !t.tags.contains(&tag) {
                t.tags.push(tag);
            }
        }
        if rng.below(2) == 0 {
            t.estimated_time = Some(Duration::from_secs(60 * (15 + rng.below(240))));
        }
        if rng.below(4) == 0 {
            t.created_at = Some(
                jiff::Timestamp::from_second(1_760_000_000 + rng.below(10_000_000) as i64)
                    .expect("in range"),
            );
        }
        out.push(t);
    }
    out
}

/// The floor's record: the same fields, as plain strings.
#[derive(Serialize, Deserialize)]
struct PlainTask {
    id: String,
    title: String,
    priority: String,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    dependencies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    estimated_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actual_time: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
}

/// The CSV floor's record: list fields stay one `;`-separated cell, as in the file.
#[derive(Serialize, Deserialize)]
struct PlainCsvTask {
    id: String,
    title: String,
    priority: String,
    status: String,
    category: String,
    description: String,
    dependencies: String,
    created_at: String,
    updated_at: String,
    estimated_time: String,
    actual_time: String,
    tags: String,
}

fn bench_format(c: &mut Criterion, list: &TaskList, fmt: Format) {
    let text = format::render(fmt, list).expect("benchmark tasks are representable");
    let mut group = c.benchmark_group(fmt.as_str());
    group.throughput(Throughput::Bytes(text.len() as u64));

    group.bench_function(BenchmarkId::new("parse", "ssot"), |b| {
        b.iter(|| format::parse(fmt, black_box(&text)).expect("parses"))
    });
    group.bench_function(BenchmarkId::new("render", "ssot"), |b| {
        b.iter(|| format::render(fmt, black_box(list)).expect("renders"))
    });

    match fmt {
        Format::Json => {
            let plain: Vec<PlainTask> = serde_json::from_str(&text).expect("floor parses");
            group.bench_function(BenchmarkId::new("parse", "floor serde_json"), |b| {
                b.iter(|| serde_json::from_str::<Vec<PlainTask>>(black_box(&text)).expect("ok"))
            });
            group.bench_function(BenchmarkId::new("render", "floor serde_json"), |b| {
                b.iter(|| serde_json::to_string_pretty(black_box(&plain)).expect("ok"))
            });
        }
        Format::Yaml => {
            let plain: Vec<PlainTask> = serde_yaml::from_str(&text).expect("floor parses");
            group.bench_function(BenchmarkId::new("parse", "floor yaml_serde"), |b| {
                b.iter(|| serde_yaml::from_str::<Vec<PlainTask>>(black_box(&text)).expect("ok"))
            });
            group.bench_function(BenchmarkId::new("render", "floor yaml_serde"), |b| {
                b.iter(|| serde_yaml::to_string(black_box(&plain)).expect("ok"))
            });
        }
        Format::Csv => {
            let read = |text: &str| -> Vec<PlainCsvTask> {
                csv::Reader::from_reader(text.as_bytes())
                    .deserialize()
                    .collect::<Result<_, _>>()
                    .expect("floor parses")
            };
            let plain = read(&text);
            group.bench_function(BenchmarkId::new("parse", "floor csv"), |b| {
                b.iter(|| read(black_box(&text)))
            });
            group.bench_function(BenchmarkId::new("render", "floor csv"), |b| {
                b.iter(|| {
                    let mut w = csv::Writer::from_writer(Vec::with_capacity(text.len()));
                    for r in black_box(&plain) {
                        w.serialize(r).expect("ok");
                    }
                    String::from_utf8(w.into_inner().expect("ok")).expect("utf-8")
                })
            });
        }
        Format::Markdown => {
            group.bench_function(
                BenchmarkId::new("parse", "floor pulldown-cmark events"),
                |b| {
                    b.iter(|| {
                        pulldown_cmark::Parser::new_ext(
                            black_box(&text),
                            pulldown_cmark::Options::empty(),
                        )
                        .into_offset_iter()
                        .count()
                    })
                },
            );
        }
        _ => {}
    }
    group.finish();
}

fn formats(c: &mut Criterion) {
    let list = TaskList::new(tasks());
    for fmt in [Format::Json, Format::Yaml, Format::Csv, Format::Markdown] {
        bench_format(c, &list, fmt);
    }
    markdown_parser_path(c, &list);
}

/// The same tasks after a fenced code block: a document the plain-line scan declines,
/// so items are found by pulldown-cmark, as in most hand-written files.
fn markdown_parser_path(c: &mut Criterion, list: &TaskList) {
    let mut text = String::from("```sh\ncargo run --example quickstart\n```\n\n");
    text.push_str(&format::render(Format::Markdown, list).expect("representable"));
    let mut group = c.benchmark_group("markdown-parser-path");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function(BenchmarkId::new("parse", "ssot"), |b| {
        b.iter(|| format::parse(Format::Markdown, black_box(&text)).expect("parses"))
    });
    group.bench_function(
        BenchmarkId::new("parse", "floor pulldown-cmark events"),
        |b| {
            b.iter(|| {
                pulldown_cmark::Parser::new_ext(black_box(&text), pulldown_cmark::Options::empty())
                    .into_offset_iter()
                    .count()
            })
        },
    );
    group.finish();
}

/// Markdown with headings and prose around the tasks, as people write it.
fn markdown_document(list: &TaskList) -> String {
    let rendered = format::render(Format::Markdown, list).expect("representable");
    let mut doc = String::with_capacity(rendered.len() * 11 / 10);
    for (i, line) in rendered.lines().enumerate() {
        if i % 100 == 0 {
            doc.push_str(&format!(
                "\n## Sprint {}\n\nNotes for this sprint.\n\n",
                i / 100
            ));
        }
        doc.push_str(line);
        doc.push('\n');
    }
    doc
}

/// An in-place edit of one task in a 10,000-task file, beside what it should cost:
/// one write of the file, and, for contrast, re-rendering every task.
fn markdown_edit(c: &mut Criterion) {
    let list = TaskList::new(tasks());
    let text = markdown_document(&list);
    let mut doc = MarkdownDocument::parse(text.clone()).expect("parses");
    let target = doc.tasks()[TASKS / 2].id.clone();
    // Toggle between two states the state machine allows both ways.
    doc.set_status(target.as_str(), Status::Pending)
        .expect("allowed");
    let dir = std::env::temp_dir().join(format!("ssot-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("tasks.md");

    let mut group = c.benchmark_group("markdown edit (10,000 tasks)");
    group.throughput(Throughput::Bytes(text.len() as u64));
    let mut done = false;
    group.bench_function("set_status one task", |b| {
        b.iter(|| {
            done = !done;
            let to = if done { Status::Done } else { Status::Pending };
            doc.set_status(black_box(target.as_str()), to)
                .expect("allowed");
        })
    });
    let mut long = false;
    group.bench_function("set_title one task (length changes)", |b| {
        b.iter(|| {
            long = !long;
            let title = if long {
                "A longer title for this task"
            } else {
                "Short"
            };
            doc.set_title(black_box(target.as_str()), title)
                .expect("valid title");
        })
    });
    // What saving the edit costs: the edit, then the whole file written to a
    // temporary file beside it, fsynced, renamed over the old one, and the directory
    // fsynced so the rename survives a crash. The editor changes bytes in memory; a
    // save still writes every byte of the file.
    group.bench_function("set_status one task + durable save", |b| {
        b.iter(|| {
            done = !done;
            let to = if done { Status::Done } else { Status::Pending };
            doc.set_status(black_box(target.as_str()), to)
                .expect("allowed");
            durable_save(&dir, &file, doc.as_str());
        })
    });
    group.bench_function("reference: durable save alone", |b| {
        b.iter(|| durable_save(&dir, &file, black_box(doc.as_str())))
    });
    group.bench_function("reference: fs::write of the file", |b| {
        b.iter(|| std::fs::write(&file, black_box(doc.as_str())).expect("write"))
    });
    group.bench_function("reference: render every task", |b| {
        b.iter(|| format::render(Format::Markdown, black_box(&list)).expect("renders"))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes `text` to `file` so that after a crash the file holds either its old or its
/// new content: a temporary file in the same directory, written, fsynced, renamed
/// over `file`, then the directory fsynced.
fn durable_save(dir: &std::path::Path, file: &std::path::Path, text: &str) {
    use std::io::Write as _;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).expect("temp file");
    tmp.write_all(text.as_bytes()).expect("write");
    tmp.as_file().sync_all().expect("fsync file");
    tmp.persist(file).expect("rename");
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .expect("fsync directory");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = formats, markdown_edit
}
criterion_main!(benches);
