//! In-place editing of YAML and JSON task lists: random documents in varied styles,
//! random edit sequences; after each step the text reads as the model, and every
//! byte outside the edited task is unchanged.
//!
//! "Unchanged outside the task" is checked with removal: removing the edited task from
//! the text before and from the text after an update must give the same bytes (and
//! removing an inserted task gives back the text before the insert). Removal itself is
//! checked against the model at every step.
//!
//! Deeper run: `PROPTEST_CASES=2000 cargo test -p ssot-core --test edit_yaml_json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use ssot_core::format::edit::{Position, TaskDocument};
use ssot_core::{Error, Format, Priority, Status, Tag, Task, TaskId, format};

const TITLES: &[&str] = &[
    "Ship it",
    "Fix: the bug",
    "yes",
    "12",
    "it's done",
    "a #hash",
    "Überprüfen",
    "- dash",
    "",
    "quote \" inside",
    "[x] brackets, commas",
    "two words",
];

#[derive(Debug, Clone)]
struct GenTask {
    title: usize,
    status: usize,
    priority: Option<usize>,
    tags: Vec<usize>,
    description: Option<usize>,
    owner: bool,
}

const STATUSES: &[&str] = &[
    "pending",
    "todo",
    "in_progress",
    "done",
    "blocked",
    "cancelled",
];
const PRIORITIES: &[&str] = &["critical", "high", "medium", "normal", "low"];
const TAGS: &[&str] = &["ops", "area/db", "x"];
const DESCRIPTIONS: &[&str] = &["One line.", "two\nlines\n", "ends without\nnewline"];

fn gen_task() -> impl Strategy<Value = GenTask> {
    (
        0..TITLES.len(),
        0..STATUSES.len(),
        proptest::option::of(0..PRIORITIES.len()),
        proptest::collection::vec(0..TAGS.len(), 0..3),
        proptest::option::of(0..DESCRIPTIONS.len()),
        any::<bool>(),
    )
        .prop_map(|(title, status, priority, mut tags, description, owner)| {
            tags.sort_unstable();
            tags.dedup();
            GenTask {
                title,
                status,
                priority,
                tags,
                description,
                owner,
            }
        })
}

#[derive(Debug, Clone)]
struct YamlStyle {
    indent: usize,
    wrapped: bool,
    flow_items: bool,
    flow_list: bool,
    quote: usize,
    comments: bool,
    crlf: bool,
    block_tags: bool,
}

fn yaml_style() -> impl Strategy<Value = YamlStyle> {
    (
        prop_oneof![Just(2usize), Just(4)],
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        0..3usize,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(indent, wrapped, flow_items, flow_list, quote, comments, crlf, block_tags)| {
                YamlStyle {
                    indent,
                    wrapped,
                    flow_items,
                    flow_list,
                    quote,
                    comments,
                    crlf,
                    block_tags,
                }
            },
        )
}

fn safe_plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_alphanumeric() || c == ' ')
        && !matches!(s, "yes" | "no" | "12")
        && !s.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn yaml_scalar(s: &str, quote: usize, flow: bool) -> String {
    match quote {
        0 if safe_plain(s) && !(flow && s.contains(',')) => s.to_owned(),
        1 if !s.contains('\n') => format!("'{}'", s.replace('\'', "''")),
        _ => serde_json::to_string(s).unwrap(),
    }
}

fn yaml_doc(tasks: &[GenTask], st: &YamlStyle) -> String {
    let pad = " ".repeat(st.indent);
    let mut out = String::new();
    if st.comments {
        out.push_str("# Task list\n\n");
    }
    let item_pad = if st.wrapped {
        out.push_str("version: 1\ntasks:");
        pad.clone()
    } else {
        String::new()
    };
    if tasks.is_empty() || st.flow_list {
        out.push_str(if st.wrapped { " [" } else { "[" });
        for (i, t) in tasks.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("\n  ");
            out.push_str(&flow_task(i, t, st));
        }
        out.push_str(if tasks.is_empty() { "]\n" } else { "\n]\n" });
    } else {
        if st.wrapped {
            out.push('\n');
        }
        for (i, t) in tasks.iter().enumerate() {
            if st.comments && i > 0 {
                out.push_str(&format!("\n{item_pad}# between {i}\n"));
            }
            if st.flow_items {
                out.push_str(&format!("{item_pad}- {}\n", flow_task(i, t, st)));
                continue;
            }
            let key_pad = format!("{item_pad}{}", " ".repeat(2));
            let q = (st.quote + i) % 3;
            out.push_str(&format!("{item_pad}- id: t{i}"));
            out.push_str(if st.comments { "   # the id\n" } else { "\n" });
            let keep = if st.comments { "  # keep" } else { "" };
            out.push_str(&format!(
                "{key_pad}title: {}{keep}\n",
                yaml_scalar(TITLES[t.title], q, false)
            ));
            if st.comments {
                out.push_str(&format!("{key_pad}# inside t{i}\n"));
            }
            out.push_str(&format!("{key_pad}status: {}{keep}\n", STATUSES[t.status]));
            if let Some(p) = t.priority {
                out.push_str(&format!("{key_pad}priority: {}\n", PRIORITIES[p]));
            }
            if !t.tags.is_empty() {
                if st.block_tags {
                    out.push_str(&format!("{key_pad}tags:\n"));
                    for &g in &t.tags {
                        out.push_str(&format!("{key_pad}{pad}- {}\n", TAGS[g]));
                    }
                } else {
                    let tags: Vec<&str> = t.tags.iter().map(|&g| TAGS[g]).collect();
                    out.push_str(&format!("{key_pad}tags: [{}]\n", tags.join(", ")));
                }
            }
            if let Some(d) = t.description {
                let d = DESCRIPTIONS[d];
                if d.ends_with('\n') {
                    out.push_str(&format!("{key_pad}description: |\n"));
                    for l in d.lines() {
                        out.push_str(&format!("{key_pad}{pad}{l}\n"));
                    }
                } else {
                    out.push_str(&format!(
                        "{key_pad}description: {}\n",
                        yaml_scalar(d, q, false)
                    ));
                }
            }
            if t.owner {
                out.push_str(&format!("{key_pad}owner: kim\n"));
            }
        }
    }
    if st.wrapped && st.comments {
        out.push_str("# trailing\n");
    }
    if st.crlf {
        out = out.replace('\n', "\r\n");
    }
    out
}

fn flow_task(i: usize, t: &GenTask, st: &YamlStyle) -> String {
    let q = (st.quote + i) % 3;
    let mut parts = vec![
        format!("id: t{i}"),
        format!("title: {}", yaml_scalar(TITLES[t.title], q, true)),
        format!("status: {}", STATUSES[t.status]),
    ];
    if let Some(p) = t.priority {
        parts.push(format!("priority: {}", PRIORITIES[p]));
    }
    if !t.tags.is_empty() {
        let tags: Vec<&str> = t.tags.iter().map(|&g| TAGS[g]).collect();
        parts.push(format!("tags: [{}]", tags.join(", ")));
    }
    if let Some(d) = t.description {
        parts.push(format!(
            "description: {}",
            serde_json::to_string(DESCRIPTIONS[d]).unwrap()
        ));
    }
    if t.owner {
        parts.push("owner: 7".to_owned());
    }
    format!("{{{}}}", parts.join(", "))
}

#[derive(Debug, Clone)]
struct JsonStyle {
    indent: usize,
    wrapped: bool,
    compact_tasks: bool,
    crlf: bool,
}

fn json_style() -> impl Strategy<Value = JsonStyle> {
    (
        prop_oneof![Just(2usize), Just(4)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(indent, wrapped, compact_tasks, crlf)| JsonStyle {
            indent,
            wrapped,
            compact_tasks,
            crlf,
        })
}

fn json_doc(tasks: &[GenTask], st: &JsonStyle) -> String {
    let values: Vec<serde_json::Value> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut m = serde_json::Map::new();
            m.insert("id".into(), format!("t{i}").into());
            m.insert("title".into(), TITLES[t.title].into());
            m.insert("status".into(), STATUSES[t.status].into());
            if let Some(p) = t.priority {
                m.insert("priority".into(), PRIORITIES[p].into());
            }
            if !t.tags.is_empty() {
                let tags: Vec<&str> = t.tags.iter().map(|&g| TAGS[g]).collect();
                m.insert("tags".into(), tags.into());
            }
            if let Some(d) = t.description {
                m.insert("description".into(), DESCRIPTIONS[d].into());
            }
            if t.owner {
                m.insert("owner".into(), serde_json::json!({"name": "kim", "n": 3}));
            }
            serde_json::Value::Object(m)
        })
        .collect();
    let pad = " ".repeat(st.indent);
    let base = if st.wrapped {
        pad.clone()
    } else {
        String::new()
    };
    let mut out = String::new();
    if st.wrapped {
        out.push_str(&format!("{{\n{pad}\"version\": 2,\n{pad}\"tasks\": "));
    }
    if values.is_empty() {
        out.push_str("[]");
    } else {
        out.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!("\n{base}{pad}"));
            if st.compact_tasks {
                out.push_str(&v.to_string());
            } else {
                let mut buf = Vec::new();
                let f = serde_json::ser::PrettyFormatter::with_indent(pad.as_bytes());
                let mut ser = serde_json::Serializer::with_formatter(&mut buf, f);
                serde::Serialize::serialize(v, &mut ser).unwrap();
                let s = String::from_utf8(buf).unwrap();
                out.push_str(&s.replace('\n', &format!("\n{base}{pad}")));
            }
        }
        out.push_str(&format!("\n{base}]"));
    }
    if st.wrapped {
        out.push_str("\n}");
    }
    out.push('\n');
    if st.crlf {
        out = out.replace('\n', "\r\n");
    }
    out
}

#[derive(Debug, Clone)]
enum Op {
    Status(usize, usize),
    Title(usize, usize),
    SameTitle(usize),
    Priority(usize, usize),
    Tags(usize, Vec<usize>),
    Description(usize, Option<usize>),
    Owner(usize, bool),
    Insert(Option<usize>, GenTask),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<usize>(), 0..STATUSES.len()).prop_map(|(i, s)| Op::Status(i, s)),
        (any::<usize>(), 0..TITLES.len()).prop_map(|(i, t)| Op::Title(i, t)),
        any::<usize>().prop_map(Op::SameTitle),
        (any::<usize>(), 0..PRIORITIES.len()).prop_map(|(i, p)| Op::Priority(i, p)),
        (
            any::<usize>(),
            proptest::collection::vec(0..TAGS.len(), 0..3)
        )
            .prop_map(|(i, t)| Op::Tags(i, t)),
        (any::<usize>(), proptest::option::of(0..DESCRIPTIONS.len()))
            .prop_map(|(i, d)| Op::Description(i, d)),
        (any::<usize>(), any::<bool>()).prop_map(|(i, o)| Op::Owner(i, o)),
        (proptest::option::of(any::<usize>()), gen_task()).prop_map(|(a, t)| Op::Insert(a, t)),
        any::<usize>().prop_map(Op::Remove),
    ]
}

fn new_task(n: usize, g: &GenTask) -> Task {
    let mut t = Task::new(TaskId::new(format!("n{n}")).unwrap(), TITLES[g.title]);
    t = t.with_status(Status::from_name(STATUSES[g.status]).unwrap());
    if let Some(p) = g.priority {
        t.priority = Priority::from_name(PRIORITIES[p]).unwrap();
    }
    t.tags = g.tags.iter().map(|&i| Tag::new(TAGS[i]).unwrap()).collect();
    if let Some(d) = g.description {
        t.description = DESCRIPTIONS[d].to_owned();
    }
    if g.owner {
        t.extra.insert("owner".into(), "kim".into());
    }
    t
}

/// Removes task `id` from a copy of `doc`, for comparing what is outside it.
fn without(doc: &TaskDocument, id: &str) -> String {
    let mut d = doc.clone();
    d.remove(id).unwrap();
    d.into_string()
}

fn run(format: Format, text: String, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let list =
        format::parse(format, &text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    let mut model = list.tasks;
    let mut doc = TaskDocument::parse(format, text.clone()).unwrap();
    prop_assert_eq!(doc.as_str(), text.as_str());
    let mut inserted = 0;
    for op in ops {
        let before = doc.clone();
        let n = model.len();
        let pick = |i: usize| (n > 0).then(|| model[i % n].id.to_string());
        // The edit on the model, the edit on the document, and the id of the task it
        // touched (`None` for a removal).
        let mut expect = model.clone();
        let (result, touched): (Result<(), Error>, Option<String>) = match &op {
            Op::Insert(after, g) => {
                inserted += 1;
                let task = new_task(inserted, g);
                let at = match after.and_then(pick) {
                    Some(id) => Position::After(TaskId::new(id).unwrap()),
                    None => Position::End,
                };
                let slot = match &at {
                    Position::After(id) => model.iter().position(|t| &t.id == id).unwrap() + 1,
                    _ => n,
                };
                expect.insert(slot, task.clone());
                (doc.insert(task.clone(), at), Some(task.id.to_string()))
            }
            Op::Remove(i) => {
                let Some(id) = pick(*i) else { continue };
                expect.retain(|t| t.id.as_str() != id);
                (doc.remove(&id).map(|_| ()), None)
            }
            op => {
                let Some(id) = (match op {
                    Op::Status(i, _)
                    | Op::Title(i, _)
                    | Op::SameTitle(i)
                    | Op::Priority(i, _)
                    | Op::Tags(i, _)
                    | Op::Description(i, _)
                    | Op::Owner(i, _) => pick(*i),
                    _ => None,
                }) else {
                    continue;
                };
                let k = expect.iter().position(|t| t.id.as_str() == id).unwrap();
                let change = |t: &mut Task| match op {
                    Op::Title(_, ti) => t.title = TITLES[*ti].to_owned(),
                    Op::Priority(_, p) => t.priority = Priority::from_name(PRIORITIES[*p]).unwrap(),
                    Op::Tags(_, tags) => {
                        let mut tags = tags.clone();
                        tags.dedup();
                        t.tags = tags.iter().map(|&g| Tag::new(TAGS[g]).unwrap()).collect();
                    }
                    Op::Description(_, d) => {
                        t.description = d.map_or(String::new(), |d| DESCRIPTIONS[d].to_owned());
                    }
                    Op::Owner(_, true) => {
                        t.extra.insert("owner".into(), "pat".into());
                    }
                    Op::Owner(_, false) => {
                        t.extra.shift_remove("owner");
                    }
                    _ => {}
                };
                let result = match op {
                    Op::Status(_, s) => {
                        let to = Status::from_name(STATUSES[*s]).unwrap();
                        if expect[k].transition(to).is_err() {
                            expect = model.clone();
                        }
                        doc.set_status(&id, to)
                    }
                    Op::Title(_, ti) => {
                        change(&mut expect[k]);
                        doc.set_title(&id, TITLES[*ti])
                    }
                    Op::SameTitle(_) => {
                        let title = expect[k].title.clone();
                        let r = doc.set_title(&id, &title);
                        prop_assert_eq!(
                            doc.as_str(),
                            before.as_str(),
                            "a no-op edit changed bytes"
                        );
                        r
                    }
                    _ => {
                        change(&mut expect[k]);
                        doc.update(&id, change)
                    }
                };
                (result, Some(id))
            }
        };
        match result {
            Ok(()) => {}
            Err(Error::IllegalTransition { .. }) => {
                prop_assert_eq!(doc.as_str(), before.as_str());
                expect = model.clone();
            }
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "{op:?}: {e}\n{}",
                    before.as_str()
                )));
            }
        }
        let reread = format::parse(format, doc.as_str())
            .map_err(|e| TestCaseError::fail(format!("{op:?}: {e}\n{}", doc.as_str())))?;
        prop_assert_eq!(&reread.tasks, &expect, "{:?}\n{}", op, doc.as_str());
        prop_assert_eq!(doc.tasks(), &expect[..]);
        // Comments on changed values stay.
        if !matches!(op, Op::Remove(_)) {
            prop_assert_eq!(
                doc.as_str().matches("# keep").count(),
                before.as_str().matches("# keep").count(),
                "{:?} lost a comment:\n{}",
                op,
                doc.as_str()
            );
        }
        // Bytes outside the touched task.
        match (&op, touched) {
            (Op::Insert(..), Some(id)) => {
                prop_assert_eq!(
                    without(&doc, &id),
                    before.as_str(),
                    "insert touched other bytes"
                );
            }
            (_, Some(id)) if doc.get(&id).is_some() => {
                prop_assert_eq!(
                    without(&doc, &id),
                    without(&before, &id),
                    "{:?} touched bytes outside its task:\n{}\n---\n{}",
                    op,
                    before.as_str(),
                    doc.as_str()
                );
            }
            _ => {}
        }
        model = expect;
    }
    Ok(())
}

proptest! {

    #[test]
    fn yaml_edits_keep_every_other_byte(
        tasks in proptest::collection::vec(gen_task(), 0..5),
        style in yaml_style(),
        ops in proptest::collection::vec(op(), 1..8),
    ) {
        run(Format::Yaml, yaml_doc(&tasks, &style), ops)?;
    }

    #[test]
    fn json_edits_keep_every_other_byte(
        tasks in proptest::collection::vec(gen_task(), 0..5),
        style in json_style(),
        ops in proptest::collection::vec(op(), 1..8),
    ) {
        run(Format::Json, json_doc(&tasks, &style), ops)?;
    }
}

#[test]
fn a_retitled_task_without_an_id_gets_its_old_id_written() {
    let text = "tasks:\n  - title: Write docs\n    status: todo\n";
    let mut doc = TaskDocument::parse(Format::Yaml, text).unwrap();
    let id = doc.tasks()[0].id.to_string();
    doc.set_title(&id, "Write the docs").unwrap();
    assert_eq!(
        doc.as_str(),
        format!("tasks:\n  - title: Write the docs\n    status: todo\n    id: {id}\n")
    );
    assert_eq!(
        format::parse(Format::Yaml, doc.as_str()).unwrap().tasks,
        doc.tasks()
    );
}

#[test]
fn an_anchored_value_is_not_edited_in_place() {
    let text = "- id: a\n  title: &t Shared\n- id: b\n  title: *t\n";
    let mut doc = TaskDocument::parse(Format::Yaml, text).unwrap();
    let err = doc.set_title("a", "Other").unwrap_err();
    assert!(matches!(err, Error::NotInPlace { line: 2, .. }), "{err}");
    assert!(err.to_string().contains("anchor"), "{err}");
    assert_eq!(doc.as_str(), text);
}

#[test]
fn a_block_scalar_stays_a_block_scalar() {
    let text = "- id: a\n  title: A\n  description: |\n    one\n    two\n  owner: kim\n";
    let mut doc = TaskDocument::parse(Format::Yaml, text).unwrap();
    doc.update("a", |t| t.description = "one\ntwo\nthree\n".into())
        .unwrap();
    assert_eq!(
        doc.as_str(),
        "- id: a\n  title: A\n  description: |\n    one\n    two\n    three\n  owner: kim\n"
    );
}

#[test]
fn json_keeps_its_spacing_and_line_endings() {
    let text = "{\r\n  \"tasks\": [\r\n    {\"id\": \"a\", \"title\": \"A\"},\r\n    {\"id\": \"b\", \"title\": \"B\"}\r\n  ]\r\n}\r\n";
    let mut doc = TaskDocument::parse(Format::Json, text).unwrap();
    doc.update("a", |t| t.tags.push(Tag::new("ops").unwrap()))
        .unwrap();
    doc.insert(Task::new(TaskId::new("c").unwrap(), "C"), Position::End)
        .unwrap();
    assert_eq!(
        doc.as_str(),
        "{\r\n  \"tasks\": [\r\n    {\"id\": \"a\", \"title\": \"A\", \"tags\": [\"ops\"]},\r\n    {\"id\": \"b\", \"title\": \"B\"},\r\n    {\"id\": \"c\", \"title\": \"C\"}\r\n  ]\r\n}\r\n"
    );
}
