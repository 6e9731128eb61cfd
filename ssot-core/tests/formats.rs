//! Behaviour every format shares.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ssot_core::{Error, Format, Task, TaskId, TaskList, format};

#[test]
fn every_format_refuses_to_write_two_tasks_with_one_id() {
    let id = TaskId::new("a").unwrap();
    let list = TaskList::new(vec![Task::new(id.clone(), "x"), Task::new(id, "y")]);
    for fmt in Format::ALL {
        let err = format::render(fmt, &list).unwrap_err();
        assert!(
            matches!(err, Error::Unrepresentable { field: "id", .. }),
            "{fmt}: {err}"
        );
    }
}

#[test]
fn yaml_refuses_deep_flow_nesting_quickly_with_its_position() {
    let text = format!("- title: a\n  x: {}", "[".repeat(200_000));
    let err = format::parse(Format::Yaml, &text).unwrap_err();
    let Error::Parse(p) = err else {
        panic!("expected a parse error")
    };
    assert_eq!((p.line, p.column), (2, Some(6 + 128)), "{p}");
    assert!(p.message.contains("nested more than 128"), "{p}");
}

#[test]
fn yaml_flow_nesting_inside_quotes_and_comments_is_text() {
    let deep = "[".repeat(300);
    let text = format!(
        "# {deep}\n- title: \"{deep}\"\n  note: '{deep}'\n  other: don't {deep}\n  ok: [[1], {{a: [2]}}]\n"
    );
    // Brackets in the comment, the quoted scalars and the plain scalar are text.
    let list = format::parse(Format::Yaml, &text).unwrap();
    assert_eq!(list.tasks[0].title, deep);
    assert_eq!(list.tasks[0].extra["other"], format!("don't {deep}"));
}

#[test]
fn csv_error_lines_count_lone_carriage_returns() {
    let err = format::parse(Format::Csv, "title,priority\ra,low\rb,urgent\r").unwrap_err();
    let Error::Parse(p) = err else {
        panic!("expected a parse error")
    };
    assert_eq!((p.line, p.column), (3, Some(3)), "{p}");
}

#[test]
fn the_crate_result_alias_defaults_its_error_to_the_crate_error() {
    fn read(text: &str) -> ssot_core::Result<TaskList> {
        format::parse(Format::Json, text)
    }
    let err: Error = read("[{}]").unwrap_err();
    assert!(matches!(err, Error::Parse(_)), "{err}");
}

#[test]
fn a_byte_order_mark_takes_no_column_in_any_format() {
    for fmt in [Format::Yaml, Format::Json, Format::Csv] {
        let text = match fmt {
            Format::Yaml => "- {title: a, priority: urgent}\n",
            Format::Json => "[{\"title\": \"a\", \"priority\": \"urgent\"}]",
            _ => "title,priority\na,urgent\n",
        };
        let plain = format::parse(fmt, text).unwrap_err().to_string();
        let with_bom = format::parse(fmt, &format!("\u{feff}{text}"))
            .unwrap_err()
            .to_string();
        assert_eq!(plain, with_bom, "{fmt}");
    }
}
