//! Where a JSON pointer's value (or key) is written in JSON or YAML text.
//!
//! Validation reports positions for the values it finds wrong; this module answers
//! the same question for any value: given a document's text and [JSON pointers]
//! (RFC 6901) into the value it denotes, the 1-based line and column where each
//! value starts, or where the key that names it is written. Programs that read a
//! document and later need to point at a place in it (a duplicate id, an unknown
//! reference, the file and line that set a configuration value) use it instead of
//! carrying spans through their own parse.
//!
//! ```
//! use ssot_schema::position::{self, Position, Syntax, Target};
//!
//! let yaml = "# tasks\ntasks:\n  - id: a\n    dependencies: [b, c]\n";
//! assert_eq!(
//!     position::value_position(Syntax::Yaml, yaml, "/tasks/0/dependencies/1"),
//!     Some(Position { line: 4, column: 23 })
//! );
//! let json = "{\n  \"db\": {\"url\": \"x\"}\n}";
//! // Several pointers at once: one read of the text for all of them.
//! let found = position::positions(
//!     Syntax::Json,
//!     json,
//!     &[Target::Key("/db/url"), Target::Value("/db/url"), Target::Value("/nope")],
//! );
//! assert_eq!(found, [Some(Position { line: 2, column: 10 }), Some(Position { line: 2, column: 17 }), None]);
//! ```
//!
//! # What a position is
//!
//! As in validation reports (see the crate docs, "Line and column"): lines and
//! columns are 1-based, columns count characters, a leading byte order mark takes no
//! column. A value's position is that of its first character: the opening quote of
//! a quoted string, the `{` or `[` of a JSON or flow container, the first key of a
//! YAML block mapping, the `-` of the first item of a block sequence... A value that
//! is a YAML `*alias` is at the alias; a value inside an aliased collection, where
//! the anchor defines it. A key's position is that of the key's first character;
//! [`Target::Key`] of an array element is the element's position.
//!
//! Unlike the positions in validation reports, which fall back to the deepest
//! value on the way, a pointer that does not lead to a value here gives `None`,
//! as does text that cannot be read (see below).
//!
//! # Cost
//!
//! One read of the text for all the targets of a call, so ask for many pointers in
//! one [`positions`] call rather than one call each:
//!
//! - JSON: a byte scanner that descends only into the containers on the way to a
//!   wanted pointer and skips every other value without building it: O(size of the
//!   text), no allocation per skipped value.
//! - YAML: saphyr's span-carrying tree of the text (the same parser the validator
//!   uses for positions), then each pointer followed from the root; a mapping of
//!   many keys is indexed once.
//!
//! # Which text is accepted
//!
//! Text that the crate's readers accept (JSON as `serde_json` reads it, YAML as
//! described under "The YAML to JSON mapping"). For anything else the result is
//! unspecified but never a panic: JSON text that is not well formed yields positions
//! up to where the scanner stops, YAML text saphyr cannot read (after the tab
//! fallback the validator also uses) yields `None` everywhere. Only the first
//! document of a YAML stream is searched.
//!
//! [JSON pointers]: https://www.rfc-editor.org/rfc/rfc6901

use std::cell::OnceCell;
use std::fmt::{self, Write as _};

use crate::locate::{self, Source};

/// The syntax of a document's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// JSON (RFC 8259).
    Json,
    /// YAML (one document; see the crate docs for the mapping to JSON values).
    Yaml,
}

/// A 1-based line and 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in characters (not bytes).
    pub column: usize,
}

impl fmt::Display for Position {
    /// `line:column`, the form editors jump to after a file name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What to find: a JSON pointer's value, or the key it ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target<'p> {
    /// Where the value at this pointer starts (`""` is the whole document).
    Value(&'p str),
    /// Where the key that this pointer ends with is written; for a pointer to an
    /// array element, where the element starts. `None` for `""`.
    Key(&'p str),
}

/// Where each of `targets` is in `text`: one read of the text for all of them, the
/// results in the order of `targets`. See the [module docs](self).
#[must_use]
pub fn positions(syntax: Syntax, text: &str, targets: &[Target<'_>]) -> Vec<Option<Position>> {
    // A key target asks for the key and, should the parent be an array, the element.
    let mut inner = Vec::with_capacity(targets.len() * 2);
    let mut plan = Vec::with_capacity(targets.len());
    for target in targets {
        match *target {
            Target::Value(pointer) => {
                plan.push((inner.len(), None));
                inner.push(locate::Target {
                    pointer: pointer.to_owned(),
                    key: None,
                });
            }
            Target::Key(pointer) => {
                let Some(cut) = pointer.rfind('/') else {
                    plan.push((usize::MAX, None));
                    continue;
                };
                let parent = &pointer[..cut];
                let last = pointer[cut + 1..].replace("~1", "/").replace("~0", "~");
                let element = is_index(&last).then_some(inner.len() + 1);
                plan.push((inner.len(), element));
                inner.push(locate::Target {
                    pointer: parent.to_owned(),
                    key: Some(last),
                });
                if element.is_some() {
                    inner.push(locate::Target {
                        pointer: pointer.to_owned(),
                        key: None,
                    });
                }
            }
        }
    }
    let found = match syntax {
        Syntax::Json => locate::locate_json_as(text, &inner, true),
        Syntax::Yaml => yaml_by_events(text, &inner).unwrap_or_else(|| yaml_by_tree(text, &inner)),
    };
    plan.into_iter()
        .map(|(first, element)| {
            let at = found
                .get(first)
                .copied()
                .flatten()
                .or_else(|| element.and_then(|e| found.get(e).copied().flatten()));
            at.map(|(line, column)| Position { line, column })
        })
        .collect()
}

/// Finds `targets` in the first document of YAML `text` through saphyr's
/// span-carrying tree, which follows aliases.
fn yaml_by_tree(text: &str, targets: &[locate::Target]) -> Vec<Option<(usize, usize)>> {
    let detabbed = OnceCell::new();
    locate::locate_yaml_in(
        &Source::new(text),
        locate::load_yaml(text, &detabbed).as_deref(),
        0,
        targets,
        true,
    )
}

// ---------------------------------------------------------------------------
// YAML by events
// ---------------------------------------------------------------------------

/// Finds `targets` in the first document of YAML `text` from saphyr-parser's events,
/// without building a tree: containers off the way to every target are skipped.
/// `None` when the text cannot be read this way (a scan error even without tabs, or
/// an alias on the way to a target, which only the tree resolves): the caller then
/// uses the tree.
fn yaml_by_events(text: &str, targets: &[locate::Target]) -> Option<Vec<Option<(usize, usize)>>> {
    match yaml_events_in(text, targets) {
        Some(found) => Some(found),
        None if text.contains('\t') => {
            // As the tree reader does: saphyr refuses some tabs libyaml accepts; a tab
            // and a space are one byte and one character each, so positions hold.
            yaml_events_in(&text.replace('\t', " "), targets)
        }
        None => None,
    }
}

/// One open container on the way down.
enum Frame<'t> {
    /// A mapping at `len` bytes of the pointer; `key` is the key just read, whose
    /// value comes next, or `None` when the next node is a key.
    Map {
        len: usize,
        key: Option<std::borrow::Cow<'t, str>>,
    },
    /// A sequence at `len` bytes of the pointer; the next item's index.
    Seq { len: usize, next: usize },
}

fn yaml_events_in(text: &str, targets: &[locate::Target]) -> Option<Vec<Option<(usize, usize)>>> {
    use saphyr_parser::{Event, Parser};
    type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
    type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

    let mut values: HashMap<&str, Vec<usize>> = HashMap::default();
    let mut keys: HashMap<(&str, &str), Vec<usize>> = HashMap::default();
    let mut prefixes: HashSet<&str> = HashSet::default();
    for (i, t) in targets.iter().enumerate() {
        let p = t.pointer.as_str();
        match &t.key {
            None => values.entry(p).or_default().push(i),
            Some(k) => keys.entry((p, k.as_str())).or_default().push(i),
        }
        // Every container on the way, the target's own included (for its keys).
        let mut end = p.len();
        loop {
            prefixes.insert(&p[..end]);
            match p[..end].rfind('/') {
                Some(cut) => end = cut,
                None => break,
            }
        }
    }
    let mut found: Vec<Option<(usize, usize)>> = vec![None; targets.len()];
    let mut pointer = String::new();
    let mut stack: Vec<Frame<'_>> = Vec::new();
    // Depth of a skipped container's inside; 0 when not skipping.
    let mut skipping = 0usize;
    // Whether the container being skipped is a mapping's key (not a value).
    let mut skipping_key = false;
    let mut started = false;
    let mut parser = Parser::new_from_str(text);
    let at = |span: &saphyr_parser::Span| (span.start.line().max(1), span.start.col() + 1);
    while let Some(event) = parser.next_event() {
        let (event, span) = event.ok()?;
        if skipping > 0 {
            match event {
                Event::SequenceStart(..) | Event::MappingStart(..) => skipping += 1,
                Event::SequenceEnd | Event::MappingEnd => skipping -= 1,
                _ => {}
            }
            if skipping == 0 {
                // After a skipped value its mapping wants a key; after a skipped key,
                // the key's value (under a name no pointer holds).
                if let Some(Frame::Map { key, .. }) = stack.last_mut() {
                    *key = skipping_key.then_some(std::borrow::Cow::Borrowed("\u{0}"));
                }
                skipping_key = false;
            }
            continue;
        }
        let is_node = matches!(
            event,
            Event::Scalar(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Alias(..)
        );
        match &event {
            Event::DocumentStart(..) if started => break,
            Event::DocumentStart(..) => started = true,
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                if let Some(top) = stack.last_mut() {
                    pointer.truncate(match top {
                        Frame::Map { len, .. } | Frame::Seq { len, .. } => *len,
                    });
                    if let Frame::Map { key, .. } = top {
                        *key = None;
                    }
                }
                continue;
            }
            _ => {}
        }
        if !is_node {
            continue;
        }
        // Is this node a key of the mapping on top?
        if let Some(Frame::Map { len, key }) = stack.last_mut()
            && key.is_none()
        {
            match &event {
                Event::Scalar(k, ..) => {
                    if let Some(slots) = keys.get(&(&pointer[..*len], k.as_ref())) {
                        for &s in slots {
                            found[s].get_or_insert(at(&span));
                        }
                    }
                    *key = Some(k.clone());
                }
                // A key that is not a scalar: yaml_serde refuses it; skip it and
                // the value that follows under an unmatchable name.
                Event::SequenceStart(..) | Event::MappingStart(..) => {
                    skipping = 1;
                    skipping_key = true;
                }
                _ => *key = Some(std::borrow::Cow::Borrowed("\u{0}")),
            }
            continue;
        }
        // A value: its pointer.
        match stack.last_mut() {
            Some(Frame::Map { len, key }) => {
                pointer.truncate(*len);
                let k = key.take().unwrap_or_default();
                // `key` is `None` again: after this value, the mapping wants a key
                // (a container value's own frame is on top until it ends).
                locate::push_segment(&mut pointer, &k);
            }
            Some(Frame::Seq { len, next }) => {
                pointer.truncate(*len);
                // Writing to a `String` cannot fail.
                let _ = write!(pointer, "/{next}");
                // An element's "key" is the element itself, as in the tree.
                if !keys.is_empty()
                    && let Some(slots) = keys.get(&(&pointer[..*len], &pointer[*len + 1..]))
                {
                    for &s in slots {
                        found[s].get_or_insert(at(&span));
                    }
                }
                *next += 1;
            }
            None => pointer.clear(),
        }
        if let Some(slots) = values.get(pointer.as_str()) {
            for &s in slots {
                found[s].get_or_insert(at(&span));
            }
        }
        let wanted_below = prefixes.contains(pointer.as_str());
        match event {
            Event::MappingStart(..) if wanted_below => stack.push(Frame::Map {
                len: pointer.len(),
                key: None,
            }),
            Event::SequenceStart(..) if wanted_below => stack.push(Frame::Seq {
                len: pointer.len(),
                next: 0,
            }),
            Event::MappingStart(..) | Event::SequenceStart(..) => skipping = 1,
            // An alias on the way to a target: only the tree can follow it.
            Event::Alias(..) if wanted_below => return None,
            _ => {}
        }
    }
    Some(found)
}

/// Whether a pointer segment can name an array element.
fn is_index(segment: &str) -> bool {
    !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'))
}

/// Where the value at `pointer` starts in `text`; `None` when the pointer leads to
/// no value. For several pointers into one text, [`positions`] reads it once.
#[must_use]
pub fn value_position(syntax: Syntax, text: &str, pointer: &str) -> Option<Position> {
    positions(syntax, text, &[Target::Value(pointer)])
        .pop()
        .flatten()
}

/// Where the key that `pointer` ends with is written in `text` (for an array
/// element, where the element starts); `None` when there is no such key.
#[must_use]
pub fn key_position(syntax: Syntax, text: &str, pointer: &str) -> Option<Position> {
    positions(syntax, text, &[Target::Key(pointer)])
        .pop()
        .flatten()
}

/// Escapes one segment for a JSON pointer (`~` as `~0`, `/` as `~1`) and appends it
/// to `pointer` after a `/`.
pub fn push_segment(pointer: &mut String, segment: &str) {
    locate::push_segment(pointer, segment);
}

/// The unescaped segments of a JSON pointer (`~1` is `/`, `~0` is `~`); none for
/// `""`.
pub fn segments(pointer: &str) -> impl Iterator<Item = String> + '_ {
    locate::segments(pointer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    #[test]
    fn yaml_values_keys_and_array_elements_are_found() {
        let text =
            "# c\ntasks:\n  - id: a\n    title: A\n  - id: b\n    dependencies:\n      - a\n";
        let got = positions(
            Syntax::Yaml,
            text,
            &[
                Target::Value("/tasks/0"),
                Target::Value("/tasks/1/dependencies/0"),
                Target::Key("/tasks/1/dependencies"),
                Target::Key("/tasks/1"),
                Target::Value("/tasks/2"),
                Target::Key("/tasks/0/nope"),
                Target::Key(""),
            ],
        );
        assert_eq!(
            got,
            [at(3, 5), at(7, 9), at(6, 5), at(5, 5), None, None, None]
        );
    }

    #[test]
    fn json_values_and_keys_are_found_and_missing_ones_are_none() {
        let text = "{\n  \"db\": {\n    \"url\": \"x\"\n  },\n  \"a/b\": [1, 2]\n}\n";
        assert_eq!(key_position(Syntax::Json, text, "/db/url"), at(3, 5));
        assert_eq!(value_position(Syntax::Json, text, "/db/url"), at(3, 12));
        assert_eq!(value_position(Syntax::Json, text, "/a~1b/1"), at(5, 14));
        assert_eq!(key_position(Syntax::Json, text, "/a~1b/1"), at(5, 14));
        assert_eq!(value_position(Syntax::Json, text, ""), at(1, 1));
        assert_eq!(key_position(Syntax::Json, text, "/nope"), None);
        assert_eq!(value_position(Syntax::Json, text, "/db/url/x"), None);
        assert_eq!(value_position(Syntax::Json, text, "/a~1b/2"), None);
    }

    #[test]
    fn text_that_cannot_be_read_gives_none_without_panicking() {
        assert_eq!(value_position(Syntax::Yaml, "a: [", "/a"), None);
        // Malformed JSON: what the scanner met before it stopped, nothing after.
        assert_eq!(value_position(Syntax::Json, "{\"a\": ", "/a"), at(1, 7));
        assert_eq!(value_position(Syntax::Json, "{\"a\": [1,", "/b"), None);
        assert_eq!(value_position(Syntax::Json, "", "/a"), None);
    }

    fn all_targets(value: &serde_json::Value, pointer: &str, out: &mut Vec<locate::Target>) {
        out.push(locate::Target {
            pointer: pointer.to_owned(),
            key: None,
        });
        let children: Vec<(String, &serde_json::Value)> = match value {
            serde_json::Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
            serde_json::Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            _ => Vec::new(),
        };
        for (k, v) in children {
            out.push(locate::Target {
                pointer: pointer.to_owned(),
                key: Some(k.clone()),
            });
            let mut p = pointer.to_owned();
            push_segment(&mut p, &k);
            all_targets(v, &p, out);
        }
    }

    #[test]
    fn yaml_events_agree_with_the_tree_on_awkward_documents() {
        let texts = [
            "a: &x {b: 1, c: [2, 3]}\nd: *x\ne: !!str 5\n? [k]\n: v\nf: g\n",
            "- &a 1\n- *a\n- {? x : y, z: [1, {q: r}]}\n- |\n  block\n  text\n- 'q'\n",
            "top:\n  - id: a\n    deps: [b, \"c\"]\n  - id: b\n---\ntop: 2\n",
            "a:\t1\nb:\t[x,\ty]\n",
            "",
            "# only a comment\n",
        ];
        for text in texts {
            let value: serde_json::Value = saphyr_free_value(text);
            let mut targets = Vec::new();
            all_targets(&value, "", &mut targets);
            targets.push(locate::Target {
                pointer: "/nope/deeper".into(),
                key: None,
            });
            let by_tree = yaml_by_tree(text, &targets);
            if let Some(by_events) = yaml_by_events(text, &targets) {
                assert_eq!(by_events, by_tree, "{text:?}");
            }
        }
    }

    /// The document's value as the crate's YAML reader gives it, or `null`.
    fn saphyr_free_value(text: &str) -> serde_json::Value {
        let first = text.split("\n---\n").next().unwrap_or(text);
        serde_yaml::from_str(first).unwrap_or(serde_json::Value::Null)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn yaml_events_agree_with_the_tree(doc in document()) {
            for text in [serde_yaml::to_string(&doc).unwrap_or_default(), serde_json::to_string_pretty(&doc).unwrap_or_default()] {
                let mut targets = Vec::new();
                all_targets(&doc, "", &mut targets);
                let by_events = yaml_by_events(&text, &targets);
                proptest::prop_assert_eq!(by_events, Some(yaml_by_tree(&text, &targets)), "{}", text);
            }
        }
    }

    fn document() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            "[a-z\u{e9} ~/0-9:#-]{0,8}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map("[a-z~/0-9][a-z0-9 ]{0,4}", inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn pointer_segments_round_trip() {
        let mut p = String::new();
        push_segment(&mut p, "a/b~c");
        push_segment(&mut p, "0");
        assert_eq!(p, "/a~1b~0c/0");
        assert_eq!(segments(&p).collect::<Vec<_>>(), ["a/b~c", "0"]);
        assert_eq!(segments("").count(), 0);
        assert_eq!(Position { line: 3, column: 7 }.to_string(), "3:7");
    }
}
