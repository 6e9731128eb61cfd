//! Span trees: where every node of a YAML or JSON document is, in bytes.
//!
//! The editors never build a document model of their own: the strict readers of
//! [`format`](crate::format) give the values, and this module gives the places. A
//! [`Node`] is a byte range of the text plus what kind of node it is (scalar and its
//! quoting, sequence or mapping and whether in flow style); mappings keep each key's
//! decoded name. YAML trees come from `saphyr-parser`'s event stream, whose markers
//! count characters, converted here to byte offsets. JSON trees come from a small
//! scanner in this module: JSON's grammar is small enough that finding value spans
//! is a few dozen lines, far faster than a YAML parser reading JSON as YAML, and the
//! scanner needs to validate nothing, because the strict reader already did.
//!
//! Spans are tight: a block collection ends where its last value's text ends (not
//! at the next token, where the parser puts its end event, after any comments); a
//! block scalar (`|`, `>`) starts at its indicator and ends at its last non-blank
//! character. So replacing a span replaces a value and nothing around it.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Single,
    Double,
    Literal,
    Folded,
}

/// One node of a document: its byte range and kind.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// Carries an anchor (`&a`): replacing it would break the aliases that name it.
    pub(crate) anchored: bool,
    pub(crate) kind: Kind,
}

/// One key and its value in a mapping.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) key: Node,
    /// The key as text (decoded: quotes and escapes removed).
    pub(crate) name: String,
    pub(crate) value: Node,
}

/// What a node is.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Scalar(Style),
    Seq { flow: bool, items: Vec<Node> },
    Map { flow: bool, entries: Vec<Entry> },
    Alias,
}

impl Node {
    /// The entries, when this is a mapping.
    pub(crate) fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            Kind::Map { entries, .. } => Some(entries),
            _ => None,
        }
    }

    /// Whether this is a collection in flow style (`[...]`, `{...}`; every JSON one).
    pub(crate) fn is_flow(&self) -> bool {
        matches!(
            self.kind,
            Kind::Seq { flow: true, .. } | Kind::Map { flow: true, .. }
        )
    }

    /// The entry named `name`, when this is a mapping that has one.
    pub(crate) fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|e| e.name == name)
    }

    /// Moves every offset `add` bytes forward and `sub` back: from a span tree of a
    /// piece of text to the text the piece was cut from. `sub` is at most every
    /// offset plus `add`.
    pub(crate) fn relocate(&mut self, add: usize, sub: usize) {
        self.start = (self.start + add).saturating_sub(sub);
        self.end = (self.end + add).saturating_sub(sub);
        match &mut self.kind {
            Kind::Seq { items, .. } => items.iter_mut().for_each(|n| n.relocate(add, sub)),
            Kind::Map { entries, .. } => entries.iter_mut().for_each(|e| {
                e.key.relocate(add, sub);
                e.value.relocate(add, sub);
            }),
            Kind::Scalar(_) | Kind::Alias => {}
        }
    }
}

/// Why a text has no span tree: the position (byte offset) and the parser's message.
#[derive(Debug, Clone)]
pub(crate) struct TreeError {
    pub(crate) at: usize,
    pub(crate) message: String,
}

// ---------------------------------------------------------------------------
// YAML.
// ---------------------------------------------------------------------------

/// Character index to byte offset, for saphyr's markers.
struct Offsets {
    /// Byte offset of every character, and of the end; `None` for ASCII text, where
    /// the two are the same.
    bytes: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Offsets {
        let bytes = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .collect()
        });
        Offsets {
            bytes,
            len: text.len(),
        }
    }

    fn byte(&self, index: usize) -> usize {
        match &self.bytes {
            None => index.min(self.len),
            Some(b) => b.get(index).copied().unwrap_or(self.len),
        }
    }
}

enum Frame {
    Seq {
        start: usize,
        flow: bool,
        anchored: bool,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        flow: bool,
        anchored: bool,
        entries: Vec<Entry>,
        key: Option<(Node, String)>,
    },
}

/// The span tree of a one-document YAML text; `None` when it holds no node.
pub(crate) fn yaml(text: &str) -> Result<Option<Node>, TreeError> {
    let offsets = Offsets::new(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root = None;
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        // Callers read the text with the strict reader (libyaml) first, so an error here
        // is mostly saphyr being stricter than libyaml, not a broken file: say so.
        let (event, span) = event.map_err(|e| TreeError {
            at: offsets.byte(e.marker().index()),
            message: format!(
                "{}: the in-place editor's YAML span parser (saphyr) refuses this text \
                 (libyaml may read it), so it cannot be edited in place (one known case: a \
                 flow collection's closing bracket at its key's indentation; indent the \
                 bracket one space more)",
                e.info()
            ),
        })?;
        let (start, end) = (
            offsets.byte(span.start.index()),
            offsets.byte(span.end.index()),
        );
        let done = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(TreeError {
                        at: start,
                        message: "a second document; the editors edit one-document files"
                            .to_owned(),
                    });
                }
                None
            }
            Event::Scalar(value, style, anchor, _) => {
                let (style, start, end) = match style {
                    ScalarStyle::Plain => (Style::Plain, start, end),
                    // A quoted scalar's end event may reach over a comment after it;
                    // its closing quote is its end.
                    ScalarStyle::SingleQuoted => (
                        Style::Single,
                        start,
                        quoted_end(text, start, b'\'').unwrap_or(end),
                    ),
                    ScalarStyle::DoubleQuoted => (
                        Style::Double,
                        start,
                        quoted_end(text, start, b'"').unwrap_or(end),
                    ),
                    ScalarStyle::Literal | ScalarStyle::Folded => {
                        let style = if style == ScalarStyle::Literal {
                            Style::Literal
                        } else {
                            Style::Folded
                        };
                        let header = block_scalar_header(text, start);
                        (style, header, trim_end(text, header, end))
                    }
                };
                let node = Node {
                    start,
                    end,
                    anchored: anchor != 0,
                    kind: Kind::Scalar(style),
                };
                // A key's name is needed; a value's text is not (the strict reader
                // has it), so only scalars that may be keys keep theirs.
                let name = match stack.last() {
                    Some(Frame::Map { key: None, .. }) => Some(value.into_owned()),
                    _ => None,
                };
                Some((node, name))
            }
            Event::Alias(_) => Some((
                Node {
                    start,
                    end,
                    anchored: false,
                    kind: Kind::Alias,
                },
                None,
            )),
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq {
                    start,
                    flow: text.as_bytes().get(start) == Some(&b'['),
                    anchored: anchor != 0,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map {
                    start,
                    flow: text.as_bytes().get(start) == Some(&b'{'),
                    anchored: anchor != 0,
                    entries: Vec::new(),
                    key: None,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    start: s,
                    flow,
                    anchored,
                    items,
                }) => {
                    // The end event of a flow collection may reach over a comment
                    // after its bracket: the bracket is the end.
                    let e = if flow {
                        start + 1
                    } else {
                        items.last().map_or(s, |n| n.end)
                    };
                    Some((
                        Node {
                            start: s,
                            end: e,
                            anchored,
                            kind: Kind::Seq { flow, items },
                        },
                        None,
                    ))
                }
                Some(Frame::Map {
                    start: s,
                    flow,
                    anchored,
                    entries,
                    ..
                }) => {
                    // The end event of a flow collection may reach over a comment
                    // after its bracket: the bracket is the end.
                    let e = if flow {
                        start + 1
                    } else {
                        entries.last().map_or(s, |e| e.value.end.max(e.key.end))
                    };
                    Some((
                        Node {
                            start: s,
                            end: e,
                            anchored,
                            kind: Kind::Map { flow, entries },
                        },
                        None,
                    ))
                }
                None => None,
            },
            _ => None,
        };
        if let Some((node, name)) = done {
            match stack.last_mut() {
                None => root = Some(node),
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map { entries, key, .. }) => match key.take() {
                    None => *key = Some((node, name.unwrap_or_default())),
                    Some((k, name)) => entries.push(Entry {
                        key: k,
                        name,
                        value: node,
                    }),
                },
            }
        }
    }
    Ok(root)
}

/// Where the header (`|`, `>-`, `|2`...) of the block scalar whose content starts at
/// `content` is: on the last line before it that is not blank.
fn block_scalar_header(text: &str, content: usize) -> usize {
    let before = text.get(..content).unwrap_or("");
    let mut line_end = before.rfind('\n').unwrap_or(0);
    loop {
        let line_start = text
            .get(..line_end)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |i| i + 1);
        let line = text.get(line_start..line_end).unwrap_or("");
        if !line.trim().is_empty() || line_start == 0 {
            // The indicator is the last `|` or `>` before a comment.
            let code = line
                .find(" #")
                .map_or(line, |c| line.get(..c).unwrap_or(line));
            return code.rfind(['|', '>']).map_or(content, |i| line_start + i);
        }
        line_end = line_start.saturating_sub(1);
    }
}

/// Just after the closing quote of the scalar whose opening `quote` is the first one
/// at or after `start` (an anchor or tag may come first).
fn quoted_end(text: &str, start: usize, quote: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = start + text.get(start..)?.bytes().position(|b| b == quote)? + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// `end`, moved back over blanks and line breaks, but not before `start`.
fn trim_end(text: &str, start: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    let mut e = end;
    while e > start && matches!(bytes.get(e - 1), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        e -= 1;
    }
    e
}

// ---------------------------------------------------------------------------
// JSON.
// ---------------------------------------------------------------------------

/// The deepest nesting the JSON scanner follows (serde_json's own limit).
const MAX_DEPTH: usize = 128;

/// The span tree of a JSON text; `None` when it is empty.
pub(crate) fn json(text: &str) -> Result<Option<Node>, TreeError> {
    let mut s = Scanner {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    if text.starts_with('\u{feff}') {
        s.at = 3;
    }
    s.blank();
    if s.at >= s.bytes.len() {
        return Ok(None);
    }
    let root = s.value(0)?;
    s.blank();
    if s.at < s.bytes.len() {
        return Err(s.error("text after the JSON value"));
    }
    Ok(Some(root))
}

struct Scanner<'t> {
    text: &'t str,
    bytes: &'t [u8],
    at: usize,
}

impl Scanner<'_> {
    fn error(&self, message: &str) -> TreeError {
        TreeError {
            at: self.at,
            message: message.to_owned(),
        }
    }

    fn blank(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), TreeError> {
        self.blank();
        if self.bytes.get(self.at) == Some(&b) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", char::from(b))))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, TreeError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deep"));
        }
        self.blank();
        let start = self.at;
        let kind = match self.bytes.get(self.at) {
            Some(b'"') => {
                self.string()?;
                Kind::Scalar(Style::Double)
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.blank();
                if self.bytes.get(self.at) == Some(&b']') {
                    self.at += 1;
                } else {
                    loop {
                        items.push(self.value(depth + 1)?);
                        self.blank();
                        match self.bytes.get(self.at) {
                            Some(b',') => self.at += 1,
                            Some(b']') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(self.error("expected `,` or `]`")),
                        }
                    }
                }
                Kind::Seq { flow: true, items }
            }
            Some(b'{') => {
                self.at += 1;
                let mut entries = Vec::new();
                self.blank();
                if self.bytes.get(self.at) == Some(&b'}') {
                    self.at += 1;
                } else {
                    loop {
                        self.blank();
                        let key_start = self.at;
                        if self.bytes.get(self.at) != Some(&b'"') {
                            return Err(self.error("expected a key"));
                        }
                        self.string()?;
                        let raw = self.text.get(key_start..self.at).unwrap_or("\"\"");
                        let name = decode_json_string(raw)
                            .ok_or_else(|| self.error("invalid key"))?
                            .into_owned();
                        let key = Node {
                            start: key_start,
                            end: self.at,
                            anchored: false,
                            kind: Kind::Scalar(Style::Double),
                        };
                        self.expect(b':')?;
                        let value = self.value(depth + 1)?;
                        entries.push(Entry { key, name, value });
                        self.blank();
                        match self.bytes.get(self.at) {
                            Some(b',') => self.at += 1,
                            Some(b'}') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(self.error("expected `,` or `}`")),
                        }
                    }
                }
                Kind::Map {
                    flow: true,
                    entries,
                }
            }
            Some(_) => {
                while !matches!(
                    self.bytes.get(self.at),
                    None | Some(b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.at += 1;
                }
                if self.at == start {
                    return Err(self.error("expected a value"));
                }
                Kind::Scalar(Style::Plain)
            }
            None => return Err(self.error("unexpected end of input")),
        };
        Ok(Node {
            start,
            end: self.at,
            anchored: false,
            kind,
        })
    }

    /// Skips a string, the opening quote at `at`.
    fn string(&mut self) -> Result<(), TreeError> {
        self.at += 1;
        loop {
            match self.bytes.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(());
                }
                Some(b'\\') => self.at += 2,
                Some(_) => self.at += 1,
                None => return Err(self.error("unterminated string")),
            }
        }
    }
}

/// The text of a JSON string literal (with its quotes).
pub(crate) fn decode_json_string(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice<'t>(text: &'t str, n: &Node) -> &'t str {
        &text[n.start..n.end]
    }

    #[test]
    fn yaml_spans_are_tight_and_in_bytes() {
        let text = "# c\ntasks:\n  - id: 'é'   # x\n    title: |\n      two\n      lines\n\n    tags: [x, y]\n\n  # between\n  - {id: 'q', title: r}\nafter: 1\n";
        let root = yaml(text).unwrap().unwrap();
        let tasks = &root.entry("tasks").unwrap().value;
        let Kind::Seq { items, .. } = &tasks.kind else {
            panic!("not a sequence")
        };
        assert_eq!(items.len(), 2);
        assert!(slice(text, &items[0]).starts_with("id: 'é'"));
        assert_eq!(slice(text, &items[0].entry("id").unwrap().value), "'é'");
        assert!(slice(text, &items[0]).ends_with("[x, y]"));
        let title = &items[0].entry("title").unwrap().value;
        assert_eq!(slice(text, title), "|\n      two\n      lines");
        assert_eq!(slice(text, &items[1]), "{id: 'q', title: r}");
        assert_eq!(slice(text, &items[1].entry("id").unwrap().value), "'q'");
    }

    #[test]
    fn json_spans_cover_values() {
        let text = "\u{feff}{\"a\\u0062\": [1, {\"b\": \"x\\\"y\"}], \"c\":null}";
        let root = json(text).unwrap().unwrap();
        let ab = root.entry("ab").unwrap();
        assert_eq!(slice(text, &ab.value), "[1, {\"b\": \"x\\\"y\"}]");
        assert_eq!(slice(text, &root.entry("c").unwrap().value), "null");
        assert!(json("[1,").is_err());
        assert!(json("  ").unwrap().is_none());
    }
}
