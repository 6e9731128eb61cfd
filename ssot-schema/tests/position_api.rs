//! `ssot_schema::position`: for generated documents written as JSON (compact and
//! pretty) and as YAML (block style, and JSON read as YAML), the position of every
//! pointer of the document points at that value's text, and the position of every
//! key at that key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::{Map, Value};
use ssot_schema::position::{self, Position, Syntax, Target};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-zé ü~/0-9]{0,8}".prop_map(Value::String),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(("[a-z~/é][a-z0-9~/é ]{0,5}", inner), 0..5).prop_map(|kv| {
                let mut map = Map::new();
                for (k, v) in kv {
                    map.insert(k, v);
                }
                Value::Object(map)
            }),
        ]
    })
}

/// Every pointer of `value` with its value, and for object members, the key.
fn pointers<'v>(value: &'v Value, pointer: String, out: &mut Vec<(String, &'v Value, bool)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let mut p = pointer.clone();
                position::push_segment(&mut p, k);
                out.push((p.clone(), v, true));
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{pointer}/{i}");
                out.push((p.clone(), v, false));
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

/// The byte offset of a 1-based line and character column.
fn offset(text: &str, at: Position) -> usize {
    let line_start = text
        .split_inclusive('\n')
        .take(at.line - 1)
        .map(str::len)
        .sum::<usize>();
    let line = &text[line_start..];
    line_start
        + line
            .char_indices()
            .nth(at.column - 1)
            .map_or(line.len(), |(i, _)| i)
}

/// The first JSON value written at `at`.
fn json_at(text: &str, at: Position) -> Value {
    let rest = &text[offset(text, at)..];
    serde_json::Deserializer::from_str(rest)
        .into_iter::<Value>()
        .next()
        .expect("a value starts here")
        .expect("it parses")
}

fn rest_of_line(text: &str, at: Position) -> &str {
    let rest = &text[offset(text, at)..];
    rest.split('\n').next().unwrap_or(rest)
}

fn check_json(text: &str, doc: &Value) {
    let all = {
        let mut v = Vec::new();
        pointers(doc, String::new(), &mut v);
        v
    };
    let mut targets = vec![Target::Value("")];
    for (p, _, is_key) in &all {
        targets.push(Target::Value(p));
        if *is_key {
            targets.push(Target::Key(p));
        }
    }
    let found = position::positions(Syntax::Json, text, &targets);
    assert_eq!(json_at(text, found[0].expect("the root")), *doc);
    let mut found = found.into_iter().skip(1);
    for (p, value, is_key) in &all {
        let at = found
            .next()
            .flatten()
            .unwrap_or_else(|| panic!("{p} not found"));
        assert_eq!(json_at(text, at), **value, "value at {p} ({at})");
        if *is_key {
            let at = found
                .next()
                .flatten()
                .unwrap_or_else(|| panic!("key {p} not found"));
            let key = position::segments(p).last().unwrap();
            assert_eq!(json_at(text, at), Value::String(key), "key of {p} ({at})");
        }
    }
}

fn check_yaml(text: &str, doc: &Value) {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let mut targets = Vec::new();
    for (p, _, _) in &all {
        targets.push(Target::Value(p));
        targets.push(Target::Key(p));
    }
    let found = position::positions(Syntax::Yaml, text, &targets);
    for (i, (p, value, is_key)) in all.iter().enumerate() {
        let at = found[2 * i].unwrap_or_else(|| panic!("{p} not found in\n{text}"));
        let key_at = found[2 * i + 1].unwrap_or_else(|| panic!("key {p} not found"));
        if *is_key {
            // The line from the key on reads as a mapping whose first key is it.
            let line = rest_of_line(text, key_at);
            let read: Value = serde_yaml::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let key = position::segments(p).last().unwrap();
            assert_eq!(
                read.as_object().and_then(|m| m.keys().next()),
                Some(&key),
                "key of {p} at {key_at} in\n{text}"
            );
            assert!(key_at <= at, "the key of {p} comes before its value");
        } else {
            assert_eq!(key_at, at, "an element's key position is the element's");
        }
        match value {
            Value::Object(m) if !m.is_empty() => {
                // A block mapping starts at its first key.
                let mut first = p.clone();
                position::push_segment(&mut first, m.keys().next().unwrap());
                let key = position::key_position(Syntax::Yaml, text, &first);
                assert_eq!(Some(at), key, "mapping {p} starts at its first key");
            }
            Value::Array(items) if !items.is_empty() => {
                let first = position::value_position(Syntax::Yaml, text, &format!("{p}/0"));
                assert!(
                    Some(at) <= first,
                    "sequence {p} starts before its first item"
                );
            }
            scalar => {
                let line = rest_of_line(text, at);
                let read: Value =
                    serde_yaml::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
                assert_eq!(read, **scalar, "value at {p} ({at}) in\n{text}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(64)))]

    #[test]
    fn every_pointer_of_a_json_document_points_at_its_value(doc in document()) {
        check_json(&serde_json::to_string(&doc).unwrap(), &doc);
        check_json(&serde_json::to_string_pretty(&doc).unwrap(), &doc);
    }

    #[test]
    fn every_pointer_of_a_yaml_document_points_at_its_value(doc in document()) {
        let text = serde_yaml::to_string(&doc).unwrap();
        check_yaml(&text, &doc);
    }

    #[test]
    fn json_read_as_yaml_gives_the_json_positions(doc in document()) {
        let text = serde_json::to_string_pretty(&doc).unwrap();
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let targets: Vec<Target<'_>> = all.iter().map(|(p, _, _)| Target::Value(p)).collect();
        prop_assert_eq!(
            position::positions(Syntax::Yaml, &text, &targets),
            position::positions(Syntax::Json, &text, &targets)
        );
    }

    #[test]
    fn pointers_that_lead_nowhere_give_none(doc in document(), extra in "[a-z]{1,4}") {
        let text = serde_json::to_string(&doc).unwrap();
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        for (p, value, _) in &all {
            if !value.is_object() && !value.is_array() {
                let deeper = format!("{p}/{extra}");
                prop_assert_eq!(position::value_position(Syntax::Json, &text, &deeper), None);
                prop_assert_eq!(position::key_position(Syntax::Json, &text, &deeper), None);
            }
        }
    }
}
