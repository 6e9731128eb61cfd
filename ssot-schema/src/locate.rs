//! Line and column of JSON pointers in the source text, computed only for invalid
//! documents.
//!
//! # Why a second parse
//!
//! Validation runs on a `serde_json::Value`, which has no positions, and neither
//! serde_json nor yaml_serde can attach positions to values. Carrying positions
//! through the first parse would cost every valid document a side table of spans,
//! for the sake of the invalid ones. So the first parse builds a bare `Value`, and
//! only when the validator reports violations is the text read a second time, by a
//! reader that knows where each value starts:
//!
//! - JSON: a byte scanner of our own that walks the (already proven well-formed)
//!   text, descending only into the containers on the way to a wanted pointer and
//!   skipping every other value without building it. All pointers of a report are
//!   found in one walk: O(size of the text).
//! - YAML: saphyr's [`MarkedYaml`](saphyr::MarkedYaml) tree, whose nodes carry
//!   spans; each pointer is followed from its document's root. Aliases were
//!   expanded by saphyr into copies of the anchored node, spans included except
//!   the copy's own, which is the alias's: a value that is a `*alias` is reported
//!   at the alias, a value inside an aliased collection where the anchor defines it.
//!
//! A pointer that cannot be followed to the end (saphyr reads a construct
//! differently from yaml_serde) is given the position of the deepest value on its
//! way, which still encloses the offending value.

use std::borrow::Cow;
use std::cell::OnceCell;
/// foldhash: these tables hold pointers and keys of one document, hashed once per
/// value walked; SipHash's DoS resistance buys nothing here and cost a third of a
/// JSON walk.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
use std::fmt::Write as _;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::lines::LineIndex;

/// What to find: a value, or a key of the object at `pointer`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    pub(crate) pointer: String,
    pub(crate) key: Option<String>,
}

/// A 1-based line and 1-based column in characters.
pub(crate) type Position = (usize, usize);

/// Splits a JSON pointer into unescaped segments (`~1` is `/`, `~0` is `~`).
pub(crate) fn segments(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
}

/// Appends `segment` to `pointer`, escaped.
pub(crate) fn push_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    for c in segment.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

/// Finds every target in well-formed JSON `text`; a target that cannot be followed
/// to its end gets the position of its deepest value found on the way.
pub(crate) fn locate_json(text: &str, targets: &[Target]) -> Vec<Option<Position>> {
    locate_json_as(text, targets, false)
}

/// As [`locate_json`]; with `exact`, a target that cannot be followed to its end is
/// `None`.
pub(crate) fn locate_json_as(text: &str, targets: &[Target], exact: bool) -> Vec<Option<Position>> {
    // Every prefix of a wanted pointer is a container to descend into.
    let mut prefixes = HashSet::default();
    for t in targets {
        let mut p = String::new();
        prefixes.insert(p.clone());
        for s in segments(&t.pointer) {
            push_segment(&mut p, &s);
            prefixes.insert(p.clone());
        }
    }
    let mut found: HashMap<Target, usize> = HashMap::default();
    let values: HashSet<&str> = targets
        .iter()
        .filter(|t| t.key.is_none())
        .map(|t| t.pointer.as_str())
        .collect();
    let keys: HashSet<(&str, &str)> = targets
        .iter()
        .filter_map(|t| Some((t.pointer.as_str(), t.key.as_deref()?)))
        .collect();
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        at: bom,
    };
    scanner.ws();
    let mut walk = JsonWalk {
        scanner,
        prefixes: &prefixes,
        values: &values,
        keys: &keys,
        every_value: !exact,
        found: &mut found,
    };
    let mut root = String::new();
    // A `None` here means the scanner met text it did not expect; the targets found
    // so far keep their positions, the rest stay unknown.
    let _ = walk.value(&mut root, 0);
    let offsets: Vec<Option<usize>> = targets
        .iter()
        .map(|t| {
            found
                .get(t)
                .or_else(|| {
                    if exact {
                        None
                    } else {
                        nearest_found(&found, t)
                    }
                })
                .copied()
        })
        .collect();
    let known: Vec<usize> = offsets.iter().flatten().copied().collect();
    let mut at = LineIndex::new(text).line_columns(text, &known).into_iter();
    offsets
        .into_iter()
        .map(|o| o.and_then(|_| at.next()))
        .collect()
}

/// The position of the deepest found ancestor of `t`.
fn nearest_found<'f>(found: &'f HashMap<Target, usize>, t: &Target) -> Option<&'f usize> {
    let mut p = t.pointer.as_str();
    loop {
        let key = Target {
            pointer: p.to_owned(),
            key: None,
        };
        if let Some(o) = found.get(&key) {
            return Some(o);
        }
        p = &p[..p.rfind('/')?];
    }
}

struct Scanner<'t> {
    text: &'t str,
    bytes: &'t [u8],
    at: usize,
}

impl<'t> Scanner<'t> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        self.ws();
        (self.peek()? == b).then(|| self.at += 1)
    }

    /// Reads a string starting at its opening quote; returns its decoded text,
    /// borrowed from the text when it has no escape.
    fn string(&mut self) -> Option<Cow<'t, str>> {
        let start = self.at;
        let end = self.string_end()?;
        let raw = self.text.get(start + 1..end - 1)?;
        if raw.contains('\\') {
            serde_json::from_str::<String>(self.text.get(start..end)?)
                .ok()
                .map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(raw))
        }
    }

    /// Moves past a string starting at its opening quote; returns the end offset.
    fn string_end(&mut self) -> Option<usize> {
        if self.peek()? != b'"' {
            return None;
        }
        self.at += 1;
        loop {
            let rest = self.bytes.get(self.at..)?;
            let i = memchr2(b'"', b'\\', rest)?;
            self.at += i;
            if self.bytes[self.at] == b'\\' {
                self.at += 2;
            } else {
                self.at += 1;
                return Some(self.at);
            }
        }
    }

    /// Moves past any value starting here.
    fn skip(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.string_end().map(drop),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string_end()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.at += 1;
                }
                Some(())
            }
        }
    }
}

/// The first offset of `a` or `b` in `hay`.
fn memchr2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == a || c == b)
}

struct JsonWalk<'s, 't> {
    scanner: Scanner<'t>,
    prefixes: &'s HashSet<String>,
    /// The pointers of the values wanted, and the keys wanted (object pointer, key).
    values: &'s HashSet<&'s str>,
    keys: &'s HashSet<(&'s str, &'s str)>,
    /// Whether every value on the way is recorded (for the nearest-value fallback),
    /// or only the wanted ones.
    every_value: bool,
    found: &'s mut HashMap<Target, usize>,
}

impl JsonWalk<'_, '_> {
    /// Walks the value at the scanner, whose pointer is `pointer`.
    fn value(&mut self, pointer: &mut String, depth: usize) -> Option<()> {
        self.scanner.ws();
        let start = self.scanner.at;
        if self.every_value || self.values.contains(pointer.as_str()) {
            self.found.insert(
                Target {
                    pointer: pointer.clone(),
                    key: None,
                },
                start,
            );
        }
        // serde_json refuses nesting deeper than 128, so this is never reached for
        // text it read; it guards the recursion all the same.
        if depth > 256 {
            return self.scanner.skip();
        }
        match self.scanner.peek()? {
            b'{' => {
                self.scanner.at += 1;
                self.scanner.ws();
                if self.scanner.peek()? == b'}' {
                    self.scanner.at += 1;
                    return Some(());
                }
                loop {
                    self.scanner.ws();
                    let key_at = self.scanner.at;
                    let key = self.scanner.string()?;
                    if self.keys.contains(&(pointer.as_str(), key.as_ref())) {
                        self.found.insert(
                            Target {
                                pointer: pointer.clone(),
                                key: Some(key.clone().into_owned()),
                            },
                            key_at,
                        );
                    }
                    self.scanner.eat(b':')?;
                    let len = pointer.len();
                    push_segment(pointer, &key);
                    if self.prefixes.contains(pointer.as_str()) {
                        self.value(pointer, depth + 1)?;
                    } else {
                        self.scanner.skip()?;
                    }
                    pointer.truncate(len);
                    self.scanner.ws();
                    match self.scanner.peek()? {
                        b',' => self.scanner.at += 1,
                        b'}' => {
                            self.scanner.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.scanner.at += 1;
                self.scanner.ws();
                if self.scanner.peek()? == b']' {
                    self.scanner.at += 1;
                    return Some(());
                }
                let mut index = 0usize;
                loop {
                    let len = pointer.len();
                    // Writing to a `String` cannot fail.
                    let _ = write!(pointer, "/{index}");
                    if self.prefixes.contains(pointer.as_str()) {
                        self.value(pointer, depth + 1)?;
                    } else {
                        self.scanner.skip()?;
                    }
                    pointer.truncate(len);
                    index += 1;
                    self.scanner.ws();
                    match self.scanner.peek()? {
                        b',' => self.scanner.at += 1,
                        b']' => {
                            self.scanner.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            _ => self.scanner.skip(),
        }
    }
}

// ---------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------

/// Finds every target in document `document` (0-based) of YAML `text`.
pub(crate) fn locate_yaml(
    text: &str,
    document: usize,
    targets: &[Target],
) -> Vec<Option<Position>> {
    let detabbed = OnceCell::new();
    locate_yaml_in(
        &Source::new(text),
        load_yaml(text, &detabbed).as_deref(),
        document,
        targets,
        false,
    )
}

/// The YAML text, with what finding keys by their source text needs.
pub(crate) struct Source<'t> {
    text: &'t str,
    /// The byte offset of each character, then of the end: saphyr's marks count
    /// characters. Built once, at the first key that needs it.
    char_starts: OnceCell<Vec<usize>>,
}

impl<'t> Source<'t> {
    pub(crate) fn new(text: &'t str) -> Source<'t> {
        Source {
            text,
            char_starts: OnceCell::new(),
        }
    }

    /// The text from character `start` to character `end`. O(1) once the table is
    /// built, so that a mapping of many such keys is not O(keys x text).
    fn chars(&self, start: usize, end: usize) -> Option<&'t str> {
        let starts = self.char_starts.get_or_init(|| {
            let text = self.text;
            text.char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .collect()
        });
        self.text.get(*starts.get(start)?..*starts.get(end)?)
    }
}

/// saphyr's span-carrying documents of `text`, `None` if saphyr cannot read it.
///
/// saphyr refuses some tabs that libyaml (so yaml_serde) accepts, such as the one
/// in `a:\tx`; rather than give a valid document's violations no position, the text
/// is then read again with every tab made a space, in `detabbed`. A tab is one byte
/// and one character, as a space is, so every position stays the same.
pub(crate) fn load_yaml<'t>(
    text: &'t str,
    detabbed: &'t OnceCell<String>,
) -> Option<Vec<MarkedYaml<'t>>> {
    match MarkedYaml::load_from_str(text) {
        Ok(docs) => Some(docs),
        Err(_) if text.contains('\t') => {
            MarkedYaml::load_from_str(detabbed.get_or_init(|| text.replace('\t', " "))).ok()
        }
        Err(_) => None,
    }
}

/// Finds every target in document `document` of `docs`, loaded from `text` by
/// [`load_yaml`]: a stream is loaded once for all its documents. With `exact`, a
/// target that cannot be followed to its end is `None`; else it gets the position
/// of the deepest value on its way.
pub(crate) fn locate_yaml_in(
    text: &Source<'_>,
    docs: Option<&[MarkedYaml<'_>]>,
    document: usize,
    targets: &[Target],
    exact: bool,
) -> Vec<Option<Position>> {
    let Some(root) = docs.and_then(|d| d.get(document)) else {
        return vec![None; targets.len()];
    };
    let mut walk = YamlWalk {
        text,
        indexes: HashMap::default(),
        exact,
    };
    targets.iter().map(|t| walk.find(root, t)).collect()
}

/// Follows pointers through one document.
struct YamlWalk<'s, 't, 'a, 'i> {
    text: &'s Source<'t>,
    /// For each large mapping already searched (by address), its keys: a mapping of
    /// many keys with a violation under each would otherwise cost O(keys^2).
    indexes: HashMap<usize, KeyIndex<'a, 'i>>,
    /// Whether a target that cannot be followed to its end is `None`.
    exact: bool,
}

type KeyIndex<'a, 'i> = HashMap<String, (&'a MarkedYaml<'i>, &'a MarkedYaml<'i>)>;

/// Mappings with fewer keys are searched in order.
const INDEX_FROM: usize = 16;

impl<'a, 'i> YamlWalk<'_, '_, 'a, 'i> {
    fn find(&mut self, root: &'a MarkedYaml<'i>, target: &Target) -> Option<Position> {
        let mut node = untag(root);
        for segment in segments(&target.pointer) {
            match self.child(node, &segment) {
                Some((_, value)) => node = untag(value),
                // Not found: the deepest value on the way encloses the offending one.
                None => return (!self.exact).then(|| start_of(node)),
            }
        }
        if let Some(key) = &target.key {
            match self.child(node, key) {
                Some((k, _)) => return Some(start_of(k)),
                None if self.exact => return None,
                None => {}
            }
        }
        Some(start_of(node))
    }

    /// The key and value of `node` at `segment`.
    fn child(
        &mut self,
        node: &'a MarkedYaml<'i>,
        segment: &str,
    ) -> Option<(&'a MarkedYaml<'i>, &'a MarkedYaml<'i>)> {
        match &node.data {
            YamlData::Mapping(map) if map.len() >= INDEX_FROM => {
                let text = self.text;
                let index = self
                    .indexes
                    .entry(std::ptr::from_ref(node) as usize)
                    .or_insert_with(|| {
                        let mut index =
                            HashMap::with_capacity_and_hasher(map.len(), Default::default());
                        for (k, v) in map {
                            if let Some(name) = key_text(text, k) {
                                index.entry(name.to_owned()).or_insert((k, v));
                            }
                        }
                        index
                    });
                index.get(segment).copied()
            }
            YamlData::Mapping(map) => map
                .iter()
                .find(|(k, _)| key_text(self.text, k) == Some(segment)),
            YamlData::Sequence(items) => {
                let index: usize = segment.parse().ok()?;
                items.get(index).map(|v| (v, v))
            }
            _ => None,
        }
    }
}

fn untag<'a, 'i>(mut node: &'a MarkedYaml<'i>) -> &'a MarkedYaml<'i> {
    while let YamlData::Tagged(_, inner) = &node.data {
        node = inner;
    }
    node
}

/// The text of `key` as yaml_serde read it, when it is a scalar.
///
/// saphyr reads plain scalars by the YAML 1.2 core schema and yaml_serde does not
/// always agree: `017`, `1_000` and `1e400` are strings to yaml_serde (so valid keys)
/// but numbers to saphyr. For a key saphyr did not read as a string, its source text
/// is used instead; such keys are rare (yaml_serde refuses every key it reads as a
/// number), but may be many (`00042: ...`), so the slicing is O(1).
fn key_text<'k>(text: &Source<'k>, key: &'k MarkedYaml<'_>) -> Option<&'k str> {
    let key = untag(key);
    match &key.data {
        YamlData::Value(Scalar::String(s)) => Some(s),
        YamlData::Representation(s, _, _) => Some(s),
        YamlData::Value(_) => text
            .chars(key.span.start.index(), key.span.end.index())
            .map(str::trim_end),
        _ => None,
    }
}

fn start_of(node: &MarkedYaml<'_>) -> Position {
    (node.span.start.line().max(1), node.span.start.col() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(p: &str) -> Target {
        Target {
            pointer: p.to_owned(),
            key: None,
        }
    }

    fn key(p: &str, k: &str) -> Target {
        Target {
            pointer: p.to_owned(),
            key: Some(k.to_owned()),
        }
    }

    #[test]
    fn json_positions_of_values_and_keys() {
        let text = "{\n  \"a\": [1, {\"b\": \"x\"}],\n  \"c~/\": true,\n  \"é\": \"ü\"\n}";
        let got = locate_json(
            text,
            &[
                value(""),
                value("/a/1/b"),
                value("/c~0~1"),
                key("", "c~/"),
                value("/é"),
                value("/a/7"),
            ],
        );
        assert_eq!(
            got,
            vec![
                Some((1, 1)),
                Some((2, 18)),
                Some((3, 10)),
                Some((3, 3)),
                Some((4, 8)),
                Some((2, 8)),
            ]
        );
    }

    #[test]
    fn json_escaped_keys_and_strings_are_skipped_correctly() {
        let text = r#"{"x": "a\"}b", "k\u0041": [0, "]"], "z": 3}"#;
        let got = locate_json(text, &[value("/kA/1"), value("/z")]);
        assert_eq!(got, vec![Some((1, 31)), Some((1, 42))]);
    }

    #[test]
    fn yaml_positions_follow_aliases_to_their_anchor() {
        let text = "base: &b\n  x: 1\nuse: *b\nlist:\n  - \"q\"\n  - 7\n";
        let got = locate_yaml(
            text,
            0,
            &[
                value("/use/x"),
                value("/list/0"),
                value("/list/1"),
                key("", "list"),
                value("/use"),
            ],
        );
        // The alias itself is where it is written; what it holds, at the anchor.
        assert_eq!(
            got,
            vec![
                Some((2, 6)),
                Some((5, 5)),
                Some((6, 5)),
                Some((4, 1)),
                Some((3, 6))
            ]
        );
    }

    #[test]
    fn crlf_line_ends_and_a_byte_order_mark_are_handled() {
        let json = "\u{feff}{\r\n  \"a\": [1,\r\n    2]\r\n}";
        assert_eq!(
            locate_json(json, &[value("/a/1"), value("")]),
            vec![Some((3, 5)), Some((1, 1))]
        );
        let yaml = "\u{feff}a:\r\n  - 1\r\n  - 2\r\n";
        assert_eq!(locate_yaml(yaml, 0, &[value("/a/1")]), vec![Some((3, 5))]);
        let yaml = "\u{feff}a: x\r\n";
        assert_eq!(locate_yaml(yaml, 0, &[value("/a")]), vec![Some((1, 4))]);
    }

    #[test]
    fn yaml_keys_saphyr_reads_as_numbers_are_still_found() {
        let text = "a: 1\n017: x\n1_000: y\n\u{e9}: 1\n1e400: [1, 2]\n";
        let got = locate_yaml(
            text,
            0,
            &[value("/017"), key("", "1_000"), value("/1e400/1")],
        );
        assert_eq!(got, vec![Some((2, 6)), Some((3, 1)), Some((5, 12))]);
    }

    #[test]
    fn yaml_many_keys_saphyr_reads_as_numbers_are_each_found() {
        // Zero-padded ids are strings to yaml_serde, integers to saphyr; finding each
        // used to slice the text from its start, O(targets x keys x text).
        let text: String = (0..1000).map(|i| format!("{i:05}: x\n")).collect();
        let targets: Vec<_> = (0..1000).map(|i| value(&format!("/{i:05}"))).collect();
        let got = locate_yaml(&text, 0, &targets);
        let want: Vec<_> = (1..=1000).map(|line| Some((line, 8))).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn many_targets_in_a_large_mapping_or_on_one_long_line_are_each_found() {
        // Each target used to scan its mapping's keys (YAML) or count the
        // characters of its line from the start (JSON): O(targets x size).
        let yaml: String = (0..300).map(|i| format!("k{i}: \u{e9}\n")).collect();
        let json = format!(
            "{{{}}}",
            (0..300)
                .map(|i| format!("\"k{i}\": \"\u{e9}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut targets: Vec<_> = (0..300).map(|i| value(&format!("/k{i}"))).collect();
        targets.reverse();
        targets.push(key("", "k7"));
        let got = locate_yaml(&yaml, 0, &targets);
        let mut want: Vec<_> = (1..=300)
            .rev()
            .map(|line| {
                Some((
                    line,
                    if line <= 10 {
                        5
                    } else if line <= 100 {
                        6
                    } else {
                        7
                    },
                ))
            })
            .collect();
        want.push(Some((8, 1)));
        assert_eq!(got, want);
        let got = locate_json(&json, &targets);
        // Each value follows its key and `: `, then `"é",` before the next key.
        let mut column = 2;
        let mut want = Vec::new();
        for i in 0..300 {
            let before_value = format!("\"k{i}\": ").chars().count();
            want.push(Some((1, column + before_value)));
            column += before_value + "\"\u{e9}\",".chars().count();
        }
        want.reverse();
        // The key `k7` follows seven pairs of the same length.
        want.push(Some((1, 2 + 7 * "\"k0\": \"\u{e9}\",".chars().count())));
        assert_eq!(got, want);
    }

    #[test]
    fn yaml_tabs_saphyr_refuses_still_get_positions() {
        let text = "a:\t1\nb:\t[x,\ty]\n";
        assert_eq!(
            locate_yaml(text, 0, &[value("/a"), value("/b/1")]),
            vec![Some((1, 4)), Some((2, 8))]
        );
    }

    #[test]
    fn yaml_positions_in_later_documents() {
        let text = "a: 1\n---\na: 2\nb: x\n";
        assert_eq!(locate_yaml(text, 1, &[value("/b")]), vec![Some((4, 4))]);
    }
}
