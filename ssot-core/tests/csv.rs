#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! CSV: round trips, representability, read-modify-write, error positions,
//! robustness.

mod common;

use proptest::prelude::*;
use serde_json::{Value, json};
use ssot_core::format::csv;
use ssot_core::{Error, Priority, Status, Task, TaskList};

use common::{id, parse_error};

/// Text of any Unicode scalar values, with CSV's special characters and control
/// characters over-represented, sometimes empty, sometimes long.
fn arb_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => proptest::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
        3 => "[ ,;\"'\\r\\n\\t\\x00-\\x1f\\u{feff}\\u{85}\\u{2028}a-z0-9]{0,16}",
        1 => Just(String::new()),
        1 => proptest::collection::vec(any::<char>(), 200..600).prop_map(String::from_iter),
    ]
    .boxed()
}

fn non_empty(text: BoxedStrategy<String>) -> BoxedStrategy<String> {
    text.prop_map(|s| if s.is_empty() { "x".to_owned() } else { s })
        .boxed()
}

/// A task CSV can hold: a non-empty title, extras that are non-empty strings.
fn arb_task() -> impl Strategy<Value = Task> {
    (
        common::arb_task_with(
            arb_text(),
            common::arb_string_extra(non_empty(arb_text())).boxed(),
        ),
        non_empty(arb_text()),
    )
        .prop_map(|(mut task, title)| {
            task.title = title;
            task
        })
}

fn arb_list() -> impl Strategy<Value = TaskList> {
    common::arb_tasks(arb_task(), 8)
}

proptest! {
    #![proptest_config(common::cases(300))]

    #[test]
    fn render_then_parse_is_identity(list in arb_list()) {
        let text = csv::render(&list).unwrap();
        prop_assert_eq!(csv::parse(&text).unwrap(), list, "{}", text);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_text(
        text in prop_oneof![
            proptest::collection::vec(any::<char>(), 0..80).prop_map(String::from_iter),
            "[a-z_,;\"\\r\\n ]{0,80}",
            "(id,title,priority\\n)?[a-z_,;\"\\r\\n ]{0,60}",
        ]
    ) {
        let _ = csv::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_mutated_documents(
        list in arb_list(),
        edits in proptest::collection::vec(
            (any::<usize>(), any::<u8>(), prop_oneof![
                proptest::sample::select(vec![',', '"', '\n', '\r', ';', ' ', 'a', '\u{feff}']),
                any::<char>(),
            ]),
            1..6,
        ),
    ) {
        let mut chars: Vec<char> = csv::render(&list).unwrap().chars().collect();
        for (at, op, c) in edits {
            let at = at % (chars.len() + 1);
            match op % 3 {
                0 if at < chars.len() => chars[at] = c,
                1 => chars.insert(at, c),
                _ if at < chars.len() => {
                    chars.remove(at);
                }
                _ => chars.push(c),
            }
        }
        let text: String = chars.into_iter().collect();
        if let Err(Error::Parse(e)) = csv::parse(&text) {
            prop_assert!(e.line >= 1 && e.line <= common::line_count(&text) + 1, "{e}\n{text:?}");
            prop_assert!(e.column.is_none_or(|c| c >= 1), "{e}");
        }
    }
}

// ---------------------------------------------------------------------------
// Format mapping.
// ---------------------------------------------------------------------------

#[test]
fn header_has_every_known_column_then_the_extra_ones() {
    let mut a = Task::new(id("a"), "A");
    a.extra.insert("owner".into(), json!("kim"));
    let mut b = Task::new(id("b"), "B");
    b.extra.insert("sprint".into(), json!("42"));
    b.extra.insert("owner".into(), json!("lee"));
    let text = csv::render(&TaskList::new(vec![a, b])).unwrap();
    assert_eq!(
        text,
        "id,title,priority,status,category,description,dependencies,created_at,updated_at,estimated_time,actual_time,tags,owner,sprint\n\
         a,A,normal,pending,,,,,,,,,kim,\n\
         b,B,normal,pending,,,,,,,,,lee,42\n"
    );
}

#[test]
fn columns_may_come_in_any_order_and_empty_cells_are_absent() {
    let list = csv::parse(
        "tags,title,owner,priority,id,estimated_time\n\
         a;b,First,,high,x,90m\n\
         ,Second,kim,,,\n",
    )
    .unwrap();
    let [first, second] = &list.tasks[..] else {
        panic!()
    };
    assert_eq!(first.id, "x");
    assert_eq!(first.priority, Priority::High);
    assert_eq!(first.tags, ["a", "b"]);
    assert_eq!(
        first.estimated_time,
        Some(std::time::Duration::from_secs(5400))
    );
    assert!(first.extra.is_empty(), "an empty cell is no extra field");
    assert_eq!(second.priority, Priority::Normal);
    assert!(second.id.as_str().starts_with('t'), "derived id");
    assert_eq!(second.extra["owner"], "kim");
    assert_eq!(list.document, None);
}

#[test]
fn lists_accept_semicolons_commas_and_spaces_and_are_written_with_semicolons() {
    let list = csv::parse("title,dependencies,tags\nx,\"a, b;c  d\",  t1 ;t2\n").unwrap();
    let t = &list.tasks[0];
    assert_eq!(t.dependencies, ["a", "b", "c", "d"]);
    assert_eq!(t.tags, ["t1", "t2"]);
    let out = csv::render(&list).unwrap();
    assert!(out.contains(",a;b;c;d,"), "{out}");
    assert!(out.ends_with(",t1;t2\n"), "{out}");
}

#[test]
fn quoting_keeps_commas_quotes_and_line_breaks() {
    let mut t = Task::new(id("q"), "say \"hi\", then\r\nleave");
    t.description = "line one\nline two".into();
    t.extra.insert("note".into(), json!(" padded ,\""));
    let list = TaskList::new(vec![t]);
    let text = csv::render(&list).unwrap();
    assert!(text.contains("\"say \"\"hi\"\", then\r\nleave\""), "{text}");
    assert_eq!(csv::parse(&text).unwrap(), list);
}

#[test]
fn status_is_read_as_the_initial_state() {
    let list = csv::parse("id,title,status\na,x,done\nb,y,In Progress\n").unwrap();
    assert_eq!(list.tasks[0].status(), Status::Done);
    assert_eq!(list.tasks[1].status(), Status::InProgress);
}

#[test]
fn empty_input_header_only_bom_and_blank_lines() {
    assert_eq!(csv::parse("").unwrap(), TaskList::default());
    assert_eq!(csv::parse("\u{feff}").unwrap(), TaskList::default());
    assert_eq!(csv::parse("id,title\n").unwrap(), TaskList::default());
    let list = csv::parse("\u{feff}id,title\r\n\r\na,x\r\n\nb,y").unwrap();
    assert_eq!(list.tasks.len(), 2);
    assert_eq!(list.tasks[0].id, "a");
}

#[test]
fn read_modify_write_keeps_unknown_columns() {
    let text = "id,title,status,owner,sprint\n\
                a,Write docs,pending,kim,42\n\
                b,Ship,in_progress,,43\n";
    let mut list = csv::parse(text).unwrap();
    list.tasks[1].transition(Status::Done).unwrap();
    list.tasks[0].title = "Write the docs".into();
    let out = csv::render(&list).unwrap();
    let again = csv::parse(&out).unwrap();
    assert_eq!(again, list);
    assert_eq!(again.tasks[0].extra["owner"], "kim");
    assert_eq!(again.tasks[0].extra["sprint"], "42");
    assert!(!again.tasks[1].extra.contains_key("owner"));
    assert!(out.ends_with(",,43\n"), "{out}");
}

// ---------------------------------------------------------------------------
// Representability.
// ---------------------------------------------------------------------------

fn refusal(task: Task) -> (&'static str, String) {
    match csv::render(&TaskList::new(vec![task])) {
        Err(Error::Unrepresentable {
            format,
            id,
            field,
            reason,
        }) => {
            assert_eq!(format, ssot_core::Format::Csv);
            assert_eq!(id, "r");
            (field, reason)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn render_refuses_what_csv_cannot_read_back() {
    let (field, reason) = refusal(Task::new(id("r"), ""));
    assert_eq!(field, "title");
    assert!(reason.contains("empty"), "{reason}");

    for (value, what) in [
        (json!(42), "the number 42"),
        (json!(true), "the boolean true"),
        (Value::Null, "null"),
        (json!([1]), "a list"),
        (json!({"a": 1}), "a map"),
    ] {
        let mut t = Task::new(id("r"), "x");
        t.extra.insert("owner".into(), value);
        let (field, reason) = refusal(t);
        assert_eq!(field, "extra");
        assert!(
            reason.contains("`owner`") && reason.contains(what),
            "{reason}"
        );
    }

    let mut t = Task::new(id("r"), "x");
    t.extra.insert("owner".into(), json!(""));
    assert!(refusal(t).1.contains("empty string"));

    let mut t = Task::new(id("r"), "x");
    t.extra.insert("tags".into(), json!("a"));
    assert!(refusal(t).1.contains("`tags`"));
}

// ---------------------------------------------------------------------------
// Errors: line, column, field, message.
// ---------------------------------------------------------------------------

#[test]
fn bad_values_name_line_column_and_column_name() {
    let cases = [
        (
            "id,title,priority\na,x,high\nb,\"é, ü\",urgent\n",
            3,
            10,
            "priority",
            "unknown priority `urgent`",
        ),
        (
            "title,created_at\nx,yesterday\n",
            2,
            3,
            "created_at",
            "invalid timestamp `yesterday`",
        ),
        (
            "title,estimated_time\nx,5 minutes later\n",
            2,
            3,
            "estimated_time",
            "invalid duration `5 minutes later`",
        ),
        ("id,title\n\"a b\",x\n", 2, 1, "id", "invalid task id `a b`"),
        ("title,tags\nx,ok;#no\n", 2, 3, "tags", "invalid tag `#no`"),
        (
            "title,status\nx,later\n",
            2,
            3,
            "status",
            "unknown status `later`",
        ),
        ("id,title\na,\n", 2, 3, "title", "no title"),
        (
            // The title cell is on the second line of the row.
            "id,desc,title\na,\"multi\nline\",\n",
            3,
            7,
            "title",
            "no title",
        ),
    ];
    for (text, line, column, field, message) in cases {
        let e = parse_error(csv::parse(text));
        assert_eq!((e.line, e.column), (line, Some(column)), "{text:?}: {e}");
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert!(e.message.contains(message), "{e}");
        assert!(
            e.to_string().starts_with(&format!(
                "csv line {line}, column {column}, field `{field}`"
            )),
            "{e}"
        );
    }
}

#[test]
fn wrong_cell_count_is_an_error_on_its_line() {
    let e = parse_error(csv::parse("id,title\na,x\n\nb,y,extra\n"));
    assert_eq!(e.line, 4, "{e}");
    assert!(
        e.message.contains("3 cells but the header has 2 columns"),
        "{e}"
    );
    let e = parse_error(csv::parse("id,title\na\n"));
    assert_eq!(e.line, 2, "{e}");
}

#[test]
fn duplicate_ids_name_both_lines() {
    let e = parse_error(csv::parse("id,title\na,x\nb,y\n\na,z\n"));
    assert_eq!(e.line, 5, "{e}");
    assert_eq!(e.field.as_deref(), Some("id"));
    assert!(e.message.contains("first used on line 2"), "{e}");
}

#[test]
fn header_mistakes_are_explained() {
    let e = parse_error(csv::parse("id,title,id\n"));
    assert_eq!((e.line, e.column), (1, Some(10)), "{e}");
    assert!(e.message.contains("names column `id` twice"), "{e}");

    let e = parse_error(csv::parse("id,Title\na,x\n"));
    assert_eq!(e.line, 1);
    assert!(e.message.contains("column `Title` is not `title`"), "{e}");

    let e = parse_error(csv::parse("\u{feff}id,name\n"));
    assert!(e.message.contains("no `title` column"), "{e}");
}

#[test]
fn unbalanced_quotes_are_not_a_panic() {
    // The csv crate reads an unterminated quoted cell to the end of the input; the
    // row then has too few cells.
    let e = parse_error(csv::parse("id,title\n\"a,x\nb,y\n"));
    assert_eq!(e.line, 2, "{e}");
}
