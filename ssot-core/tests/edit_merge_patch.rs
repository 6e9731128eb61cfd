//! JSON Merge Patch (RFC 7396) applied in place to YAML and JSON documents: the
//! result reads as `json_patch::merge` says, and the lines of keys the patch does not
//! name are unchanged. Also: real-style files where a one-key patch changes one line,
//! and random input that must not panic.
//!
//! Deeper run: `PROPTEST_CASES=2000 cargo test -p ssot-core --test edit_merge_patch`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::{Value, json};
use ssot_core::Format;
use ssot_core::format::edit::{ConfigDocument, TaskDocument};

/// One top-level entry `m{i}` whose every line mentions `m{i}`.
#[derive(Debug, Clone)]
enum Shape {
    Text,
    Number,
    Nested { flow: bool },
    List,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Text),
        Just(Shape::Number),
        any::<bool>().prop_map(|flow| Shape::Nested { flow }),
        Just(Shape::List),
    ]
}

fn yaml_text(shapes: &[Shape], comments: bool, crlf: bool) -> String {
    let mut out = String::new();
    if comments {
        out.push_str("# configuration\n\n");
    }
    for (i, s) in shapes.iter().enumerate() {
        let note = if comments {
            format!("   # m{i} note")
        } else {
            String::new()
        };
        match s {
            Shape::Text => out.push_str(&format!("m{i}: 'm{i} value'{note}\n")),
            Shape::Number => out.push_str(&format!("m{i}: {i}{note}\n")),
            Shape::Nested { flow: true } => {
                out.push_str(&format!("m{i}: {{m{i}_a: m{i} x, m{i}_b: [1, 2]}}{note}\n"));
            }
            Shape::Nested { flow: false } => {
                out.push_str(&format!("m{i}:{note}\n  m{i}_a: \"m{i} x\"\n"));
                if comments {
                    out.push_str(&format!("  # m{i} inner\n"));
                }
                out.push_str(&format!("  m{i}_b:\n    - 1 # m{i}\n    - 2 # m{i}\n"));
            }
            Shape::List => out.push_str(&format!("m{i}:\n  - m{i} one\n  - m{i} two\n")),
        }
    }
    if crlf { out.replace('\n', "\r\n") } else { out }
}

fn json_text(shapes: &[Shape], crlf: bool) -> String {
    let mut lines = Vec::new();
    for (i, s) in shapes.iter().enumerate() {
        let body = match s {
            Shape::Text => format!("  \"m{i}\": \"m{i} value\""),
            Shape::Number => format!("  \"m{i}\": {i}"),
            Shape::Nested { flow: true } => {
                format!("  \"m{i}\": {{\"m{i}_a\": \"m{i} x\", \"m{i}_b\": [1, 2]}}")
            }
            Shape::Nested { flow: false } => format!(
                "  \"m{i}\": {{\n    \"m{i}_a\": \"m{i} x\",\n    \"m{i}_b\": [1, 2] \n  }}"
            ),
            Shape::List => format!("  \"m{i}\": [\n    \"m{i} one\",\n    \"m{i} two\"\n  ]"),
        };
        lines.push(body);
    }
    let out = if lines.is_empty() {
        "{}\n".to_owned()
    } else {
        format!("{{\n{}\n}}\n", lines.join(",\n"))
    };
    if crlf { out.replace('\n', "\r\n") } else { out }
}

/// What the patch does to one named key.
#[derive(Debug, Clone)]
enum Change {
    Remove,
    Scalar,
    Object,
    Merge,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        Just(Change::Remove),
        Just(Change::Scalar),
        Just(Change::Object),
        Just(Change::Merge),
    ]
}

fn patch_of(n: usize, named: &[(usize, Change)], new_keys: usize) -> (Value, Vec<usize>) {
    let mut patch = serde_json::Map::new();
    let mut touched = Vec::new();
    for (i, c) in named {
        if n == 0 {
            break;
        }
        let i = i % n;
        touched.push(i);
        let v = match c {
            Change::Remove => Value::Null,
            Change::Scalar => json!("changed: yes"),
            Change::Object => json!({"deep": {"x": 1, "gone": null}, "list": ["a b", 2]}),
            Change::Merge => {
                json!({format!("m{i}_a"): null, format!("m{i}_c"): "new", "z": {"q": true}})
            }
        };
        patch.insert(format!("m{i}"), v);
    }
    for j in 0..new_keys {
        patch.insert(format!("new{j}"), json!({"k": [1, {"w": "it's"}]}));
    }
    (Value::Object(patch), touched)
}

/// The lines mentioning `m{i}` for every `i` not touched, in order. A trailing comma
/// is not compared: in JSON, a new last key gives the key before it its comma.
fn kept_lines(text: &str, n: usize, touched: &[usize]) -> Vec<String> {
    text.lines()
        .filter(|l| {
            (0..n).filter(|i| !touched.contains(i)).any(|i| {
                l.contains(&format!("m{i}_"))
                    || l.contains(&format!("m{i} "))
                    || l.contains(&format!("\"m{i}\""))
                    || l.starts_with(&format!("m{i}:"))
            })
        })
        .map(|l| l.strip_suffix(',').unwrap_or(l).to_owned())
        .collect()
}

fn check(
    format: Format,
    text: &str,
    patch: &Value,
    n: usize,
    touched: &[usize],
) -> Result<(), TestCaseError> {
    let mut doc = ConfigDocument::parse(format, text)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    let mut expected = doc.value().clone();
    json_patch::merge(&mut expected, patch);
    doc.merge_patch(patch)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}\n{patch}")))?;
    prop_assert_eq!(doc.value(), &expected);
    let reread = ConfigDocument::parse(format, doc.as_str()).unwrap();
    prop_assert_eq!(reread.value(), &expected, "{}", doc.as_str());
    let before = kept_lines(text, n, touched);
    let after = kept_lines(doc.as_str(), n, touched);
    prop_assert_eq!(before, after, "{}\n---\n{}", text, doc.as_str());
    Ok(())
}

proptest! {

    #[test]
    fn yaml_merge_patch_is_rfc_7396_in_place(
        shapes in proptest::collection::vec(shape(), 0..6),
        named in proptest::collection::vec((any::<usize>(), change()), 0..3),
        new_keys in 0..2usize,
        comments: bool,
        crlf: bool,
    ) {
        let text = yaml_text(&shapes, comments, crlf);
        prop_assume!(!shapes.is_empty());
        let (patch, touched) = patch_of(shapes.len(), &named, new_keys);
        check(Format::Yaml, &text, &patch, shapes.len(), &touched)?;
    }

    #[test]
    fn json_merge_patch_is_rfc_7396_in_place(
        shapes in proptest::collection::vec(shape(), 0..6),
        named in proptest::collection::vec((any::<usize>(), change()), 0..3),
        new_keys in 0..2usize,
        crlf: bool,
    ) {
        let text = json_text(&shapes, crlf);
        let (patch, touched) = patch_of(shapes.len(), &named, new_keys);
        check(Format::Json, &text, &patch, shapes.len(), &touched)?;
    }

    #[test]
    fn no_input_panics(text in "(\\PC|[\\[\\]{}:,\\-#'\"\n ]){0,80}", key in "[a-z]{1,3}") {
        for format in [Format::Yaml, Format::Json] {
            if let Ok(mut doc) = ConfigDocument::parse(format, text.clone()) {
                let _ = doc.merge_patch(&json!({key.clone(): {"x": null, "y": [1]}}));
                let _ = doc.merge_patch(&json!({key.clone(): null}));
            }
            if let Ok(mut doc) = TaskDocument::parse(format, text.clone()) {
                let ids: Vec<String> = doc.tasks().iter().map(|t| t.id.to_string()).collect();
                for id in ids {
                    let _ = doc.set_title(&id, "new: title");
                    let _ = doc.update(&id, |t| t.description = "a\nb".into());
                    let _ = doc.remove(&id);
                }
            }
        }
    }
}

/// The files in `tests/data/`, each with a one-key patch and the one line it must
/// change to.
#[test]
fn real_files_change_one_line_for_one_key() {
    let cases: &[(&str, Format, Value, &str)] = &[
        (
            "ci-workflow.yml",
            Format::Yaml,
            json!({"jobs": {"test": {"timeout-minutes": 30}}}),
            "    timeout-minutes: 30",
        ),
        (
            "compose.yaml",
            Format::Yaml,
            json!({"services": {"db": {"image": "postgres:17-alpine"}}}),
            "    image: postgres:17-alpine # bump with care",
        ),
        (
            "deployment.yaml",
            Format::Yaml,
            json!({"spec": {"replicas": 5}}),
            "  replicas: 5",
        ),
        (
            "package.json",
            Format::Json,
            json!({"version": "2.4.0"}),
            "  \"version\": \"2.4.0\",",
        ),
    ];
    for (file, format, patch, line) in cases {
        let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let mut doc = ConfigDocument::parse(*format, text.clone()).unwrap();
        doc.merge_patch(patch).unwrap();
        let before: Vec<&str> = text.lines().collect();
        let after: Vec<&str> = doc.as_str().lines().collect();
        assert_eq!(before.len(), after.len(), "{file}");
        let changed: Vec<(&&str, &&str)> =
            before.iter().zip(&after).filter(|(a, b)| a != b).collect();
        assert_eq!(changed.len(), 1, "{file}: {changed:?}");
        assert_eq!(*changed[0].1, *line, "{file}");
    }
}

/// A GitHub workflow style that libyaml reads and saphyr (the editors' span parser)
/// refuses: the closing bracket of a flow list at its key's indentation. Found by
/// patching the 241 workflow and config files of the crates in a cargo registry.
/// The file is not edited; the error says why and how to make it editable.
#[test]
fn a_flow_list_closed_at_its_keys_indentation_is_refused_with_the_reason() {
    let text = "jobs:\n  test:\n    strategy:\n      matrix:\n        target: [\n          { \"os\": \"ubuntu-latest\" },\n        ]\n";
    let value: Value = serde_yaml::from_str(text).unwrap();
    assert_eq!(
        value["jobs"]["test"]["strategy"]["matrix"]["target"][0]["os"],
        "ubuntu-latest"
    );
    let err = ConfigDocument::parse(Format::Yaml, text)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 7"), "{err}");
    assert!(err.contains("cannot be edited in place"), "{err}");
    assert!(err.contains("indent the bracket"), "{err}");
    let indented = text.replace("\n        ]\n", "\n         ]\n");
    let mut doc = ConfigDocument::parse(Format::Yaml, indented.clone()).unwrap();
    doc.merge_patch(&json!({"jobs": {"test": {"timeout-minutes": 30}}}))
        .unwrap();
    let mut want: Value = serde_yaml::from_str(&indented).unwrap();
    json_patch::merge(
        &mut want,
        &json!({"jobs": {"test": {"timeout-minutes": 30}}}),
    );
    assert_eq!(serde_yaml::from_str::<Value>(doc.as_str()).unwrap(), want);
    // Every line of the file is still there, in order, around the one added key.
    let kept: Vec<&str> = doc
        .as_str()
        .lines()
        .filter(|l| !l.contains("timeout"))
        .collect();
    assert_eq!(kept, indented.lines().collect::<Vec<_>>());
}
