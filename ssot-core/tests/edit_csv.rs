//! In-place editing of CSV task lists: random files (column order, quoting of every
//! cell or only where needed, `\r\n`), random edit sequences; after each step the text
//! reads as the model, the header and every other row keep their bytes, and a no-op
//! leaves the text as it was.
//!
//! Deeper run: `PROPTEST_CASES=2000 cargo test -p ssot-core --test edit_csv`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use ssot_core::format::edit::{CsvDocument, Position};
use ssot_core::{Error, Priority, Status, Tag, Task, TaskId, format::csv};

const TITLES: &[&str] = &["Ship it", "Fix, then test", "say \"hi\"", "two\nlines", "é"];
const STATUSES: &[&str] = &[
    "pending",
    "todo",
    "in_progress",
    "done",
    "blocked",
    "cancelled",
];

fn cell(s: &str, quote_all: bool) -> String {
    if quote_all || s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv_text(rows: &[(usize, usize, bool)], order: usize, quote_all: bool, crlf: bool) -> String {
    let mut columns = ["id", "title", "status", "priority", "tags", "owner"];
    columns.rotate_left(order % 6);
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut out = columns
        .iter()
        .map(|c| cell(c, quote_all))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str(eol);
    for (i, &(title, status, owner)) in rows.iter().enumerate() {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match *c {
                "id" => format!("t{i}"),
                "title" => TITLES[title].to_owned(),
                "status" => STATUSES[status].to_owned(),
                "priority" => {
                    if i.is_multiple_of(2) {
                        "High".into()
                    } else {
                        String::new()
                    }
                }
                "tags" => {
                    if owner {
                        "a; b".into()
                    } else {
                        String::new()
                    }
                }
                _ => {
                    if owner {
                        "kim".into()
                    } else {
                        String::new()
                    }
                }
            })
            .map(|c| cell(&c, quote_all))
            .collect();
        out.push_str(&cells.join(","));
        out.push_str(eol);
    }
    out
}

#[derive(Debug, Clone)]
enum Op {
    Status(usize, usize),
    Title(usize, usize),
    Priority(usize, bool),
    Owner(usize, bool),
    Insert(Option<usize>, usize),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<usize>(), 0..STATUSES.len()).prop_map(|(i, s)| Op::Status(i, s)),
        (any::<usize>(), 0..TITLES.len()).prop_map(|(i, t)| Op::Title(i, t)),
        (any::<usize>(), any::<bool>()).prop_map(|(i, p)| Op::Priority(i, p)),
        (any::<usize>(), any::<bool>()).prop_map(|(i, o)| Op::Owner(i, o)),
        (proptest::option::of(any::<usize>()), 0..TITLES.len()).prop_map(|(a, t)| Op::Insert(a, t)),
        any::<usize>().prop_map(Op::Remove),
    ]
}

fn without(doc: &CsvDocument, id: &str) -> String {
    let mut d = doc.clone();
    d.remove(id).unwrap();
    d.into_string()
}

proptest! {
    #[test]
    fn csv_edits_rewrite_only_their_row(
        rows in proptest::collection::vec((0..TITLES.len(), 0..STATUSES.len(), any::<bool>()), 0..5),
        order in 0..6usize,
        quote_all: bool,
        crlf: bool,
        ops in proptest::collection::vec(op(), 1..8),
    ) {
        let text = csv_text(&rows, order, quote_all, crlf);
        let mut model = csv::parse(&text).unwrap().tasks;
        let mut doc = CsvDocument::parse(text.clone()).unwrap();
        prop_assert_eq!(doc.as_str(), text.as_str());
        let header = text.split(['\r', '\n']).next().unwrap().to_owned();
        let mut inserted = 0;
        for op in ops {
            let before = doc.clone();
            let n = model.len();
            let pick = |i: usize| (n > 0).then(|| model[i % n].id.to_string());
            let mut expect = model.clone();
            let (result, touched) = match &op {
                Op::Insert(after, title) => {
                    inserted += 1;
                    let task = Task::new(TaskId::new(format!("n{inserted}")).unwrap(), TITLES[*title]);
                    let (at, slot) = match after.and_then(pick) {
                        Some(id) => {
                            let slot = model.iter().position(|t| t.id.as_str() == id).unwrap() + 1;
                            (Position::After(TaskId::new(id).unwrap()), slot)
                        }
                        None => (Position::End, n),
                    };
                    expect.insert(slot, task.clone());
                    (doc.insert(task.clone(), at), Some(task.id.to_string()))
                }
                Op::Remove(i) => {
                    let Some(id) = pick(*i) else { continue };
                    expect.retain(|t| t.id.as_str() != id);
                    (doc.remove(&id).map(|_| ()), None)
                }
                Op::Status(i, s) => {
                    let Some(id) = pick(*i) else { continue };
                    let k = expect.iter().position(|t| t.id.as_str() == id).unwrap();
                    let to = Status::from_name(STATUSES[*s]).unwrap();
                    if expect[k].transition(to).is_err() {
                        expect = model.clone();
                    }
                    (doc.set_status(&id, to), Some(id))
                }
                Op::Title(i, t) => {
                    let Some(id) = pick(*i) else { continue };
                    let k = expect.iter().position(|t| t.id.as_str() == id).unwrap();
                    expect[k].title = TITLES[*t].to_owned();
                    (doc.set_title(&id, TITLES[*t]), Some(id))
                }
                Op::Priority(i, high) => {
                    let Some(id) = pick(*i) else { continue };
                    let k = expect.iter().position(|t| t.id.as_str() == id).unwrap();
                    let p = if *high { Priority::High } else { Priority::Normal };
                    expect[k].priority = p;
                    (doc.update(&id, |t| t.priority = p), Some(id))
                }
                Op::Owner(i, set) => {
                    let Some(id) = pick(*i) else { continue };
                    let k = expect.iter().position(|t| t.id.as_str() == id).unwrap();
                    let change = |t: &mut Task| {
                        if *set {
                            t.extra.insert("owner".into(), "pat, jr".into());
                            t.tags = vec![Tag::new("x").unwrap()];
                        } else {
                            t.extra.shift_remove("owner");
                            t.tags.clear();
                        }
                    };
                    change(&mut expect[k]);
                    (doc.update(&id, change), Some(id))
                }
            };
            match result {
                Ok(()) => {}
                Err(Error::IllegalTransition { .. }) => {
                    prop_assert_eq!(doc.as_str(), before.as_str());
                    expect = model.clone();
                }
                Err(e) => return Err(TestCaseError::fail(format!("{op:?}: {e}\n{}", before.as_str()))),
            }
            let reread = csv::parse(doc.as_str()).unwrap();
            prop_assert_eq!(&reread.tasks, &expect, "{:?}\n{}", op, doc.as_str());
            prop_assert!(doc.as_str().starts_with(&header));
            if expect == model {
                prop_assert_eq!(doc.as_str(), before.as_str(), "a no-op changed bytes");
            }
            match (&op, touched) {
                (Op::Insert(..), Some(id)) => prop_assert_eq!(without(&doc, &id), before.as_str()),
                (_, Some(id)) => prop_assert_eq!(without(&doc, &id), without(&before, &id)),
                _ => {}
            }
            model = expect;
        }
    }
}

#[test]
fn a_column_the_file_lacks_is_refused_not_added() {
    let mut doc = CsvDocument::parse("id,title\na,A\n").unwrap();
    let err = doc
        .update("a", |t| t.tags.push(Tag::new("x").unwrap()))
        .unwrap_err();
    assert!(matches!(err, Error::NotInPlace { .. }), "{err}");
    assert!(err.to_string().contains("no `tags` column"), "{err}");
    assert_eq!(doc.as_str(), "id,title\na,A\n");
}
