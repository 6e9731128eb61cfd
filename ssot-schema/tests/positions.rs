//! Line and column mapping: for generated YAML and JSON documents with one injected
//! invalid value, the reported line and column point at that value; and the same
//! instance given as a `Value`, as JSON text and as YAML text gives the same verdict
//! and the same instance locations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::{Value, json};
use ssot_schema::SchemaRegistry;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A document tree; `Bad` is the injected invalid value, written in a given style.
#[derive(Debug, Clone)]
enum Node {
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
    Int(i64),
    Word(String),
    Quoted(String),
    Bad(Style),
}

#[derive(Debug, Clone, Copy)]
enum Style {
    Plain,
    Double,
    Single,
}

fn leaf() -> impl Strategy<Value = Node> {
    prop_oneof![
        any::<i64>().prop_map(Node::Int),
        "[a-z]{1,8}".prop_map(Node::Word),
        "[a-zé ü]{0,8}".prop_map(Node::Quoted),
    ]
}

fn tree() -> impl Strategy<Value = Node> {
    leaf().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Node::Seq),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..5)
                .prop_map(|m| Node::Map(m.into_iter().collect())),
        ]
    })
}

/// Replaces the `n`-th leaf (in document order, modulo the leaf count) by `Bad`.
/// Returns false when the tree has no leaf.
fn inject(node: &mut Node, n: usize, style: Style) -> bool {
    fn count(node: &Node) -> usize {
        match node {
            Node::Map(m) => m.iter().map(|(_, v)| count(v)).sum(),
            Node::Seq(s) => s.iter().map(count).sum(),
            _ => 1,
        }
    }
    fn walk(node: &mut Node, n: &mut usize, style: Style) -> bool {
        match node {
            Node::Map(m) => m.iter_mut().any(|(_, v)| walk(v, n, style)),
            Node::Seq(s) => s.iter_mut().any(|v| walk(v, n, style)),
            leaf => {
                if *n == 0 {
                    *leaf = Node::Bad(style);
                    true
                } else {
                    *n -= 1;
                    false
                }
            }
        }
    }
    let leaves = count(node);
    leaves > 0 && walk(node, &mut (n % leaves), style)
}

/// Renders and records the pointer, line and column (1-based, characters) of `Bad`.
struct Out {
    text: String,
    bad: Option<(String, usize, usize)>,
}

impl Out {
    fn position(&self) -> (usize, usize) {
        let line = self.text.matches('\n').count() + 1;
        let start = self.text.rfind('\n').map_or(0, |i| i + 1);
        (line, self.text[start..].chars().count() + 1)
    }

    fn scalar(&mut self, node: &Node, pointer: &str, json: bool) {
        if let Node::Bad(style) = node {
            let (line, column) = self.position();
            self.bad = Some((pointer.to_owned(), line, column));
            self.text.push_str(match (json, style) {
                (true, _) | (false, Style::Double) => "\"INVALID\"",
                (false, Style::Plain) => "INVALID",
                (false, Style::Single) => "'INVALID'",
            });
            return;
        }
        match node {
            Node::Int(i) => self.text.push_str(&i.to_string()),
            Node::Word(w) if json => self.text.push_str(&format!("\"{w}\"")),
            Node::Word(w) => self.text.push_str(&format!("w{w}")),
            Node::Quoted(q) => self.text.push_str(&format!("\"{q}\"")),
            _ => unreachable!(),
        }
    }

    fn yaml(&mut self, node: &Node, indent: usize, pointer: &str) {
        let pad = " ".repeat(indent);
        match node {
            Node::Map(m) if m.is_empty() => self.text.push_str("{}"),
            Node::Seq(s) if s.is_empty() => self.text.push_str("[]"),
            Node::Map(m) => {
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 || !self.text.is_empty() {
                        self.text.push('\n');
                    }
                    self.text.push_str(&format!("{pad}{k}:"));
                    self.child(v, indent, &format!("{pointer}/{k}"));
                }
            }
            Node::Seq(s) => {
                for (i, v) in s.iter().enumerate() {
                    if i > 0 || !self.text.is_empty() {
                        self.text.push('\n');
                    }
                    self.text.push_str(&format!("{pad}-"));
                    self.child(v, indent, &format!("{pointer}/{i}"));
                }
            }
            leaf => self.scalar(leaf, pointer, false),
        }
    }

    fn child(&mut self, v: &Node, indent: usize, pointer: &str) {
        match v {
            Node::Map(c) if !c.is_empty() => self.yaml(v, indent + 2, pointer),
            Node::Seq(c) if !c.is_empty() => self.yaml(v, indent + 2, pointer),
            _ => {
                self.text.push(' ');
                self.yaml(v, indent, pointer);
            }
        }
    }

    fn json(&mut self, node: &Node, indent: usize, pointer: &str) {
        let pad = " ".repeat(indent + 2);
        match node {
            Node::Map(m) => {
                self.text.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    self.text.push_str(if i > 0 { ",\n" } else { "\n" });
                    self.text.push_str(&format!("{pad}\"{k}\": "));
                    self.json(v, indent + 2, &format!("{pointer}/{k}"));
                }
                self.text.push_str(&format!("\n{}}}", " ".repeat(indent)));
            }
            Node::Seq(s) => {
                self.text.push('[');
                for (i, v) in s.iter().enumerate() {
                    self.text.push_str(if i > 0 { ",\n" } else { "\n" });
                    self.text.push_str(&pad);
                    self.json(v, indent + 2, &format!("{pointer}/{i}"));
                }
                self.text.push_str(&format!("\n{}]", " ".repeat(indent)));
            }
            leaf => self.scalar(leaf, pointer, true),
        }
    }
}

/// Anything, except the string `INVALID` anywhere.
fn registry() -> SchemaRegistry {
    let mut r = SchemaRegistry::new();
    r.register(
        "no-invalid",
        json!({
            "not": {"const": "INVALID"},
            "additionalProperties": {"$ref": "#"},
            "items": {"$ref": "#"}
        }),
    )
    .unwrap();
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn reported_line_and_column_point_at_the_injected_value(
        root in prop::collection::btree_map("[a-z]{1,6}", tree(), 1..5),
        n in any::<usize>(),
        style in prop_oneof![Just(Style::Plain), Just(Style::Double), Just(Style::Single)],
    ) {
        let mut doc = Node::Map(root.into_iter().collect());
        prop_assume!(inject(&mut doc, n, style));
        let r = registry();
        for json in [false, true] {
            let mut out = Out { text: String::new(), bad: None };
            if json { out.json(&doc, 0, "") } else { out.yaml(&doc, 0, "") }
            let (pointer, line, column) = out.bad.clone().unwrap();
            let report = if json {
                r.validate_json("no-invalid", &out.text)
            } else {
                r.validate_yaml("no-invalid", &out.text)
            }
            .unwrap_or_else(|e| panic!("{e}\n{}", out.text));
            prop_assert_eq!(report.errors().len(), 1, "{}\n{}", report, out.text);
            let e = &report.errors()[0];
            prop_assert_eq!(e.instance_location(), pointer.as_str());
            prop_assert_eq!((e.line(), e.column()), (Some(line), Some(column)), "{}\n{}", report, out.text);
        }
    }

    #[test]
    fn value_json_and_yaml_give_the_same_verdict_and_locations(
        root in prop::collection::btree_map("[a-z]{1,6}", tree(), 0..5),
        inject_at in prop::option::of(any::<usize>()),
    ) {
        let mut doc = Node::Map(root.into_iter().collect());
        if let Some(n) = inject_at {
            inject(&mut doc, n, Style::Plain);
        }
        let mut out = Out { text: String::new(), bad: None };
        out.json(&doc, 0, "");
        let value: Value = serde_json::from_str(&out.text).unwrap();
        let yaml = serde_yaml::to_string(&value).unwrap();
        let mut r = registry();
        r.register("strict", json!({
            "type": "object",
            "maxProperties": 3,
            "additionalProperties": {"$ref": "#/$defs/v"},
            "$defs": {"v": {
                "not": {"const": "INVALID"},
                "if": {"type": "array"}, "then": {"maxItems": 3, "items": {"$ref": "#/$defs/v"}},
                "else": {"if": {"type": "object"}, "then": {"$ref": "#"}, "else": {"type": ["string", "integer"], "maxLength": 6}}
            }}
        })).unwrap();
        for schema in ["no-invalid", "strict"] {
            let a = r.validate(schema, &value).unwrap();
            let b = r.validate_json(schema, &out.text).unwrap();
            let c = r.validate_yaml(schema, &yaml).unwrap();
            prop_assert_eq!(a.is_valid(), b.is_valid());
            prop_assert_eq!(a.is_valid(), c.is_valid());
            let at = |rep: &ssot_schema::Report| rep.errors().iter()
                .map(|e| (e.instance_location().to_owned(), e.keyword().to_owned()))
                .collect::<Vec<_>>();
            prop_assert_eq!(at(&a), at(&b));
            prop_assert_eq!(at(&a), at(&c));
            // Text input always has a position; a `Value` never does.
            prop_assert!(b.errors().iter().chain(c.errors()).all(|e| e.line().is_some()));
            prop_assert!(a.errors().iter().all(|e| e.line().is_none()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(512)))]

    /// No input, however malformed, makes validation panic: it is a report or an error.
    #[test]
    fn arbitrary_text_never_panics(
        text in prop_oneof![
            "[a-z0-9:\\-\\[\\]{}, \n'\"#&*!|>.~?]{0,60}",
            any::<String>(),
        ],
    ) {
        let r = registry();
        let _ = r.validate_yaml("no-invalid", &text);
        let _ = r.validate_yaml_stream("no-invalid", &text);
        let _ = r.validate_json("no-invalid", &text);
    }
}
