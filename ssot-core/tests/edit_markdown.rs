//! Markdown insert and remove: random documents (headings, prose, nested subtasks,
//! emoji or Dataview metadata, `\r\n`), random sequences of inserts, removes and
//! edits; after each step the text reads as the document's tasks, an inserted task
//! removed again gives back the text before it byte for byte, and the other tasks keep
//! their order.
//!
//! Deeper run: `PROPTEST_CASES=2000 cargo test -p ssot-core --test edit_markdown`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use ssot_core::format::edit::Position;
use ssot_core::format::markdown::{self, MarkdownDocument};
use ssot_core::{Error, Priority, Status, Tag, Task, TaskId};

#[derive(Debug, Clone)]
struct Line {
    heading: Option<usize>,
    prose: bool,
    nested: bool,
    dataview: bool,
}

fn line() -> impl Strategy<Value = Line> {
    (
        proptest::option::weighted(0.2, 0..2usize),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.3),
        any::<bool>(),
    )
        .prop_map(|(heading, prose, nested, dataview)| Line {
            heading,
            prose,
            nested,
            dataview,
        })
}

fn doc_text(lines: &[Line], crlf: bool) -> String {
    let mut out = String::from("# Plan\n\n");
    for (i, l) in lines.iter().enumerate() {
        if let Some(h) = l.heading {
            out.push_str(&format!("\n## Section {h}\n\n"));
        }
        if l.prose {
            out.push_str("Some prose about the work.\n\n");
        }
        let pad = if l.nested && i > 0 { "  " } else { "" };
        if l.dataview {
            out.push_str(&format!(
                "{pad}- [ ] Task {i} [id:: t{i}] [priority:: high]\n"
            ));
        } else {
            out.push_str(&format!("{pad}- [ ] Task {i} 🆔 t{i} ⏫ #tag\n"));
        }
    }
    if crlf { out.replace('\n', "\r\n") } else { out }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(usize, usize),
    Remove(usize),
    Status(usize),
    Title(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4usize, any::<usize>()).prop_map(|(k, i)| Op::Insert(k, i)),
        any::<usize>().prop_map(Op::Remove),
        any::<usize>().prop_map(Op::Status),
        any::<usize>().prop_map(Op::Title),
    ]
}

fn new_task(n: usize) -> Task {
    let mut t = Task::new(TaskId::new(format!("n{n}")).unwrap(), format!("New {n}"));
    t.priority = Priority::Low;
    t.tags.push(Tag::new("new").unwrap());
    if n.is_multiple_of(2) {
        t.description = "Details here.".to_owned();
    }
    t
}

proptest! {
    #[test]
    fn markdown_insert_and_remove_keep_every_other_byte(
        lines in proptest::collection::vec(line(), 0..6),
        crlf: bool,
        ops in proptest::collection::vec(op(), 1..8),
    ) {
        let text = doc_text(&lines, crlf);
        let mut doc = MarkdownDocument::parse(text).unwrap();
        let mut inserted = 0;
        for op in ops {
            let before = doc.clone();
            let ids: Vec<String> = doc.tasks().iter().map(|t| t.id.to_string()).collect();
            let pick = |i: usize| (!ids.is_empty()).then(|| ids[i % ids.len()].clone());
            match &op {
                Op::Insert(kind, i) => {
                    inserted += 1;
                    let task = new_task(inserted);
                    let at = match (kind, pick(*i)) {
                        (1, Some(id)) => Position::After(TaskId::new(id).unwrap()),
                        (2, Some(id)) => Position::Subtask(TaskId::new(id).unwrap()),
                        (3, _) => Position::UnderHeading(format!("Section {}", i % 2)),
                        _ => Position::End,
                    };
                    match doc.insert(task.clone(), at.clone()) {
                        Ok(()) => {
                            prop_assert_eq!(doc.get(task.id.as_str()), Some(&task));
                            let mut others = doc.tasks().to_vec();
                            others.retain(|t| t.id != task.id);
                            prop_assert_eq!(&others[..], before.tasks());
                            let k = doc.tasks().iter().position(|t| t.id == task.id).unwrap();
                            match &at {
                                Position::End => prop_assert_eq!(k, doc.tasks().len() - 1),
                                Position::After(id) | Position::Subtask(id) => {
                                    let j = doc.tasks().iter().position(|t| &t.id == id).unwrap();
                                    prop_assert!(k > j);
                                }
                                _ => {}
                            }
                            let mut back = doc.clone();
                            back.remove(task.id.as_str()).unwrap();
                            prop_assert_eq!(back.as_str(), before.as_str(), "insert touched other bytes");
                        }
                        Err(Error::NotInPlace { .. }) if matches!(at, Position::UnderHeading(_)) => {
                            prop_assert_eq!(doc.as_str(), before.as_str());
                        }
                        Err(e) => return Err(TestCaseError::fail(format!("{op:?} {at:?}: {e}\n{}", before.as_str()))),
                    }
                }
                Op::Remove(i) => {
                    let Some(id) = pick(*i) else { continue };
                    match doc.remove(&id) {
                        Ok(task) => {
                            prop_assert_eq!(task.id.as_str(), id.as_str());
                            let mut expect = before.tasks().to_vec();
                            expect.retain(|t| t.id.as_str() != id);
                            prop_assert_eq!(doc.tasks(), &expect[..]);
                        }
                        Err(Error::NotInPlace { .. }) => prop_assert_eq!(doc.as_str(), before.as_str()),
                        Err(e) => return Err(TestCaseError::fail(format!("{op:?}: {e}"))),
                    }
                }
                Op::Status(i) => {
                    let Some(id) = pick(*i) else { continue };
                    let _ = doc.set_status(&id, Status::Done);
                }
                Op::Title(i) => {
                    let Some(id) = pick(*i) else { continue };
                    doc.set_title(&id, "Renamed").unwrap();
                }
            }
            let reread = markdown::parse(doc.as_str()).unwrap();
            prop_assert_eq!(&reread.tasks[..], doc.tasks(), "{:?}\n{}", op, doc.as_str());
        }
    }
}

#[test]
fn a_subtask_is_indented_under_its_parent_in_the_parents_form() {
    let mut doc = MarkdownDocument::parse(
        "# Plan\r\n\r\n- [ ] Parent [id:: p] [priority:: high]\r\n- [ ] Other [id:: o]\r\n",
    )
    .unwrap();
    let mut child = Task::new(TaskId::new("c").unwrap(), "Child");
    child.priority = Priority::Low;
    doc.insert(child, Position::Subtask(TaskId::new("p").unwrap()))
        .unwrap();
    assert_eq!(
        doc.as_str(),
        "# Plan\r\n\r\n- [ ] Parent [id:: p] [priority:: high]\r\n  - [ ] Child [id:: c] [priority:: low]\r\n- [ ] Other [id:: o]\r\n"
    );
    // A parent with subtasks is not removed: its subtasks would be re-nested.
    assert!(matches!(doc.remove("p"), Err(Error::NotInPlace { .. })));
    doc.remove("c").unwrap();
    doc.remove("p").unwrap();
    assert_eq!(doc.as_str(), "# Plan\r\n\r\n- [ ] Other [id:: o]\r\n");
}

#[test]
fn a_task_under_a_heading_goes_after_that_sections_tasks() {
    let mut doc =
        MarkdownDocument::parse("## Today\n- [ ] A 🆔 a\n\n## Later\n- [ ] B 🆔 b\n").unwrap();
    doc.insert(
        Task::new(TaskId::new("n").unwrap(), "N"),
        Position::UnderHeading("Today".into()),
    )
    .unwrap();
    assert_eq!(
        doc.as_str(),
        "## Today\n- [ ] A 🆔 a\n- [ ] N 🆔 n\n\n## Later\n- [ ] B 🆔 b\n"
    );
    let err = doc
        .insert(
            Task::new(TaskId::new("m").unwrap(), "M"),
            Position::UnderHeading("Never".into()),
        )
        .unwrap_err();
    assert!(err.to_string().contains("no heading `Never`"), "{err}");
}
