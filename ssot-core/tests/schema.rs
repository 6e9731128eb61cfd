#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! ssot-core's JSON and YAML and `ssot-schema`'s built-in task schemas agree: what
//! ssot-core writes validates, and what the schemas accept, ssot-core reads.

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use ssot_core::format::{json, markdown, yaml};
use ssot_core::{Extra, TaskList};
use ssot_schema::{SchemaRegistry, builtin};

fn registry() -> &'static SchemaRegistry {
    static REGISTRY: OnceLock<SchemaRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = SchemaRegistry::new();
        registry.register_builtins().unwrap();
        registry
    })
}

/// The violations of `text` (JSON or YAML) against the task-list schema, as lines.
fn violations(format: &str, text: &str) -> Vec<String> {
    let report = match format {
        "json" => registry().validate_json(builtin::TASK_LIST, text),
        _ => registry().validate_yaml(builtin::TASK_LIST, text),
    }
    .unwrap_or_else(|e| panic!("{format} could not be read: {e}\n{text}"));
    report
        .errors()
        .iter()
        .map(|v| format!("{} {}: {}", v.instance_location(), v.keyword(), v.message()))
        .collect()
}

/// Whether `key` is the task schema's idea of a misspelled field: a field name up to
/// case (`ID`), or one edit (a character removed, added, replaced, or two adjacent
/// ones swapped) from one, up to case. Written here from the schema's description, as
/// an oracle independent of its regular expression.
fn misspells_a_field(key: &str) -> bool {
    let key: Vec<char> = key.to_lowercase().chars().collect();
    let one_edit = |field: &str| {
        let f: Vec<char> = field.chars().collect();
        let (k, n) = (key.len(), f.len());
        if k == n {
            let diff: Vec<usize> = (0..n).filter(|&i| key[i] != f[i]).collect();
            diff.len() <= 1
                || (diff.len() == 2
                    && diff[1] == diff[0] + 1
                    && key[diff[0]] == f[diff[1]]
                    && key[diff[1]] == f[diff[0]])
        } else if k + 1 == n || n + 1 == k {
            let (short, long) = if k < n { (&key, &f) } else { (&f, &key) };
            let i = (0..short.len())
                .find(|&i| short[i] != long[i])
                .unwrap_or(short.len());
            short[i..] == long[i + 1..]
        } else {
            false
        }
    };
    key == ['i', 'd']
        || [
            "title",
            "priority",
            "status",
            "category",
            "description",
            "dependencies",
            "created_at",
            "updated_at",
            "estimated_time",
            "actual_time",
            "tags",
        ]
        .iter()
        .any(|f| one_edit(f))
}

#[test]
fn the_misspelling_oracle_agrees_with_the_schema_on_examples() {
    for key in [
        "prioirty",
        "Title",
        "tag",
        "created-at",
        "createdAt",
        "ID",
        "titles",
        "state_",
    ] {
        let doc = json!([{"title": "x", key: 1}]).to_string();
        assert_eq!(
            misspells_a_field(key),
            !violations("json", &doc).is_empty(),
            "{key}"
        );
    }
    for key in ["owner", "due", "kid", "x-cost", "states", "priorities"] {
        let doc = json!([{"title": "x", key: 1}]).to_string();
        assert_eq!(
            misspells_a_field(key),
            !violations("json", &doc).is_empty(),
            "{key}"
        );
    }
}

#[test]
fn markdown_metadata_written_as_json_and_yaml_validates() {
    let list = markdown::parse(
        "- [ ] Pay rent 📅 2026-02-01 ⏳ 2026-01-30 🛫 2026-01-29 ➕ 2026-01-01 🔁 every month [owner:: kim] ^rent\n\
         - [x] Filed ✅ 2026-01-02 ❌ 2026-01-03 🏁 delete\n\
         - [?] Odd one ⏱ 1h30m [created_at:: 2026-01-01T10:00:00Z]\n",
    )
    .unwrap();
    assert_eq!(list.tasks[0].extra["due"], "2026-02-01");
    for (format, text) in [
        ("json", json::render(&list).unwrap()),
        ("yaml", yaml::render(&list).unwrap()),
    ] {
        assert_eq!(violations(format, &text), Vec::<String>::new(), "{text}");
    }
}

/// Extras as ssot-core keeps them, under keys that do not misspell a field.
fn arb_extra() -> BoxedStrategy<Extra> {
    proptest::collection::vec(
        (
            common::arb_extra_key().prop_filter("a misspelled field", |k| !misspells_a_field(k)),
            common::arb_json_value(),
        ),
        0..4,
    )
    .prop_map(|kv| kv.into_iter().collect())
    .boxed()
}

fn arb_list() -> impl Strategy<Value = TaskList> {
    let task = common::arb_task_with(any::<String>().boxed(), arb_extra());
    (
        common::arb_tasks(task, 5),
        proptest::option::of(arb_extra().prop_map(|mut doc| {
            doc.shift_remove("tasks");
            doc
        })),
    )
        .prop_map(|(mut list, document)| {
            list.document = document;
            list
        })
}

/// A string the schema's `pattern` for `def` accepts, generated from the pattern.
fn from_pattern(def: &str) -> BoxedStrategy<String> {
    let schema = registry().schema(builtin::TASK).unwrap();
    let pattern = schema["$defs"][def]["pattern"].as_str().unwrap();
    let inner = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .unwrap();
    proptest::string::string_regex(inner).unwrap().boxed()
}

fn nullable(s: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![1 => Just(Value::Null), 4 => s].boxed()
}

/// One task as the task schema describes it: every field optional but `title`, any
/// enum value (aliases and null included), ids, tags, timestamps and durations from
/// the schema's own patterns, extension fields. Ids are made unique by the caller.
fn arb_task_value() -> impl Strategy<Value = Map<String, Value>> {
    let string = || any::<String>().prop_map(Value::String).boxed();
    let ids = || {
        proptest::collection::vec(from_pattern("id").prop_map(Value::String), 0..3)
            .prop_map(Value::Array)
            .boxed()
    };
    let tags = proptest::collection::vec(from_pattern("tag").prop_map(Value::String), 0..3)
        .prop_map(Value::Array)
        .boxed();
    let enum_of = |def: &str| {
        let schema = registry().schema(builtin::TASK).unwrap();
        let values = schema["properties"][def]["enum"]
            .as_array()
            .unwrap()
            .clone();
        proptest::sample::select(values).boxed()
    };
    let fields: Vec<(&str, BoxedStrategy<Value>)> = vec![
        ("priority", enum_of("priority")),
        ("status", enum_of("status")),
        ("category", nullable(string())),
        ("description", nullable(string())),
        ("dependencies", nullable(ids())),
        (
            "created_at",
            nullable(from_pattern("timestamp").prop_map(Value::String).boxed()),
        ),
        (
            "updated_at",
            nullable(from_pattern("timestamp").prop_map(Value::String).boxed()),
        ),
        (
            "estimated_time",
            nullable(from_pattern("duration").prop_map(Value::String).boxed()),
        ),
        (
            "actual_time",
            nullable(from_pattern("duration").prop_map(Value::String).boxed()),
        ),
        ("tags", nullable(tags)),
        ("due", string()),
        ("x-cost", common::arb_json_value().boxed()),
    ];
    let optional: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
        .into_iter()
        .map(|(k, s)| proptest::option::of(s.prop_map(move |v| (k.to_owned(), v))).boxed())
        .collect();
    (
        any::<String>(),
        proptest::option::of(nullable(from_pattern("id").prop_map(Value::String).boxed())),
        optional,
    )
        .prop_map(|(title, id, fields)| {
            let mut task = Map::new();
            task.insert("title".to_owned(), Value::String(title));
            if let Some(id) = id {
                task.insert("id".to_owned(), id);
            }
            task.extend(fields.into_iter().flatten());
            task
        })
}

/// A task-list document the schemas accept: a list of tasks, or a map with `tasks`
/// and other keys. Explicit ids get the task's index appended, to be unique.
fn arb_document() -> impl Strategy<Value = Value> {
    (
        proptest::collection::vec(arb_task_value(), 0..4),
        any::<bool>(),
        arb_extra(),
    )
        .prop_map(|(tasks, bare, mut doc)| {
            let tasks: Vec<Value> = tasks
                .into_iter()
                .enumerate()
                .map(|(i, mut task)| {
                    if let Some(Value::String(id)) = task.get_mut("id") {
                        id.push_str(&format!("-{i}"));
                    }
                    Value::Object(task)
                })
                .collect();
            if bare {
                Value::Array(tasks)
            } else {
                doc.shift_remove("tasks");
                let mut map: Map<String, Value> = doc.into_iter().collect();
                map.insert("tasks".to_owned(), Value::Array(tasks));
                Value::Object(map)
            }
        })
}

proptest! {
    #![proptest_config(common::cases(48))]

    /// Every list ssot-core writes as JSON or YAML validates against `ssot/task-list`,
    /// extras under any key but a misspelled field name included.
    #[test]
    fn every_list_ssot_core_writes_validates(list in arb_list()) {
        for (format, text) in [
            ("json", json::render(&list).unwrap()),
            ("yaml", yaml::render(&list).unwrap()),
        ] {
            let found = violations(format, &text);
            prop_assert!(found.is_empty(), "{format}: {found:?}\n{text}");
        }
    }

    /// Every document `ssot/task-list` accepts, ssot-core reads, as JSON and as YAML.
    #[test]
    fn every_document_the_schema_accepts_parses(doc in arb_document()) {
        let report = registry().validate(builtin::TASK_LIST, &doc).unwrap();
        let found: Vec<String> = report.errors().iter().map(|v| format!("{} {}: {}", v.instance_location(), v.keyword(), v.message())).collect();
        prop_assert!(found.is_empty(), "the generator made an invalid document: {found:?}\n{doc:#}");
        let text = doc.to_string();
        let read = json::parse(&text);
        prop_assert!(read.is_ok(), "json: {:?}\n{text}", read.err().map(|e| e.to_string()));
        let text = serde_yaml::to_string(&doc).unwrap();
        let read = yaml::parse(&text);
        prop_assert!(read.is_ok(), "yaml: {:?}\n{text}", read.err().map(|e| e.to_string()));
    }
}

#[test]
fn timestamps_and_durations_ssot_core_cannot_read_are_refused_by_the_schema() {
    for (field, value) in [
        ("created_at", "2026-02-31T00:00:00Z"),
        ("created_at", "2026-02-29T00:00:00Z"),
        ("created_at", "2026-01-01T00:00:00.1234567891Z"),
        ("created_at", "9999-12-31T00:00:00Z"),
        ("estimated_time", "1d"),
        ("estimated_time", "2w"),
        ("estimated_time", "1.5h30m"),
        ("estimated_time", "30m1h"),
    ] {
        let doc = json!([{"title": "x", field: value}]).to_string();
        assert!(json::parse(&doc).is_err(), "{value}");
        assert!(!violations("json", &doc).is_empty(), "{value}");
    }
    for (field, value) in [
        ("created_at", "2024-02-29T00:00:00Z"),
        ("created_at", "-000044-03-15T00:00:00Z"),
        ("created_at", "9999-12-30T22:00:00.999999999Z"),
        ("estimated_time", "72h7s123ms456µs789ns"),
        ("estimated_time", "1h 30m"),
    ] {
        let doc = json!([{"title": "x", field: value}]).to_string();
        assert!(json::parse(&doc).is_ok(), "{value}");
        assert_eq!(violations("json", &doc), Vec::<String>::new(), "{value}");
    }
}
