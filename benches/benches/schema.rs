//! Validation through `ssot-schema`'s registry beside the floor: a `jsonschema`
//! validator compiled directly from the same schema and called with `is_valid`.
//!
//! - `schema/value`: a 10,000-task list and each registry example as a
//!   `serde_json::Value`: `SchemaRegistry::validate` (name lookup, validation, a
//!   `Report`) against `Validator::is_valid`. The ratio is the registry's overhead.
//! - `schema/text`: the same 10,000-task list as YAML and as JSON text:
//!   `validate_yaml` / `validate_json` (strict parse, validation, line mapping that
//!   only runs on invalid documents) against `yaml_serde` / `serde_json` parsing into
//!   a `Value` plus `is_valid`. The documents are valid, so the ratio shows that line
//!   mapping costs nothing when there is nothing to report.
//! - `schema/invalid`: the same YAML text with one mistake: `validate_yaml` (every
//!   violation, with line and column) against parse plus `iter_errors` collected
//!   without positions. This is what a position costs when there is one to give.
//!
//! Run: `cargo bench -p ssot-benches --bench schema` (add a filter such as `value`).

// A benchmark's setup failing is a bug in the benchmark: stop loudly.
#![allow(clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use ssot_schema::{SchemaRegistry, builtin};

const TASKS: usize = 10_000;

/// A valid task list of `n` tasks, deterministic.
fn task_list(n: usize) -> Value {
    const PRIORITIES: [&str; 6] = ["critical", "high", "medium", "normal", "low", "lowest"];
    const STATUSES: [&str; 5] = ["pending", "in_progress", "done", "blocked", "cancelled"];
    let tasks: Vec<Value> = (0..n)
        .map(|i| {
            let mut task = json!({
                "id": format!("task-{i}"),
                "title": format!("Deploy release {i} to the café cluster"),
                "priority": PRIORITIES[i % 6],
                "status": STATUSES[i % 5],
                "category": "ops",
                "created_at": "2026-11-20T09:30:00Z",
                "estimated_time": "1h30m",
                "tags": ["area/deploy", "sprint-12"],
            });
            if i > 0 {
                task["dependencies"] = json!([format!("task-{}", i - 1)]);
            }
            if i % 3 == 0 {
                task["description"] =
                    json!("Roll out behind the feature flag; watch the error rate.");
            }
            task
        })
        .collect();
    json!({ "project": "bench", "tasks": tasks })
}

/// The built-in schemas compiled directly with `jsonschema`, as a user without this
/// crate would: one resolution registry, one validator per schema.
struct Floor {
    validators: Vec<(&'static str, jsonschema::Validator)>,
}

impl Floor {
    fn new() -> Floor {
        let schemas: Vec<(&str, Value)> = builtin::ALL
            .iter()
            .map(|(name, text)| (*name, serde_json::from_str(text).expect("built-in schema")))
            .collect();
        let registry = jsonschema::Registry::new()
            .extend(schemas.iter().map(|(name, schema)| {
                (format!("{}{name}", ssot_schema::NAME_BASE), schema.clone())
            }))
            .expect("uris")
            .prepare()
            .expect("registry");
        let validators = schemas
            .iter()
            .map(|(name, schema)| {
                let v = jsonschema::options()
                    .with_registry(&registry)
                    .build(schema)
                    .expect("compiles");
                (*name, v)
            })
            .collect();
        Floor { validators }
    }

    fn get(&self, name: &str) -> &jsonschema::Validator {
        &self
            .validators
            .iter()
            .find(|(n, _)| *n == name)
            .expect("schema")
            .1
    }
}

fn registry() -> SchemaRegistry {
    let mut r = SchemaRegistry::new();
    r.register_builtins().expect("built-ins register");
    r
}

fn examples() -> Vec<(&'static str, &'static str, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/data/registries");
    [
        (builtin::AUTOMATION_REGISTRY, "automation"),
        (builtin::PIPELINE_REGISTRY, "pipeline"),
        (builtin::ORCHESTRATION_REGISTRY, "orchestration"),
        (builtin::MONITORING_REGISTRY, "monitoring"),
        (builtin::SECURITY_REGISTRY, "security"),
    ]
    .into_iter()
    .map(|(schema, file)| {
        let text = std::fs::read_to_string(dir.join(format!("{file}.yaml"))).expect("example");
        (schema, file, serde_yaml::from_str(&text).expect("yaml"))
    })
    .collect()
}

fn value(c: &mut Criterion) {
    let registry = registry();
    let floor = Floor::new();
    let mut group = c.benchmark_group("schema/value");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));

    let list = task_list(TASKS);
    assert!(
        registry
            .validate(builtin::TASK_LIST, &list)
            .expect("known")
            .is_valid()
    );
    assert!(floor.get(builtin::TASK_LIST).is_valid(&list));
    group.throughput(Throughput::Elements(TASKS as u64));
    group.bench_function(BenchmarkId::new("registry", "tasks-10k"), |b| {
        b.iter(|| {
            registry
                .validate(builtin::TASK_LIST, black_box(&list))
                .expect("known")
        });
    });
    group.bench_function(BenchmarkId::new("jsonschema-floor", "tasks-10k"), |b| {
        let v = floor.get(builtin::TASK_LIST);
        b.iter(|| v.is_valid(black_box(&list)));
    });

    group.throughput(Throughput::Elements(1));
    for (schema, file, doc) in examples() {
        assert!(
            registry.validate(schema, &doc).expect("known").is_valid(),
            "{file}"
        );
        group.bench_function(BenchmarkId::new("registry", file), |b| {
            b.iter(|| registry.validate(schema, black_box(&doc)).expect("known"));
        });
        group.bench_function(BenchmarkId::new("jsonschema-floor", file), |b| {
            let v = floor.get(schema);
            b.iter(|| v.is_valid(black_box(&doc)));
        });
    }
    group.finish();
}

fn text(c: &mut Criterion) {
    let registry = registry();
    let floor = Floor::new();
    let list = task_list(TASKS);
    let yaml = serde_yaml::to_string(&list).expect("yaml");
    let json = serde_json::to_string_pretty(&list).expect("json");
    let v = floor.get(builtin::TASK_LIST);
    let mut group = c.benchmark_group("schema/text");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));

    group.throughput(Throughput::Bytes(yaml.len() as u64));
    assert!(
        registry
            .validate_yaml(builtin::TASK_LIST, &yaml)
            .expect("reads")
            .is_valid()
    );
    group.bench_function(BenchmarkId::new("registry", "yaml-10k"), |b| {
        b.iter(|| {
            registry
                .validate_yaml(builtin::TASK_LIST, black_box(&yaml))
                .expect("reads")
        });
    });
    group.bench_function(
        BenchmarkId::new("parse+jsonschema-floor", "yaml-10k"),
        |b| {
            b.iter(|| {
                let value: Value = serde_yaml::from_str(black_box(&yaml)).expect("yaml");
                v.is_valid(&value)
            });
        },
    );

    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function(BenchmarkId::new("registry", "json-10k"), |b| {
        b.iter(|| {
            registry
                .validate_json(builtin::TASK_LIST, black_box(&json))
                .expect("reads")
        });
    });
    group.bench_function(
        BenchmarkId::new("parse+jsonschema-floor", "json-10k"),
        |b| {
            b.iter(|| {
                let value: Value = serde_json::from_str(black_box(&json)).expect("json");
                v.is_valid(&value)
            });
        },
    );
    group.finish();
}

fn invalid(c: &mut Criterion) {
    let registry = registry();
    let floor = Floor::new();
    let mut list = task_list(TASKS);
    list["tasks"][TASKS / 2]["estimated_time"] = json!("90 minutes");
    let yaml = serde_yaml::to_string(&list).expect("yaml");
    let v = floor.get(builtin::TASK_LIST);
    let report = registry
        .validate_yaml(builtin::TASK_LIST, &yaml)
        .expect("reads");
    assert_eq!(report.errors().len(), 1);
    assert!(report.errors()[0].line().is_some());
    let mut group = c.benchmark_group("schema/invalid");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Bytes(yaml.len() as u64));
    group.bench_function(
        BenchmarkId::new("registry-with-lines", "yaml-10k-one-error"),
        |b| {
            b.iter(|| {
                registry
                    .validate_yaml(builtin::TASK_LIST, black_box(&yaml))
                    .expect("reads")
            });
        },
    );
    group.bench_function(
        BenchmarkId::new("parse+jsonschema-errors", "yaml-10k-one-error"),
        |b| {
            b.iter(|| {
                let value: Value = serde_yaml::from_str(black_box(&yaml)).expect("yaml");
                v.iter_errors(&value)
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
            });
        },
    );
    group.finish();
}

criterion_group!(benches, value, text, invalid);
criterion_main!(benches);
