//! How a file indents, so that new block content is written in its style.
//!
//! - **YAML**: the *step* (how many spaces deeper a key's block children sit than
//!   the key) and whether sequences under a key are *indentless* (`key:` then
//!   `- a` at the key's own column, as `kubectl` and many hand-written files do).
//!   [`yaml`] looks first at the mapping being edited: of its keys with block
//!   children, the one nearest to the insertion point decides (each of the two
//!   questions separately: a mapping may show its step through a nested mapping and
//!   its sequence style through a list). What the mapping does not show comes from
//!   the whole document: its most common step (ties go to the smaller) and the style
//!   most of its sequences under keys use (ties go to indented). A document with no
//!   nesting gets 2 spaces, indented sequences. A sequence item's own content
//!   always starts after `- `, as in every style in use.
//! - **JSON**: the *unit* one level of a multi-line object or array adds, spaces or
//!   tabs, taken from the collection being edited (its first member's indentation
//!   beyond the indentation of its opening line), else the document's most common
//!   unit, else 2 spaces.
//!
//! Why the nearest key and not the document's majority first: files that mix steps
//! exist (a CI workflow indenting by 2 with a pasted block indented by 4), and a
//! new key should look like its neighbours. Why the document is read only as a
//! fallback: it costs a parse of the whole text (O(N)), which the edit of one key
//! inside a mapping that shows its style does not need.

use std::collections::BTreeMap;

use super::splice::{line_start, pad};
use super::tree::{self, Kind, Node};

/// How new YAML block content is indented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Indent {
    /// The blanks a key's block children sit deeper than the key.
    pub(crate) step: String,
    /// Whether a sequence under a key puts its `-` at the key's column.
    pub(crate) indentless: bool,
}

impl Default for Indent {
    fn default() -> Self {
        Indent {
            step: "  ".to_owned(),
            indentless: false,
        }
    }
}

impl Indent {
    /// The indentation of the lines of `v`'s block text, written after a key that
    /// sits at `key_pad`.
    pub(crate) fn under(&self, key_pad: &str, is_seq: bool) -> String {
        if is_seq && self.indentless {
            key_pad.to_owned()
        } else {
            format!("{key_pad}{}", self.step)
        }
    }
}

/// One key whose value is a non-empty block collection: where the key is, how much
/// deeper its children sit (when deeper), and for a sequence whether its `-` sits at
/// the key's column.
#[derive(Debug, Clone, Copy)]
struct Nest {
    at: usize,
    step: Option<usize>,
    indentless: Option<bool>,
}

/// The column (in characters) of byte `pos`.
fn column(text: &str, pos: usize) -> usize {
    pad(text, pos).chars().count()
}

/// Where the `-` of block sequence item `item` is.
fn dash_of(text: &str, item: &Node) -> Option<usize> {
    let before = text.get(..item.start)?.trim_end_matches([' ', '\t']);
    before.strip_suffix('-').map(str::len)
}

/// The nests of `map`'s own entries, and with `deep` those of every collection
/// below it.
fn nests(text: &str, node: &Node, deep: bool, out: &mut Vec<Nest>) {
    match &node.kind {
        Kind::Map { entries, .. } => {
            for e in entries {
                let key = column(text, e.key.start);
                match &e.value.kind {
                    Kind::Map {
                        flow: false,
                        entries: inner,
                    } => {
                        if let Some(first) = inner.first() {
                            let child = column(text, first.key.start);
                            out.push(Nest {
                                at: e.key.start,
                                step: (child > key).then(|| child - key),
                                indentless: None,
                            });
                        }
                    }
                    Kind::Seq { flow: false, items } => {
                        if let Some(dash) = items.first().and_then(|i| dash_of(text, i)) {
                            let dash = column(text, dash);
                            out.push(Nest {
                                at: e.key.start,
                                step: (dash > key).then(|| dash - key),
                                indentless: (dash >= key).then_some(dash == key),
                            });
                        }
                    }
                    _ => {}
                }
                if deep {
                    nests(text, &e.value, deep, out);
                }
            }
        }
        Kind::Seq { items, .. } if deep => {
            for item in items {
                nests(text, item, deep, out);
            }
        }
        _ => {}
    }
}

/// How to indent new block content inserted into block mapping `map` of the YAML
/// `text` near byte `at`. See the module documentation.
pub(crate) fn yaml(text: &str, map: &Node, at: usize) -> Indent {
    let mut local = Vec::new();
    nests(text, map, false, &mut local);
    let nearest = |pick: &dyn Fn(&Nest) -> bool| {
        local
            .iter()
            .filter(|n| pick(n))
            .min_by_key(|n| n.at.abs_diff(at))
            .copied()
    };
    let step = nearest(&|n| n.step.is_some()).and_then(|n| n.step);
    let indentless = nearest(&|n| n.indentless.is_some()).and_then(|n| n.indentless);
    if let (Some(step), Some(indentless)) = (step, indentless) {
        return Indent {
            step: " ".repeat(step),
            indentless,
        };
    }
    let whole = yaml_document(text);
    Indent {
        step: step.map_or(whole.step, |s| " ".repeat(s)),
        indentless: indentless.unwrap_or(whole.indentless),
    }
}

/// How the YAML `text` as a whole indents: its most common step and sequence style.
pub(crate) fn yaml_document(text: &str) -> Indent {
    let Ok(Some(root)) = tree::yaml(text) else {
        return Indent::default();
    };
    let mut all = Vec::new();
    nests(text, &root, true, &mut all);
    let mut steps = BTreeMap::<usize, usize>::new();
    let (mut indentless, mut indented) = (0, 0);
    for n in &all {
        if let Some(s) = n.step {
            *steps.entry(s).or_default() += 1;
        }
        match n.indentless {
            Some(true) => indentless += 1,
            Some(false) => indented += 1,
            None => {}
        }
    }
    // The most common step; among equals the smaller (the map iterates in order and
    // `max_by_key` keeps the last maximum, so iterate in reverse).
    let step = steps
        .iter()
        .rev()
        .max_by_key(|(_, count)| **count)
        .map_or(2, |(step, _)| *step);
    Indent {
        step: " ".repeat(step),
        indentless: indentless > indented,
    }
}

/// The indentation one level of the multi-line JSON collection `node` adds: its
/// first member's on a line of its own, beyond its opening line's.
fn json_own_unit(text: &str, node: &Node) -> Option<String> {
    let first = match &node.kind {
        Kind::Map { entries, .. } => entries.first().map(|e| e.key.start),
        Kind::Seq { items, .. } => items.first().map(|i| i.start),
        _ => None,
    }?;
    let member = pad(text, first);
    if !member.chars().all(|c| c == ' ' || c == '\t') || line_start(text, first) <= node.start {
        return None;
    }
    let open_line = text.get(line_start(text, node.start)..node.start)?;
    let open = &open_line[..open_line.len() - open_line.trim_start_matches([' ', '\t']).len()];
    member
        .strip_prefix(open)
        .filter(|unit| !unit.is_empty())
        .map(str::to_owned)
}

/// The JSON indentation unit for new lines inside `node` of `text`: its own, else the
/// document's most common, else 2 spaces. See the module documentation.
pub(crate) fn json_unit(text: &str, node: &Node) -> String {
    if let Some(unit) = json_own_unit(text, node) {
        return unit;
    }
    let Ok(Some(root)) = tree::json(text) else {
        return "  ".to_owned();
    };
    let mut counts = BTreeMap::<String, usize>::new();
    let mut stack = vec![&root];
    while let Some(n) = stack.pop() {
        if let Some(unit) = json_own_unit(text, n) {
            *counts.entry(unit).or_default() += 1;
        }
        match &n.kind {
            Kind::Map { entries, .. } => stack.extend(entries.iter().map(|e| &e.value)),
            Kind::Seq { items, .. } => stack.extend(items.iter()),
            _ => {}
        }
    }
    counts
        .into_iter()
        .max_by_key(|(unit, count)| (*count, std::cmp::Reverse(unit.len())))
        .map_or_else(|| "  ".to_owned(), |(unit, _)| unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        tree::yaml(text).unwrap().unwrap()
    }

    #[test]
    fn the_step_is_that_of_the_nearest_key_with_children() {
        let text = "a:\n    x: 1\nb:\n  - 1\nc: 2\n";
        let r = root(text);
        assert_eq!(yaml(text, &r, 0).step, "    ");
        assert_eq!(yaml(text, &r, r.end).step, "  ");
        assert!(!yaml(text, &r, r.end).indentless);
    }

    #[test]
    fn a_sequence_item_content_does_not_count_as_the_step() {
        let text = "steps:\n  - {name: a}\n  - name: b\n    run: c\n";
        assert_eq!(yaml(text, &root(text), text.len()).step, "  ");
    }

    #[test]
    fn indentless_sequences_are_seen() {
        let text = "a:\n  b: 1\nlist:\n- x\n- y\n";
        let got = yaml(text, &root(text), text.len());
        assert_eq!(got.step, "  ");
        assert!(got.indentless);
    }

    #[test]
    fn what_the_mapping_does_not_show_comes_from_the_document() {
        let text = "a:\n    b:\n        c: 1\n    d: 2\nl:\n- 1\n";
        let r = root(text);
        let inner = &r.entries().unwrap()[0].value;
        let got = yaml(text, inner, inner.end);
        assert_eq!(got.step, "    ");
        assert!(got.indentless);
        let flat = "a: 1\nb: 2\n";
        assert_eq!(yaml(flat, &root(flat), flat.len()), Indent::default());
    }

    #[test]
    fn json_units_are_spaces_or_tabs_of_any_width() {
        for unit in ["  ", "    ", "\t"] {
            let text = format!(
                "{{\n{unit}\"a\": {{\"b\": 1}},\n{unit}\"c\": [\n{unit}{unit}1\n{unit}]\n}}\n"
            );
            let r = tree::json(&text).unwrap().unwrap();
            assert_eq!(json_unit(&text, &r), unit);
            let inline = &r.entries().unwrap()[0].value;
            assert_eq!(json_unit(&text, inline), unit, "the document's unit");
        }
        let text = "{\"a\": 1}";
        assert_eq!(json_unit(text, &tree::json(text).unwrap().unwrap()), "  ");
    }
}
