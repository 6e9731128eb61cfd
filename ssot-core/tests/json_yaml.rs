#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! JSON and YAML: round trips, read-modify-write, error positions, robustness.

mod common;

use proptest::prelude::*;
use serde_json::{Value, json};
use ssot_core::format::{json, yaml};
use ssot_core::{Error, Extra, Priority, Status, Task, TaskList};

// ---------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------

type Parse = fn(&str) -> Result<TaskList, Error>;
type Render = fn(&TaskList) -> Result<String, Error>;

const FORMATS: [(&str, Parse, Render); 2] = [
    ("json", json::parse, json::render),
    ("yaml", yaml::parse, yaml::render),
];

use common::{id, parse_error};

/// Text of any Unicode scalar values, control characters included, sometimes long.
fn arb_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => proptest::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
        2 => "[ \\t\\r\\n\\x00-\\x1f\\x7f\\u{85}\\u{a0}\\u{2028}\\u{2029}\\u{feff}\"'#:\\-\\[\\]{}|>&*!%@`,?a-z0-9]{0,16}",
        1 => Just(String::new()),
        1 => proptest::collection::vec(any::<char>(), 200..600).prop_map(String::from_iter),
        // Strings that YAML would read as other types if written plain.
        1 => proptest::sample::select(vec![
            "true", "False", "null", "~", "", "0x1F", "1e3", ".nan", "-.inf", "0o17", "007",
            "- a", "a: b", "#c", "2026-01-01", "'q'", "\"q\"", " lead", "trail ", "a\n", "\n",
        ])
        .prop_map(str::to_owned),
    ]
    .boxed()
}

fn arb_task() -> impl Strategy<Value = Task> {
    common::arb_task_with(arb_text(), common::arb_json_extra().boxed())
}

/// Top-level keys other than `tasks`.
fn arb_document() -> impl Strategy<Value = Option<Extra>> {
    proptest::option::of(common::arb_json_extra().prop_map(|mut doc| {
        doc.shift_remove("tasks");
        doc
    }))
}

fn arb_list() -> impl Strategy<Value = TaskList> {
    (common::arb_tasks(arb_task(), 6), arb_document()).prop_map(|(mut list, document)| {
        list.document = document;
        list
    })
}

/// Finite floats, for the float round-trip properties.
fn arb_float_extra() -> impl Strategy<Value = Extra> {
    proptest::collection::vec(
        (
            common::arb_extra_key(),
            prop_oneof![
                any::<f64>(),
                (-1.0e6f64..1.0e6),
                proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL
            ]
            .prop_filter("finite", |f| f.is_finite()),
        ),
        1..4,
    )
    .prop_map(|kv| kv.into_iter().map(|(k, f)| (k, json!(f))).collect())
}

fn one_task_with_extra(extra: Extra) -> TaskList {
    let mut t = Task::new(id("f"), "floats");
    t.extra = extra;
    TaskList::new(vec![t])
}

/// Replaces, inserts or deletes a few characters of `text`.
fn mutate(text: &str, edits: &[(usize, u8, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(at, op, c) in edits {
        let at = if chars.is_empty() {
            0
        } else {
            at % (chars.len() + 1)
        };
        match op % 3 {
            0 if at < chars.len() => chars[at] = c,
            1 => chars.insert(at, c),
            _ if at < chars.len() => {
                chars.remove(at);
            }
            _ => chars.push(c),
        }
    }
    chars.into_iter().collect()
}

fn arb_edits() -> impl Strategy<Value = Vec<(usize, u8, char)>> {
    let c = prop_oneof![
        proptest::sample::select(vec![
            '"', '\'', ',', ':', '-', '[', ']', '{', '}', '\n', ' ', '\\', '#', '&', '*', '!', '|',
            '>', '0', 'a', '\t', '\r', '?', '%', '@', '`', '~',
        ]),
        any::<char>(),
    ];
    proptest::collection::vec((any::<usize>(), any::<u8>(), c), 1..6)
}

// ---------------------------------------------------------------------------
// Round trips.
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(common::cases(200))]

    #[test]
    fn json_render_then_parse_is_identity(list in arb_list()) {
        let text = json::render(&list).unwrap();
        prop_assert_eq!(json::parse(&text).unwrap(), list, "{}", text);
    }

    #[test]
    fn yaml_render_then_parse_is_identity(list in arb_list()) {
        let text = yaml::render(&list).unwrap();
        prop_assert_eq!(yaml::parse(&text).unwrap(), list, "{}", text);
    }

    #[test]
    fn json_and_yaml_convert_into_each_other_without_loss(list in arb_list()) {
        let via_yaml = yaml::parse(&yaml::render(&list).unwrap()).unwrap();
        let back = json::parse(&json::render(&via_yaml).unwrap()).unwrap();
        prop_assert_eq!(back, list);
    }

    #[test]
    fn yaml_keeps_finite_floats_exactly(extra in arb_float_extra()) {
        let list = one_task_with_extra(extra);
        let text = yaml::render(&list).unwrap();
        prop_assert_eq!(yaml::parse(&text).unwrap(), list, "{}", text);
    }

    /// The workspace enables serde_json's `float_roundtrip`, so floats are exact.
    #[test]
    fn json_keeps_finite_floats_exactly(extra in arb_float_extra()) {
        let list = one_task_with_extra(extra);
        let text = json::render(&list).unwrap();
        prop_assert_eq!(json::parse(&text).unwrap(), list, "{}", text);
    }
}

// ---------------------------------------------------------------------------
// Robustness: no input makes a parser panic.
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(common::cases(300))]

    #[test]
    fn parsers_never_panic_on_arbitrary_text(
        text in prop_oneof![
            proptest::collection::vec(any::<char>(), 0..64).prop_map(String::from_iter),
            "[\\[\\]{}\":,\\- \\n a-z0-9!&*#|>'~.]{0,64}",
        ]
    ) {
        let _ = json::parse(&text);
        let _ = yaml::parse(&text);
    }

    #[test]
    fn parsers_never_panic_on_mutated_documents(list in arb_list(), edits in arb_edits()) {
        for (_, parse, render) in FORMATS {
            let text = mutate(&render(&list).unwrap(), &edits);
            if let Err(Error::Parse(e)) = parse(&text) {
                // Positions are 1-based and inside the text.
                prop_assert!(e.line >= 1 && e.line <= common::line_count(&text) + 1, "{e}\n{text}");
                prop_assert!(e.column.is_none_or(|c| c >= 1), "{e}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Shapes and read-modify-write.
// ---------------------------------------------------------------------------

#[test]
fn a_bare_list_has_no_document_and_is_written_back_as_a_list() {
    let list = json::parse(r#"[{"title": "a"}]"#).unwrap();
    assert_eq!(list.document, None);
    assert!(json::render(&list).unwrap().starts_with('['));

    let list = yaml::parse("- title: a\n").unwrap();
    assert_eq!(list.document, None);
    assert!(yaml::render(&list).unwrap().starts_with("- id:"));
}

#[test]
fn an_object_keeps_its_other_top_level_keys_in_order() {
    let text =
        r#"{"version": 2, "tasks": [{"title": "a"}], "meta": {"owner": "kim", "n": [1, null]}}"#;
    let list = json::parse(text).unwrap();
    let doc = list.document.as_ref().unwrap();
    assert_eq!(doc.keys().collect::<Vec<_>>(), ["version", "meta"]);
    let out = json::render(&list).unwrap();
    let value: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        value,
        json!({"version": 2, "meta": {"owner": "kim", "n": [1, null]}, "tasks": [
            {"id": list.tasks[0].id.as_str(), "title": "a", "priority": "normal", "status": "pending"}
        ]})
    );
    // `tasks` is written last.
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["version", "meta", "tasks"]);
}

#[test]
fn an_object_with_only_tasks_gives_an_empty_document() {
    for (name, parse, render) in FORMATS {
        let text = if name == "json" {
            r#"{"tasks": []}"#
        } else {
            "tasks: []\n"
        };
        let list = parse(text).unwrap();
        assert_eq!(list.document, Some(Extra::new()), "{name}");
        assert_eq!(parse(&render(&list).unwrap()).unwrap(), list, "{name}");
    }
}

#[test]
fn read_modify_write_keeps_unknown_fields_nested_and_top_level() {
    let text = r#"{
  "schema": "ssot/1",
  "tasks": [
    {
      "id": "build",
      "owner": {"name": "kim", "teams": ["core", {"id": 7}]},
      "title": "Build",
      "status": "in_progress",
      "links": [],
      "weight": -3,
      "big": 18446744073709551615,
      "ratio": 0.25,
      "flag": false,
      "none": null
    }
  ],
  "footer": {"generated": true}
}"#;
    for (name, parse, render) in FORMATS {
        // Read JSON, convert to the format, then edit there.
        let mut list = json::parse(text).unwrap();
        list = parse(&render(&list).unwrap()).unwrap();
        let task = &mut list.tasks[0];
        task.transition(Status::Done).unwrap();
        task.priority = Priority::High;
        let out = render(&list).unwrap();
        let again = parse(&out).unwrap();
        assert_eq!(again, list, "{name}:\n{out}");

        let task = &again.tasks[0];
        assert_eq!(task.status(), Status::Done);
        assert_eq!(
            task.extra.keys().collect::<Vec<_>>(),
            ["owner", "links", "weight", "big", "ratio", "flag", "none"],
            "{name}: extras keep their order"
        );
        assert_eq!(task.extra["owner"]["teams"][1]["id"], 7);
        assert_eq!(task.extra["big"], json!(u64::MAX));
        assert!(task.extra["weight"].is_i64());
        assert_eq!(
            again.document.as_ref().unwrap()["footer"],
            json!({"generated": true})
        );
    }
}

#[test]
fn extras_are_written_after_the_known_fields() {
    let list = json::parse(r#"[{"zeta": 1, "title": "t", "alpha": 2, "id": "a"}]"#).unwrap();
    let out = json::render(&list).unwrap();
    let keys: Vec<String> = serde_json::from_str::<Value>(&out).unwrap()[0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["id", "title", "priority", "status", "zeta", "alpha"]);
}

#[test]
fn empty_fields_are_left_out_and_null_reads_as_absent() {
    let list = TaskList::new(vec![Task::new(id("a"), "")]);
    assert_eq!(
        json::render(&list).unwrap(),
        "[\n  {\n    \"id\": \"a\",\n    \"title\": \"\",\n    \"priority\": \"normal\",\n    \"status\": \"pending\"\n  }\n]\n"
    );
    let text = r#"[{"id": null, "title": "x", "priority": null, "category": null,
        "tags": null, "created_at": null, "estimated_time": null}]"#;
    let t = &json::parse(text).unwrap().tasks[0];
    assert_eq!(t.priority, Priority::Normal);
    assert!(t.id.as_str().starts_with('t'), "derived id");
    assert!(t.tags.is_empty() && t.created_at.is_none() && t.category.is_empty());

    let t = &yaml::parse("- title: x\n  category:\n  tags: ~\n  id:\n")
        .unwrap()
        .tasks[0];
    assert!(t.category.is_empty() && t.tags.is_empty());
    assert!(t.id.as_str().starts_with('t'));
}

#[test]
fn status_is_read_as_the_initial_state_not_as_a_transition() {
    let list =
        yaml::parse("- {id: a, title: x, status: cancelled}\n- {id: b, title: y, status: Done}\n")
            .unwrap();
    assert_eq!(list.tasks[0].status(), Status::Cancelled);
    assert_eq!(list.tasks[1].status(), Status::Done);
}

#[test]
fn tasks_without_id_get_the_derived_id_of_the_format_rules() {
    let a = json::parse(r#"[{"title": "Write docs"}, {"title": "Write docs"}]"#).unwrap();
    let b = yaml::parse("- title: Write   docs\n").unwrap();
    assert_eq!(a.tasks[0].id, b.tasks[0].id);
    assert_eq!(a.tasks[1].id.as_str(), format!("{}-2", a.tasks[0].id));
}

#[test]
fn durations_and_timestamps_read_friendly_forms_and_write_compact_ones() {
    let list = yaml::parse(
        "- title: x\n  estimated_time: 1h 30m\n  actual_time: 2 hours\n  created_at: 2026-11-23T10:30:00+01:00\n",
    )
    .unwrap();
    let out = yaml::render(&list).unwrap();
    assert!(out.contains("estimated_time: 1h30m\n"), "{out}");
    assert!(out.contains("actual_time: 2h\n"), "{out}");
    assert!(out.contains("created_at: 2026-11-23T09:30:00Z\n"), "{out}");
}

#[test]
fn empty_input_is_an_empty_list() {
    for text in ["", "  \n\t", "\u{feff}"] {
        assert_eq!(json::parse(text).unwrap(), TaskList::default(), "{text:?}");
    }
    for text in [
        "",
        "\n",
        "# only a comment\n",
        "---\n",
        "--- # empty\n",
        "null\n",
        "~",
    ] {
        assert_eq!(yaml::parse(text).unwrap(), TaskList::default(), "{text:?}");
    }
    assert_eq!(
        yaml::parse("tasks:\n").unwrap().document,
        Some(Extra::new())
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    assert_eq!(
        json::parse("\u{feff}[{\"title\": \"x\"}]")
            .unwrap()
            .tasks
            .len(),
        1
    );
    assert_eq!(yaml::parse("\u{feff}- title: x\n").unwrap().tasks.len(), 1);
}

#[test]
fn yaml_integers_stay_integers_and_values_keep_their_type() {
    let list = yaml::parse(
        "- title: 42\n  id: 7\n  hex: 0x1F\n  neg: -5\n  f: 1.5\n  s: '12'\n  b: true\n  n: ~\n  d: 2026-01-01\n",
    )
    .unwrap();
    let t = &list.tasks[0];
    assert_eq!(t.title, "42");
    assert_eq!(t.id, "7");
    assert_eq!(t.extra["hex"], json!(31));
    assert!(t.extra["hex"].is_u64());
    assert_eq!(t.extra["neg"], json!(-5));
    assert_eq!(t.extra["f"], json!(1.5));
    assert_eq!(t.extra["s"], json!("12"));
    assert_eq!(t.extra["b"], json!(true));
    assert_eq!(t.extra["n"], Value::Null);
    assert_eq!(t.extra["d"], json!("2026-01-01"));
    let out = yaml::render(&list).unwrap();
    assert_eq!(yaml::parse(&out).unwrap(), list, "{out}");
}

#[test]
fn yaml_aliases_are_expanded_and_merge_keys_kept_as_extras() {
    let list = yaml::parse(
        "defaults: &d {owner: kim}\ntasks:\n  - {title: a, meta: *d}\n  - {title: b, <<: *d}\n",
    )
    .unwrap();
    assert_eq!(list.tasks[0].extra["meta"], json!({"owner": "kim"}));
    assert_eq!(list.tasks[1].extra["<<"], json!({"owner": "kim"}));
    let out = yaml::render(&list).unwrap();
    assert_eq!(yaml::parse(&out).unwrap(), list, "{out}");
}

#[test]
fn render_refuses_an_extra_key_that_is_a_task_field() {
    let mut t = Task::new(id("a"), "x");
    t.extra.insert("title".into(), json!("other"));
    let list = TaskList::new(vec![t]);
    for (name, _, render) in FORMATS {
        match render(&list) {
            Err(Error::Unrepresentable {
                id, field, reason, ..
            }) => {
                assert_eq!(id, "a");
                assert_eq!(field, "extra");
                assert!(reason.contains("`title`"), "{reason}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn render_refuses_a_document_key_named_tasks() {
    let mut doc = Extra::new();
    doc.insert("tasks".into(), json!(1));
    let list = TaskList {
        tasks: vec![],
        document: Some(doc),
    };
    for (name, _, render) in FORMATS {
        let err = render(&list).unwrap_err();
        assert!(
            matches!(err, Error::InvalidDocument { .. }),
            "{name}: {err}"
        );
        assert!(err.to_string().contains("`tasks` key"), "{name}: {err}");
    }
}

// ---------------------------------------------------------------------------
// Errors: line, column, field, message.
// ---------------------------------------------------------------------------

#[test]
fn json_bad_priority_names_line_column_and_field() {
    let text = "[\n  {\"id\": \"a\", \"title\": \"x\"},\n  {\"title\": \"é\", \"priority\": \"urgent\"}\n]";
    let e = parse_error(json::parse(text));
    assert_eq!((e.line, e.column), (3, Some(31)), "{e}");
    assert_eq!(e.field.as_deref(), Some("priority"));
    assert!(
        e.message
            .contains("unknown priority `urgent`; expected one of critical"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "json line 3, column 31, field `priority`: unknown priority `urgent`; expected one of critical, high, medium, normal, low, lowest"
    );
}

#[test]
fn yaml_bad_priority_names_line_column_and_field() {
    let e = parse_error(yaml::parse("- title: x\n- title: é\n  priority: urgent\n"));
    assert_eq!((e.line, e.column), (3, Some(13)), "{e}");
    assert_eq!(e.field.as_deref(), Some("priority"));
    assert!(e.message.starts_with("unknown priority `urgent`"), "{e}");
}

#[test]
fn bad_timestamp_duration_and_id_name_their_field() {
    // (field, JSON input, YAML input, message start, YAML line and column)
    let cases = [
        (
            "created_at",
            r#"[{"title": "x", "created_at": "yesterday"}]"#,
            "- title: x\n  created_at: yesterday\n",
            "invalid timestamp `yesterday`",
            (2, 15),
        ),
        (
            "estimated_time",
            r#"[{"title": "x", "estimated_time": "5 minutes later"}]"#,
            "- title: x\n  estimated_time: 5 minutes later\n",
            "invalid duration `5 minutes later`",
            (2, 19),
        ),
        (
            "id",
            r#"[{"title": "x", "id": "a b"}]"#,
            "- title: x\n  id: a b\n",
            "invalid task id `a b`",
            (2, 7),
        ),
    ];
    for (field, json_text, yaml_text, message, yaml_at) in cases {
        let e = parse_error(json::parse(json_text));
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert!(e.message.starts_with(message), "{e}");
        let value_column = json_text.find(message.split('`').nth(1).unwrap()).unwrap() + 1;
        assert_eq!((e.line, e.column), (1, Some(value_column)), "{e}");

        let e = parse_error(yaml::parse(yaml_text));
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert!(e.message.starts_with(message), "{e}");
        assert_eq!((e.line, e.column), (yaml_at.0, Some(yaml_at.1)), "{e}");
    }
}

#[test]
fn a_wrong_type_names_the_field() {
    let e = parse_error(json::parse("[{\"title\": \"x\",\n \"tags\": \"a\"}]"));
    assert_eq!(e.field.as_deref(), Some("tags"));
    assert_eq!(e.line, 2);
    assert!(
        e.message
            .contains("invalid type: string \"a\", expected a list"),
        "{e}"
    );
    let e = parse_error(yaml::parse("- title: [1]\n"));
    assert_eq!(e.field.as_deref(), Some("title"));
    assert_eq!(e.message, "invalid type: sequence, expected a string");
}

#[test]
fn duplicate_ids_name_both_lines() {
    let e = parse_error(json::parse(
        "[\n  {\"id\": \"a\", \"title\": \"x\"},\n  {\n    \"id\": \"a\",\n    \"title\": \"y\"\n  }\n]",
    ));
    assert_eq!(e.line, 3, "{e}");
    assert_eq!(e.field.as_deref(), Some("id"));
    assert!(
        e.message
            .contains("duplicate task id `a`, first used on line 2"),
        "{e}"
    );

    let e = parse_error(yaml::parse(
        "tasks:\n- {id: a, title: x}\n- title: y\n  id: a\n",
    ));
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("first used on line 2"), "{e}");
}

#[test]
fn a_missing_title_says_which_task() {
    let e = parse_error(json::parse(
        "[\n  {\"title\": \"x\"},\n  {\n    \"id\": \"b\",\n    \"priority\": \"high\"\n  }\n]",
    ));
    assert_eq!((e.line, e.column), (3, Some(3)), "{e}");
    assert_eq!(e.field.as_deref(), Some("title"));
    assert!(
        e.message
            .contains("the task at index 1 (id `b`) has no `title`"),
        "{e}"
    );

    let e = parse_error(yaml::parse("- title: x\n- priority: high\n"));
    assert_eq!(e.line, 2, "{e}");
    assert!(
        e.message.contains("the task at index 1 has no `title`"),
        "{e}"
    );
}

#[test]
fn a_field_given_twice_is_an_error_not_last_one_wins() {
    let e = parse_error(json::parse(r#"[{"title": "x", "owner": 1, "owner": 2}]"#));
    assert_eq!(e.field.as_deref(), Some("owner"));
    assert_eq!(e.column, Some(30));
    assert!(e.message.contains("appears twice"), "{e}");
    let e = parse_error(yaml::parse("- title: x\n  title: y\n"));
    assert_eq!((e.line, e.column), (2, Some(3)), "{e}");
    let e = parse_error(json::parse(r#"{"a": 1, "a": 2, "tasks": []}"#));
    assert!(e.message.contains("top-level key `a` appears twice"), "{e}");
}

#[test]
fn yaml_values_json_cannot_hold_are_errors_with_position() {
    let cases = [
        ("- title: x\n  7: y\n", 2, 3, "map key `7` is not a string"),
        (
            "- title: x\n  meta: {true: 1}\n",
            2,
            10,
            "mapping key `true` is not a string",
        ),
        (
            "- title: x\n  meta: {~: 1}\n",
            2,
            10,
            "mapping key `null` is not a string",
        ),
        (
            "- title: x\n  meta: !secret x\n",
            2,
            9,
            "YAML tag `!secret`",
        ),
        (
            "- title: x\n  meta: [.nan]\n",
            2,
            10,
            "`.nan` is not a number JSON can hold",
        ),
        (
            "- title: x\n  meta: -.inf\n",
            2,
            9,
            "`-.inf` is not a number JSON can hold",
        ),
        (
            "- title: x\n  meta: 123456789012345678901234567890\n",
            2,
            9,
            "does not fit in 64 bits",
        ),
        (
            "- title: x\n  meta: {a: 1, a: 2}\n",
            2,
            9,
            "key `a` appears twice",
        ),
    ];
    for (text, line, column, message) in cases {
        let e = parse_error(yaml::parse(text));
        assert_eq!((e.line, e.column), (line, Some(column)), "{text:?}: {e}");
        assert!(e.message.contains(message), "{text:?}: {e}");
    }
    // Standard tags are fine.
    let t = &yaml::parse("- title: x\n  s: !!str 12\n").unwrap().tasks[0];
    assert_eq!(t.extra["s"], json!("12"));
}

#[test]
fn document_level_mistakes_are_explained() {
    let e = parse_error(json::parse(r#"{"version": 1}"#));
    assert!(e.message.contains("has no `tasks` key"), "{e}");
    let e = parse_error(json::parse(r#"{"tasks": 5}"#));
    assert_eq!(e.field.as_deref(), Some("tasks"));
    let e = parse_error(json::parse("[5]"));
    assert!(e.message.contains("expected a task"), "{e}");
    let e = parse_error(json::parse("[] x"));
    assert!(e.message.contains("trailing characters"), "{e}");
    let e = parse_error(json::parse("[{\"title\": \"x\" \"id\": \"a\"}]"));
    assert_eq!(
        (e.line, e.column, e.field),
        (1, Some(16), None),
        "syntax error"
    );
    let e = parse_error(yaml::parse("- title: a\n---\n- title: b\n"));
    assert!(e.message.contains("more than one document"), "{e}");
    let e = parse_error(yaml::parse("- title: x\n bad: indent\n"));
    assert_eq!(e.line, 2, "{e}");
}

#[test]
fn columns_count_characters_not_bytes() {
    // `é` and `日本` are multi-byte: the column of `urgent` counts characters.
    let e = parse_error(json::parse(r#"[{"title": "é日本", "priority": "urgent"}]"#));
    assert_eq!(e.column, Some(32), "{e}");
    let e = parse_error(json::parse("[{\"title\": \"é日本\", \"priority\": 5}]"));
    assert_eq!(e.column, Some(31), "{e}");
    let e = parse_error(yaml::parse("- {title: é日本, priority: urgent}\n"));
    assert_eq!(e.column, Some(26), "{e}");
}

// ---------------------------------------------------------------------------
// Brackets are text inside scalars (issue 12, item 6).
// ---------------------------------------------------------------------------

/// A plain scalar full of brackets: it starts with a letter (a bracket there would
/// open a flow collection), has single spaces between words, and no `: ` or ` #`.
fn arb_plain_with_brackets() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-z\\[\\]{},]{1,12}", 1..8)
        .prop_map(|words| format!("x{}", words.join(" ")))
}

/// Lines of a block scalar, any of which may hold brackets, quotes and `#`.
fn arb_block_lines() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec("[a-z\\[\\]{}'\"# ]{0,20}[a-z\\]]", 1..6)
}

/// A YAML task list whose title is a plain scalar, whose description is a literal
/// block scalar and whose extra `note` is a folded one, all holding more `[` than
/// the flow-depth limit; returns the text and the expected title and description.
fn arb_bracketed_yaml() -> impl Strategy<Value = (String, String, String)> {
    (
        arb_plain_with_brackets(),
        arb_block_lines(),
        arb_block_lines(),
    )
        .prop_map(|(title, literal, folded)| {
            let deep = "[".repeat(129);
            let mut text = format!("- title: {title} {deep}\n  description: |\n");
            let mut description = String::new();
            for line in std::iter::once(&deep).chain(&literal) {
                text.push_str(&format!("    {line}\n"));
                description.push_str(line);
                description.push('\n');
            }
            text.push_str("  note: >\n");
            for line in std::iter::once(&deep).chain(&folded) {
                text.push_str(&format!("    {line}\n"));
            }
            (text, format!("{title} {deep}"), description)
        })
}

proptest! {
    #![proptest_config(common::cases(64))]

    #[test]
    fn yaml_brackets_in_block_and_plain_scalars_are_text(
        (text, title, description) in arb_bracketed_yaml()
    ) {
        let list = yaml::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&list.tasks[0].title, &title);
        prop_assert_eq!(&list.tasks[0].description, &description);
        let note = list.tasks[0].extra["note"].as_str().unwrap_or_default();
        prop_assert!(note.matches('[').count() >= 129, "{}", note);
    }
}

#[test]
fn a_block_scalar_holding_129_brackets_is_accepted() {
    let text = format!("- title: x\n  description: |\n    {}\n", "[".repeat(129));
    let list = yaml::parse(&text).unwrap();
    assert_eq!(list.tasks[0].description, format!("{}\n", "[".repeat(129)));
    let text = format!("- title: a {}\n", "{".repeat(200));
    assert_eq!(
        yaml::parse(&text).unwrap().tasks[0].title,
        format!("a {}", "{".repeat(200))
    );
}

#[test]
fn deep_flow_nesting_is_still_refused_after_a_stray_quote_or_block_scalar() {
    // A quote inside a plain scalar does not open a quoted scalar, and a block scalar
    // ends where its indentation does: the flow collections after them still count.
    for prefix in ["- title: don 't\n", "- title: x\n  description: |\n    '\n"] {
        let text = format!("{prefix}  x: {}\n", "[".repeat(10_000));
        let e = parse_error(yaml::parse(&text));
        assert!(
            e.message.contains("nested more than 128"),
            "{prefix:?}: {e}"
        );
    }
}

#[test]
fn json_integers_beyond_64_bits_are_refused_with_their_position() {
    let text = "[{\"title\": \"x\",\n  \"n\": 123456789012345678901234567890}]";
    let e = parse_error(json::parse(text));
    assert_eq!((e.line, e.column), (2, Some(8)), "{e}");
    assert!(e.message.contains("does not fit in 64 bits"), "{e}");
    assert!(e.message.contains("quote it"), "{e}");
    let text = "{\"big\": -99999999999999999999, \"tasks\": []}";
    let e = parse_error(json::parse(text));
    assert_eq!((e.line, e.column), (1, Some(9)), "{e}");
    // Floats and the 64-bit extremes are kept.
    let text = "[{\"title\": \"x\", \"a\": 1e30, \"b\": 18446744073709551615, \"c\": -9223372036854775808}]";
    let t = &json::parse(text).unwrap().tasks[0];
    assert_eq!(t.extra["a"], json!(1e30));
    assert_eq!(t.extra["b"], json!(u64::MAX));
    assert_eq!(t.extra["c"], json!(i64::MIN));
}
