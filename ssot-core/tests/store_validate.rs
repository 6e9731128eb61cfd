//! `Store::validate`: one report of every problem in every file, each at its
//! `file:line:col`, for a terminal and as JSON.
#![cfg(feature = "store")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod store_common;

use serde_json::json;
use ssot_core::Error;
use ssot_core::store::{ProblemKind, Store};
use store_common::{copy_of, write};

#[test]
fn the_shipped_store_is_valid() {
    let dir = copy_of("basic");
    let store = Store::builder()
        .env(std::collections::BTreeMap::from([(
            "DB_HOST".to_owned(),
            "db.internal".to_owned(),
        )]))
        .open(dir.path())
        .unwrap();
    let report = store.validate().unwrap();
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.to_string(), "no problems");
    assert_eq!(report.to_json(), json!({"valid": true, "problems": []}));
}

#[test]
fn every_problem_of_every_file_is_reported_at_its_place() {
    let dir = copy_of("basic");
    // A task list that does not parse, a document that breaks its schema twice, a
    // task file that breaks its schema, a file that is not UTF-8.
    write(
        dir.path(),
        "broken.md",
        "# x\n\n- [ ] Fine\n- [ ] Bad priority [priority:: urgent]\n",
    );
    write(
        dir.path(),
        "services/web.yaml",
        "name: web\nport: 0\nhost: x\n",
    );
    write(
        dir.path(),
        "backlog.yaml",
        "- id: polish\n  title: Polish\n  prioirty: low\n",
    );
    std::fs::write(dir.path().join("junk.md"), b"- [ ] ok\n\xff\xfe\n").unwrap();
    let store = Store::builder()
        .env(std::collections::BTreeMap::from([(
            "DB_HOST".to_owned(),
            "db".to_owned(),
        )]))
        .open(dir.path())
        .unwrap();
    let report = store.validate().unwrap();
    let lines: Vec<String> = report.to_string().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 5, "{report}");
    assert!(
        lines[0].starts_with(
            "backlog.yaml:3:3: property `prioirty` is not allowed here; did you mean `priority`?"
        ),
        "{report}"
    );
    assert!(
        lines[1].starts_with(
            "broken.md:4:32: markdown task list: field `priority`: unknown priority `urgent`"
        ),
        "{report}"
    );
    assert!(
        lines[2].starts_with("junk.md:2: not UTF-8 text"),
        "{report}"
    );
    assert!(
        lines[3].starts_with(
            "services/web.yaml:2:7: 0 is less than the minimum of 1 (at /port; schema `service`)"
        ),
        "{report}"
    );
    assert!(
        lines[4].starts_with("services/web.yaml:3:1: property `host` is not allowed here"),
        "{report}"
    );

    let kinds: Vec<ProblemKind> = report.problems().iter().map(|p| p.kind).collect();
    use ProblemKind::*;
    assert_eq!(kinds, [Schema, Parse, Encoding, Schema, Schema]);
    let json = report.to_json();
    assert_eq!(json["valid"], false);
    assert_eq!(json["problems"][1]["file"], "broken.md");
    assert_eq!(json["problems"][1]["line"], 4);
    assert_eq!(json["problems"][1]["column"], 32);
    assert_eq!(json["problems"][1]["kind"], "parse");
}

#[test]
fn a_file_matched_as_tasks_whose_format_is_unknown_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ssot.yaml", "files:\n  \"lists/*\": tasks\n");
    write(dir.path(), "lists/today.txt", "- [ ] A\n");
    let store = Store::open(dir.path()).unwrap();
    let report = store.validate().unwrap();
    assert_eq!(report.problems().len(), 1);
    let p = &report.problems()[0];
    assert_eq!(p.kind, ProblemKind::UnknownFormat);
    assert!(
        p.to_string()
            .starts_with("lists/today.txt: matched as a task list by `lists/*`"),
        "{p}"
    );
    // Reading it directly gives the same problem.
    let err = store.task_file("lists/today.txt").unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
}

#[test]
fn reads_of_an_invalid_file_fail_with_its_report_and_valid_ones_succeed() {
    let dir = copy_of("basic");
    let store = Store::open(dir.path()).unwrap();
    let api = store.document("services/api.yaml").unwrap();
    assert_eq!(api.value()["port"], 8080);
    assert_eq!(api.schema(), Some("service"));
    write(
        dir.path(),
        "services/api.yaml",
        "name: api\nport: \"eighty\"\n",
    );
    match store.document("services/api.yaml") {
        Err(Error::Invalid(report)) => {
            assert!(
                report
                    .to_string()
                    .starts_with("services/api.yaml:2:7: \"eighty\" is not of type \"integer\""),
                "{report}"
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let todo = store.task_file("todo.md").unwrap();
    assert_eq!(todo.tasks().len(), 4);
    assert_eq!(todo.location(0).to_string(), "todo.md:5");
}

#[test]
fn a_yaml_document_that_is_not_well_formed_or_repeats_a_key_is_a_parse_problem() {
    let dir = copy_of("basic");
    write(dir.path(), "services/a.yaml", "name: a\nport: [1,\n");
    write(dir.path(), "services/b.yaml", "name: b\nport: 1\nname: c\n");
    let store = Store::open(dir.path()).unwrap();
    let report = store.validate().unwrap();
    let parse: Vec<String> = report
        .of_kind(ProblemKind::Parse)
        .map(|p| p.to_string())
        .collect();
    assert_eq!(parse.len(), 2, "{report}");
    assert!(parse[0].starts_with("services/a.yaml:"), "{report}");
    assert!(parse[1].starts_with("services/b.yaml:"), "{report}");
}

#[test]
fn a_task_list_schema_applies_to_json_and_yaml_only() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ssot.yaml",
        "files:\n  \"plan.txt\": { tasks: json, schema: ssot/task-list }\n  \"*.md\": { tasks: markdown, schema: ssot/task-list }\n",
    );
    write(
        dir.path(),
        "plan.txt",
        "[\n  {\"id\": \"a\", \"title\": \"A\", \"prioirty\": \"high\"}\n]\n",
    );
    write(dir.path(), "todo.md", "- [ ] B\n");
    let report = Store::open(dir.path()).unwrap().validate().unwrap();
    let lines: Vec<String> = report.to_string().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{report}");
    // JSON read as JSON though the name says nothing.
    assert!(
        lines[0].starts_with("plan.txt:2:29: property `prioirty` is not allowed here"),
        "{report}"
    );
    assert!(lines[1].starts_with("todo.md: ssot.yaml gives this markdown task list the schema `ssot/task-list`, but schemas check only JSON and YAML"), "{report}");
}
