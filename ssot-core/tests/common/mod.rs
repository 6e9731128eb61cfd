//! Proptest strategies shared by the integration tests.
//!
//! Each test file uses only some of these, hence the `dead_code` allowance.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::Value;
use ssot_core::{Extra, Priority, Status, Tag, Task, TaskId, TaskList};

/// The field names of the task record; extra keys must avoid them.
pub const FIELDS: [&str; 13] = [
    "id",
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
    "extra",
];

pub fn arb_id() -> impl Strategy<Value = TaskId> {
    "[\\p{L}\\p{N}_.-]{1,12}".prop_map(|s| TaskId::new(s).expect("strategy yields valid ids"))
}

pub fn arb_tag() -> impl Strategy<Value = Tag> {
    "[\\p{L}\\p{N}_/-]{1,12}".prop_map(|s| Tag::new(s).expect("strategy yields valid tags"))
}

pub fn arb_priority() -> impl Strategy<Value = Priority> {
    proptest::sample::select(Priority::ALL.to_vec())
}

pub fn arb_status() -> impl Strategy<Value = Status> {
    proptest::sample::select(Status::ALL.to_vec())
}

/// Any instant jiff can represent, to the nanosecond.
pub fn arb_timestamp() -> impl Strategy<Value = Timestamp> {
    (
        Timestamp::MIN.as_second()..=Timestamp::MAX.as_second() - 1,
        0i32..1_000_000_000,
    )
        .prop_map(|(s, n)| Timestamp::new(s, n).expect("in range"))
}

/// Durations from zero to about 30 years, to the nanosecond, and round ones.
pub fn arb_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..1_000_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (0u64..10_000).prop_map(|m| Duration::from_secs(m * 60)),
    ]
}

/// A key that is not a task field.
pub fn arb_extra_key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,10}".prop_filter("not a task field", |k| !FIELDS.contains(&k.as_str()))
}

/// Extra fields whose values are all strings (what CSV and Markdown can hold).
pub fn arb_string_extra(value: BoxedStrategy<String>) -> impl Strategy<Value = Extra> {
    proptest::collection::vec((arb_extra_key(), value), 0..4)
        .prop_map(|kv| kv.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

/// Any JSON value, nested at most a few levels, floats excluded (see `arb_json_extra`).
pub fn arb_json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{1,6}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

pub fn arb_json_extra() -> impl Strategy<Value = Extra> {
    proptest::collection::vec((arb_extra_key(), arb_json_value()), 0..4)
        .prop_map(|kv| kv.into_iter().collect())
}

/// A task whose text fields come from `text` and whose extras come from `extra`.
pub fn arb_task_with(
    text: BoxedStrategy<String>,
    extra: BoxedStrategy<Extra>,
) -> impl Strategy<Value = Task> {
    (
        (arb_id(), text.clone(), arb_priority(), arb_status()),
        (
            text.clone(),
            text,
            proptest::collection::vec(arb_id(), 0..4),
        ),
        (
            proptest::option::of(arb_timestamp()),
            proptest::option::of(arb_timestamp()),
            proptest::option::of(arb_duration()),
            proptest::option::of(arb_duration()),
        ),
        (proptest::collection::vec(arb_tag(), 0..4), extra),
    )
        .prop_map(
            |(
                (id, title, priority, status),
                (category, description, dependencies),
                (created_at, updated_at, estimated_time, actual_time),
                (tags, extra),
            )| {
                let mut t = Task::new(id, title).with_status(status);
                t.priority = priority;
                t.category = category;
                t.description = description;
                t.dependencies = dependencies;
                t.created_at = created_at;
                t.updated_at = updated_at;
                t.estimated_time = estimated_time;
                t.actual_time = actual_time;
                t.tags = tags;
                t.extra = extra;
                t
            },
        )
}

/// Unique ids: later duplicates are dropped.
pub fn dedup_ids(tasks: Vec<Task>) -> Vec<Task> {
    let mut seen = std::collections::HashSet::new();
    tasks
        .into_iter()
        .filter(|t| seen.insert(t.id.clone()))
        .collect()
}

/// A list of tasks with unique ids.
pub fn arb_tasks(task: impl Strategy<Value = Task>, max: usize) -> impl Strategy<Value = TaskList> {
    proptest::collection::vec(task, 0..max).prop_map(|v| TaskList::new(dedup_ids(v)))
}

/// A proptest configuration of `default` cases, or of `PROPTEST_CASES` when that is
/// set: CI runs the defaults, a deeper run sets the variable.
pub fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Some generators filter (about one case in six); allow for it at any depth.
        max_global_rejects: cases.max(1024),
        ..ProptestConfig::default()
    }
}

/// Lines as the parsers count them in error positions: a line ends at `\n`, `\r\n`
/// or a lone `\r`.
pub fn line_count(text: &str) -> usize {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .lines()
        .count()
}

/// The parse error of a failed parse; panics on anything else.
pub fn parse_error(result: Result<TaskList, ssot_core::Error>) -> ssot_core::ParseError {
    match result {
        Err(ssot_core::Error::Parse(e)) => e,
        other => panic!("expected a parse error, got {other:?}"),
    }
}

/// A task id the test knows is valid.
pub fn id(s: &str) -> TaskId {
    TaskId::new(s).expect("test ids are valid")
}
