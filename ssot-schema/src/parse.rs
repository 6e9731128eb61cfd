//! Reading JSON and YAML text into the JSON data model, refusing what it cannot hold.
//!
//! The mapping is documented in the crate root, under "The YAML to JSON mapping";
//! this module implements it, for this crate's validation and for other crates'
//! deserializers: [`StrictValue`] is a [`DeserializeSeed`] that reads one value of
//! any deserializer into a [`serde_json::Value`], recording in a [`Refusal`] why it
//! refused a value, and [`yaml_flow_too_deep`] is the guard to run on YAML text
//! before libyaml (so `yaml_serde`) sees it. `ssot-core` reads the unknown fields of
//! its task records through them, so the two crates accept and refuse the same values.
//!
//! ```
//! use serde::de::DeserializeSeed;
//! use ssot_schema::parse::{Refusal, StrictValue};
//!
//! let refusal = Refusal::new();
//! let de = serde_yaml::Deserializer::from_str("a: .nan\n");
//! assert!(StrictValue::new(&refusal).deserialize(de).is_err());
//! assert!(refusal.take_message().is_some_and(|m| m.contains("`.nan`")));
//! ```
//!
//! # Why a visitor of our own
//!
//! `serde_json::Value`'s own `Deserialize` silently keeps the last of two equal keys
//! and turns `.nan` into `null`, which would validate a document the user did not
//! write. The visitor here costs the same as `Value`'s: one pass, no extra lookups
//! (the duplicate check is the map entry the value is inserted through).
//!
//! # Integers beyond 64 bits
//!
//! YAML hands such an integer to the visitor as an `i128`/`u128`, which is refused
//! with the deserializer's position. serde_json (without its `arbitrary_precision`
//! feature, which would change every `Value` in a program that links it) rounds it to
//! the nearest `f64` before the visitor sees it; the visitor only notes that a large
//! integral float went by, and [`Refusal::rounded_integer`] then finds the literal in
//! the text. Refusing rather than keeping the digits is the choice: no `Value` can
//! hold them, and a rounded number would be a silent change.

use std::cell::{Cell, RefCell};
use std::fmt;

use saphyr_parser::{Event, Parser};
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

use crate::error::Error;

/// Why a [`StrictValue`] refused a value: its message, without the parser's position
/// (the deserializer's error carries that).
///
/// One `Refusal` serves one read: the first refusal ends it.
#[derive(Debug, Default)]
pub struct Refusal {
    message: RefCell<Option<String>>,
    /// serde_json handed over an integral float at least 2^63: maybe an integer
    /// literal it rounded.
    large_integral_float: Cell<bool>,
}

impl Refusal {
    /// A refusal with nothing recorded yet.
    #[must_use]
    pub fn new() -> Refusal {
        Refusal::default()
    }

    /// The message of the value refused, if one was; it is taken, so a second call
    /// gives `None`.
    ///
    /// When a read through [`StrictValue`] fails and this gives `None`, the error is
    /// the deserializer's own (a syntax error, a type error of another visitor).
    pub fn take_message(&self) -> Option<String> {
        self.message.take()
    }

    /// After a JSON read through [`StrictValue`] succeeded, the byte offset and text
    /// of the first integer literal of `json` that fits neither `i64` nor `u64`, which
    /// serde_json read as a rounded `f64`; such a document must be refused (the
    /// message of [`big_integer_message`]).
    ///
    /// `json` is the text that was read. Costs nothing unless the read met an
    /// integral float of magnitude at least 2^63; then O(text).
    pub fn rounded_integer<'t>(&self, json: &'t str) -> Option<(usize, &'t str)> {
        if self.large_integral_float.get() {
            big_integer(json)
        } else {
            None
        }
    }

    fn fail<E: de::Error>(&self, message: String) -> E {
        let e = E::custom(&message);
        *self.message.borrow_mut() = Some(message);
        e
    }
}

/// What is wrong with an integer literal beyond 64 bits, and how to keep it.
#[must_use]
pub fn big_integer_message(literal: &dyn fmt::Display) -> String {
    format!("integer {literal} does not fit in 64 bits; quote it to keep it as text")
}

/// Reads one value of any deserializer into a [`Value`], refusing, with a message in
/// its [`Refusal`], what the JSON data model cannot hold instead of changing it: a
/// repeated key (which `Value` resolves by keeping the last), a key that is not a
/// string, a YAML custom tag, `.nan` and `.inf` (which `Value` turns into `null`),
/// integers beyond 64 bits (see the module documentation for JSON), binary data.
///
/// One pass, the cost of `Value`'s own `Deserialize`.
#[derive(Clone, Copy, Debug)]
pub struct StrictValue<'r> {
    refusal: &'r Refusal,
}

impl<'r> StrictValue<'r> {
    /// A reader recording why it refused a value in `refusal`.
    #[must_use]
    pub fn new(refusal: &'r Refusal) -> StrictValue<'r> {
        StrictValue { refusal }
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value JSON can hold")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => Ok(Value::Number(i.into())),
            (_, Ok(u)) => Ok(Value::Number(u.into())),
            _ => Err(self.refusal.fail(big_integer_message(&v))),
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        match u64::try_from(v) {
            Ok(u) => Ok(Value::Number(u.into())),
            Err(_) => Err(self.refusal.fail(big_integer_message(&v))),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // serde_json hands an integer literal beyond 64 bits to `visit_f64`, rounded;
        // remember that one may have been seen, so that `rounded_integer` looks for it.
        if v.fract() == 0.0 && v.abs() >= 9_223_372_036_854_775_808.0 {
            self.refusal.large_integral_float.set(true);
        }
        Number::from_f64(v).map(Value::Number).ok_or_else(|| {
            let shown = match (v.is_nan(), v > 0.0) {
                (true, _) => ".nan",
                (false, true) => ".inf",
                (false, false) => "-.inf",
            };
            self.refusal.fail(format!(
                "`{shown}` is not a number JSON can hold; quote it (`\"{shown}\"`) to keep it as text"
            ))
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Value, E> {
        Err(self
            .refusal
            .fail("binary data has no JSON equivalent; write it as a base64 string".to_owned()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(self)? {
            out.push(item);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(Key {
            refusal: self.refusal,
        })? {
            let value = map.next_value_seed(self)?;
            match out.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(taken) => {
                    return Err(self.refusal.fail(format!(
                        "key `{}` appears twice in the same mapping; JSON readers disagree about which value wins, so remove one",
                        taken.key()
                    )));
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // yaml_serde hands a value with a custom tag (`!name value`) to the visitor
        // as an enum whose variant is the tag.
        let (tag, _) = data.variant::<String>()?;
        Err(self.refusal.fail(format!(
            "YAML tag `!{tag}` has no JSON equivalent; remove the tag (or quote the value to keep it as text)"
        )))
    }
}

/// A mapping key, which must be a string.
struct Key<'r> {
    refusal: &'r Refusal,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<String, D::Error> {
        de.deserialize_any(self)
    }
}

impl Key<'_> {
    fn not_a_string<E: de::Error>(&self, shown: &str) -> E {
        self.refusal.fail(format!(
            "mapping key {shown} is not a string, and JSON object keys are strings; quote it (`\"{}\": ...`)",
            shown.trim_matches('`')
        ))
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Err(self.not_a_string(&format!("`{v}`")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Err(self.not_a_string(&format!("`{v}`")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Err(self.not_a_string(&format!("`{v}`")))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<String, E> {
        Err(self.not_a_string(&format!("`{v}`")))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
        Err(self.not_a_string(&format!("`{v}`")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Err(self.not_a_string(&format!("`{v}`")))
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(self.not_a_string("`null`"))
    }

    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Err(self.not_a_string("`null`"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.refusal.fail(
            "a sequence used as a mapping key has no JSON equivalent; use a string key".to_owned(),
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.refusal.fail(
            "a mapping used as a mapping key has no JSON equivalent; use a string key".to_owned(),
        ))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<String, A::Error> {
        let (tag, _) = data.variant::<String>()?;
        Err(self.refusal.fail(format!(
            "YAML tag `!{tag}` on a mapping key has no JSON equivalent; remove the tag"
        )))
    }
}

/// Reads JSON text.
pub(crate) fn read_json(text: &str, source: &str) -> Result<Value, Error> {
    let refusal = Refusal::default();
    // Editors on Windows may start a file with a byte order mark, which is not JSON.
    let mut de = serde_json::Deserializer::from_str(text.strip_prefix('\u{feff}').unwrap_or(text));
    let read = StrictValue::new(&refusal)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    if read.is_ok()
        && let Some((offset, literal)) = refusal.rounded_integer(text)
    {
        let (line, column) = crate::lines::line_column(text, offset);
        return Err(Error::Unrepresentable {
            source_name: source.to_owned(),
            line,
            column,
            message: big_integer_message(&literal),
        });
    }
    read.map_err(|e| {
        let at = (e.line().max(1), e.column().max(1));
        read_error(source, "JSON", at, refusal.take_message(), || {
            strip_json_position(&e.to_string())
        })
    })
}

/// The offset and text of the first integer literal of well-formed JSON `text` that
/// fits neither `i64` nor `u64`. serde_json reads such a literal as the nearest
/// `f64`, silently; YAML text refuses it, and so must JSON text, for the two to give
/// the same verdict. Called only when the parse met a large integral `f64`: O(text).
fn big_integer(text: &str) -> Option<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while bytes
                    .get(i)
                    .is_some_and(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    i += 1;
                }
                let literal = text.get(start..i)?;
                if !literal.contains(['.', 'e', 'E'])
                    && literal.parse::<i64>().is_err()
                    && literal.parse::<u64>().is_err()
                {
                    return Some((start, literal));
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// serde_json's message without its ` at line L column C` suffix, which the error
/// prints in front instead.
fn strip_json_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Reads a YAML text holding at most one document (none reads as `null`).
pub(crate) fn read_yaml(text: &str, source: &str) -> Result<Value, Error> {
    let mut documents = read_yaml_documents(text, source, Some(1))?;
    Ok(documents.pop().unwrap_or(Value::Null))
}

/// Reads every document of a YAML stream; a stream without any (empty text, only
/// comments) is one `null` document, as for [`read_yaml`], so that an empty file is
/// validated rather than passed over.
pub(crate) fn read_yaml_stream(text: &str, source: &str) -> Result<Vec<Value>, Error> {
    let mut documents = read_yaml_documents(text, source, None)?;
    if documents.is_empty() {
        documents.push(Value::Null);
    }
    Ok(documents)
}

fn read_yaml_documents(
    text: &str,
    source: &str,
    limit: Option<usize>,
) -> Result<Vec<Value>, Error> {
    if let Some(offset) = yaml_flow_too_deep(text) {
        let (line, column) = crate::lines::line_column(text, offset);
        return Err(Error::Syntax {
            source_name: source.to_owned(),
            format: "YAML",
            line,
            column,
            message: flow_too_deep_message(),
        });
    }
    let mut out = Vec::new();
    // yaml_serde reads a byte order mark as the start of another document.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    for document in serde_yaml::Deserializer::from_str(body) {
        if limit.is_some_and(|l| out.len() >= l) {
            return Err(Error::MultipleDocuments {
                source_name: source.to_owned(),
                line: second_document_line(text),
            });
        }
        let refusal = Refusal::default();
        let value = StrictValue::new(&refusal)
            .deserialize(document)
            .map_err(|e| yaml_error(&e, refusal.take_message(), source))?;
        out.push(value);
    }
    Ok(out)
}

/// The deepest nesting of YAML flow collections (`[...]`, `{...}`) accepted.
pub const MAX_FLOW_DEPTH: usize = 128;

/// What is wrong with a text [`yaml_flow_too_deep`] refuses, and how to fix it.
#[must_use]
pub fn flow_too_deep_message() -> String {
    format!(
        "flow collections (`[...]`, `{{...}}`) are nested more than {MAX_FLOW_DEPTH} deep; \
         use block style, or less nesting"
    )
}

/// The byte offset of the first `[` or `{` of YAML `text` that opens a flow
/// collection nested more than [`MAX_FLOW_DEPTH`] deep, if there is one.
///
/// Run it before libyaml (so `yaml_serde`) sees the text: libyaml's scanner does work
/// proportional to the flow depth for every token, so a few hundred kilobytes of
/// `[[[[...` would take a minute to reach `yaml_serde`'s own recursion limit.
///
/// A bracket counts only where YAML reads it as one: not in a comment, nor in a
/// quoted, plain (`a [b`) or block (`|`, `>`) scalar. Text with at most
/// [`MAX_FLOW_DEPTH`] `[` and `{` in all is accepted after one count of bytes;
/// other text is read by saphyr's event parser (whose scanner stops at 255 flow
/// levels), up to the first collection too deep: linear in the text either way.
/// Only if saphyr cannot read the text, and not because of its nesting (it is then
/// almost surely invalid YAML), are brackets counted lexically, as before saphyr was
/// used: skipping comments and what looks like a quoted scalar, which may refuse
/// such a text for brackets in plain or block scalars.
#[must_use]
pub fn yaml_flow_too_deep(text: &str) -> Option<usize> {
    let opening = text
        .bytes()
        .filter(|&b| b == b'[' || b == b'{')
        .take(MAX_FLOW_DEPTH + 1)
        .count();
    if opening <= MAX_FLOW_DEPTH {
        return None;
    }
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bom = text.len() - body.len();
    let found = match flow_too_deep_in_events(body) {
        Ok(found) => Ok(found),
        // saphyr refuses some tabs libyaml accepts (`a:\tx`); a tab is one byte and
        // one character, as a space is, so offsets stay the same.
        Err(_) if body.contains('\t') => {
            let detabbed = body.replace('\t', " ");
            flow_too_deep_in_events(&detabbed).or_else(|at| before_error(&detabbed, at))
        }
        Err(at) => before_error(body, at),
    }
    .unwrap_or_else(|()| lexical(body));
    found.map(|offset| offset + bom)
}

/// After saphyr failed at byte `at` of `text`: the collection too deep in the text
/// before `at`, if any. saphyr's scanner reads a flow collection to its end before
/// it emits the collection's first event (the collection might be a key), and stops
/// at 255 levels: on `[[[[...` it fails before any event. The text before the
/// failure is read without that failure, and shows where the nesting went too deep.
/// If it did not, the failure is something else (`Err`).
fn before_error(text: &str, at: usize) -> Result<Option<usize>, ()> {
    match text.get(..at).map(flow_too_deep_in_events) {
        Some(Ok(Some(offset))) => Ok(Some(offset)),
        _ => Err(()),
    }
}

/// [`yaml_flow_too_deep`] by saphyr's events; `Err` with the byte offset where saphyr
/// failed if it cannot read `text`.
fn flow_too_deep_in_events(text: &str) -> Result<Option<usize>, usize> {
    // Whether each open collection is a flow one.
    let mut open: Vec<bool> = Vec::new();
    let mut depth = 0usize;
    // saphyr's marks count characters; walk forward to turn them into bytes.
    let mut chars = CharCursor::new(text);
    let mut parser = Parser::new_from_str(text);
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| chars.byte_of(e.marker().index()))?;
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let offset = chars.byte_of(span.start.index());
                let flow = matches!(text.as_bytes().get(offset), Some(b'[' | b'{'));
                open.push(flow);
                if flow {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Ok(Some(offset));
                    }
                }
            }
            // The guard pops the collection whether or not it was a flow one.
            Event::SequenceEnd | Event::MappingEnd if open.pop() == Some(true) => depth -= 1,
            Event::StreamEnd => break,
            _ => {}
        }
    }
    Ok(None)
}

/// Character index to byte offset, for indexes met mostly in increasing order.
struct CharCursor<'t> {
    text: &'t str,
    index: usize,
    byte: usize,
}

impl<'t> CharCursor<'t> {
    fn new(text: &'t str) -> CharCursor<'t> {
        CharCursor {
            text,
            index: 0,
            byte: 0,
        }
    }

    /// The byte offset of character `index` (the text's length past its end).
    fn byte_of(&mut self, index: usize) -> usize {
        if index < self.index {
            (self.index, self.byte) = (0, 0);
        }
        let rest = self.text.get(self.byte..).unwrap_or("");
        match rest.char_indices().nth(index - self.index) {
            Some((at, _)) => {
                self.byte += at;
                self.index = index;
            }
            None => {
                self.byte = self.text.len();
                self.index = index;
            }
        }
        self.byte
    }
}

/// The lexical fallback of [`yaml_flow_too_deep`]: counts every bracket outside
/// comments and quoted scalars. A quote counts as opening a scalar only where YAML
/// allows one to start, so the apostrophe in `don't` is text.
fn lexical(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    let starts_scalar = |i: usize| {
        i == 0
            || matches!(
                bytes.get(i - 1),
                Some(b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b',' | b':' | b'-' | b'?')
            )
    };
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' if starts_scalar(i) => {
                while bytes.get(i).is_some_and(|&c| c != b'\n' && c != b'\r') {
                    i += 1;
                }
            }
            b'"' if starts_scalar(i) => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'\'' if starts_scalar(i) => {
                i += 1;
                // `''` inside a single-quoted scalar is an escaped quote: the scan
                // leaves and re-enters the scalar, which changes nothing.
                while bytes.get(i).is_some_and(|&c| c != b'\'') {
                    i += 1;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

fn yaml_error(e: &serde_yaml::Error, refused: Option<String>, source: &str) -> Error {
    let at = e
        .location()
        .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
    read_error(source, "YAML", at, refused, || {
        strip_yaml_position(&e.to_string())
    })
}

/// A document that could not be read: a value the JSON data model cannot hold, if the
/// strict visitor refused one (its message), else the parser's syntax error.
fn read_error(
    source: &str,
    format: &'static str,
    (line, column): (usize, usize),
    refused: Option<String>,
    syntax: impl FnOnce() -> String,
) -> Error {
    match refused {
        Some(message) => Error::Unrepresentable {
            source_name: source.to_owned(),
            line,
            column,
            message,
        },
        None => Error::Syntax {
            source_name: source.to_owned(),
            format,
            line,
            column,
            message: syntax(),
        },
    }
}

/// yaml_serde's message without its ` at line L column C` suffix.
fn strip_yaml_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The line where the second document of a stream starts; 1 if none is found (the
/// error still says what is wrong).
///
/// A line scan, not a parse: the later documents may not even be well-formed (or
/// may be alias bombs), and a document marker is unambiguous. `---` or `...` at the
/// start of a line, followed by a space, a tab or the line end, can only be a
/// marker: YAML forbids them there inside any scalar. A document starts at a `---`
/// once content was seen, or at the first content after a `...`.
fn second_document_line(text: &str) -> usize {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_marker = |line: &str, marker: &str| {
        line.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    };
    let (mut content, mut ended) = (false, false);
    // `\n`, `\r\n` and a lone `\r` end a line, as YAML reads them.
    let lines = text
        .split('\n')
        .flat_map(|l| l.strip_suffix('\r').unwrap_or(l).split('\r'));
    for (line_no, line) in (1..).zip(lines) {
        if is_marker(line, "---") {
            if content || ended {
                return line_no;
            }
            content = true;
        } else if is_marker(line, "...") {
            ended = true;
        } else {
            let bare = line.trim_start_matches([' ', '\t']);
            let blank = bare.is_empty() || bare.starts_with('#');
            // A directive (`%YAML 1.2`) belongs to the document that follows it.
            let directive = line.starts_with('%') && !content;
            if !blank && !directive {
                if ended {
                    return line_no;
                }
                content = true;
            }
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml(text: &str) -> Result<Value, Error> {
        read_yaml(text, "<yaml>")
    }

    #[test]
    fn yaml_numbers_keep_their_json_kind() {
        let v = yaml("a: 1\nb: 1.0\nc: -7\nd: 0x1f\ne: 2.5e3\nf: '1'\n").unwrap();
        assert!(v["a"].is_u64());
        assert!(v["b"].is_f64());
        assert_eq!(v["b"].as_f64(), Some(1.0));
        assert_eq!(v["c"], json!(-7));
        assert_eq!(v["d"], json!(31));
        assert_eq!(v["e"], json!(2500.0));
        assert_eq!(v["f"], json!("1"));
    }

    #[test]
    fn yaml_merge_keys_are_ordinary_keys() {
        let v = yaml("base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n").unwrap();
        assert_eq!(v["use"], json!({"<<": {"x": 1}, "y": 2}));
    }

    #[test]
    fn yaml_anchors_and_aliases_resolve() {
        let v = yaml("base: &b {x: 1}\nuse: *b\n").unwrap();
        assert_eq!(v["use"], json!({"x": 1}));
    }

    #[test]
    fn yaml_refuses_what_json_cannot_hold_with_a_position() {
        for (text, needle, line) in [
            ("a: 1\nb: .nan\n", ".nan", 2),
            ("a: 1\nb: -.inf\n", "-.inf", 2),
            ("a: 1\n1: x\n", "mapping key `1`", 2),
            ("a:\n  true: x\n", "mapping key `true`", 2),
            ("a: !thing x\n", "tag `!thing`", 1),
            ("a: 1\nb:\n  c: 1\n  c: 2\n", "appears twice", 3),
            ("a: 123456789012345678901234567890\n", "64 bits", 1),
        ] {
            match yaml(text) {
                Err(Error::Unrepresentable {
                    line: l, message, ..
                }) => {
                    assert!(message.contains(needle), "{text:?}: {message}");
                    assert_eq!(l, line, "{text:?}: {message}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn yaml_empty_document_is_null_and_streams_are_refused() {
        assert_eq!(yaml("").unwrap(), Value::Null);
        assert_eq!(yaml("# only a comment\n").unwrap(), Value::Null);
        match yaml("a: 1\n---\nb: 2\n") {
            Err(Error::MultipleDocuments { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            read_yaml_stream("# nothing\n", "s").unwrap(),
            vec![Value::Null]
        );
        let docs = read_yaml_stream("a: 1\n---\nb: 2\n", "s").unwrap();
        assert_eq!(docs, vec![json!({"a": 1}), json!({"b": 2})]);
    }

    #[test]
    fn the_second_document_is_found_even_when_later_documents_are_broken() {
        for (text, line) in [
            ("a: 1\n---\nb: 2\n", 2),
            ("--- # first\na: 1\n--- \nb: 2\n", 3),
            ("%YAML 1.2\n---\na: 1\n...\n# c\n\nb: [\n", 7),
            ("a: 1\r\n---\r\nb: [\r\n---\r\n", 2),
            ("a: |\n  ---\n  x\n---\nb: *nowhere\n", 4),
            ("\u{feff}a: 1\r---\r", 2),
        ] {
            match yaml(text) {
                Err(Error::MultipleDocuments { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_the_parser_sees_it() {
        let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        match yaml(&deep) {
            Err(Error::Syntax {
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!((line, column), (1, 4 + MAX_FLOW_DEPTH));
                assert!(message.contains("nested more than 128 deep"));
            }
            other => panic!("{other:?}"),
        }
        // Quoted and commented brackets do not count; yaml_serde's own recursion
        // limit (128 levels, the mapping included) still applies below ours.
        let fine = format!(
            "a: {}1{}\nb: \"[[[\" # [[[\nc: don't [x]\n",
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(yaml(&fine).is_ok(), "{:?}", yaml(&fine));
        let quoted = format!("a: '{}'\n", "[".repeat(1000));
        assert!(yaml(&quoted).is_ok());
    }

    #[test]
    fn yaml_syntax_errors_name_line_and_column() {
        match yaml("a: [1, 2\nb: 3\n") {
            Err(Error::Syntax { line, format, .. }) => {
                assert_eq!(format, "YAML");
                assert!(line >= 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn integers_beyond_64_bits_are_refused_in_json_as_in_yaml() {
        for (text, json, at) in [
            (
                "{\"s\": \"99999999999999999999\",\n \"a\": 18446744073709551616}",
                true,
                (2, 7),
            ),
            (
                "s: '99999999999999999999'\na: 18446744073709551616\n",
                false,
                (2, 4),
            ),
            ("{\"a\": 1,\n \"b\": [-9223372036854775809]}", true, (2, 8)),
            ("a: 1\nb: [-9223372036854775809]\n", false, (2, 5)),
        ] {
            let read = if json {
                read_json(text, "f")
            } else {
                read_yaml(text, "f")
            };
            match read {
                Err(Error::Unrepresentable {
                    line,
                    column,
                    message,
                    ..
                }) => {
                    assert!(message.contains("does not fit in 64 bits"), "{message}");
                    assert_eq!((line, column), at, "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn json_refuses_repeated_keys_and_reports_syntax_positions() {
        match read_json("{\"a\": 1,\n \"a\": 2}", "f.json") {
            Err(Error::Unrepresentable { line, message, .. }) => {
                assert_eq!(line, 2);
                assert!(message.contains("`a` appears twice"));
            }
            other => panic!("{other:?}"),
        }
        match read_json("{\"a\": 1,\n \"b\": }", "f.json") {
            Err(e @ Error::Syntax { .. }) => {
                let shown = e.to_string();
                assert!(shown.starts_with("f.json:2:"), "{shown}");
                assert!(!shown.contains(" at line "), "{shown}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(read_json(" [1, 2.0] ", "x").unwrap(), json!([1, 2.0]));
        assert_eq!(
            read_json("[1e19, -9223372036854775808, 18446744073709551615]", "x").unwrap(),
            json!([1e19, i64::MIN, u64::MAX])
        );
        assert_eq!(read_json("\u{feff}[1]", "x").unwrap(), json!([1]));
        assert_eq!(
            read_yaml("\u{feff}a: 1\r\nb: 2\r\n", "x").unwrap(),
            json!({"a": 1, "b": 2})
        );
    }

    #[test]
    fn brackets_in_block_and_plain_scalars_are_text_not_flow_collections() {
        let deep = "[".repeat(129);
        for text in [
            format!("description: |\n  {deep}\n"),
            format!("description: >-\n  {deep}\n  {}\n", "{".repeat(300)),
            format!("title: a {deep}\n"),
            format!("title: a\n  {deep}\n"),
            format!("- x {deep} # {deep}\n- \"{deep}\"\n"),
        ] {
            let v = yaml(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert!(v.to_string().contains(&deep), "{text:?}: {v}");
        }
    }

    #[test]
    fn deep_flow_nesting_after_a_stray_quote_or_a_block_scalar_is_still_refused() {
        let deep = "[".repeat(10_000);
        for (text, line) in [
            (format!("a: don 't\nb: {deep}\n"), 2),
            (format!("a: |\n  '\nb: {deep}\n"), 3),
            (format!("\u{feff}a: é\nb: {deep}\n"), 2),
            (format!("a:\tx\nb: {deep}\n"), 2),
        ] {
            match yaml(&text) {
                Err(Error::Syntax {
                    line: l, column, ..
                }) => assert_eq!((l, column), (line, 4 + MAX_FLOW_DEPTH), "{line}"),
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Plain scalars (starting with a letter, words of brackets) and literal and
        /// folded block scalars holding more brackets than the flow limit are read as
        /// the text they hold.
        #[test]
        fn yaml_with_brackets_in_scalars_is_accepted(
            plain in proptest::collection::vec("[a-z\\[\\]{},]{1,12}", 1..8),
            block in proptest::collection::vec("[a-z\\[\\]{}'\"# ]{0,20}[a-z\\]]", 1..6),
            style in proptest::sample::select(vec!["|", ">", "|-", ">+"]),
        ) {
            let deep = "[".repeat(129);
            let plain = format!("x{} {deep}", plain.join(" "));
            let mut text = format!("plain: {plain}\nblock: {style}\n  {deep}\n");
            for line in &block {
                text.push_str(&format!("  {line}\n"));
            }
            let v = yaml(&text).map_err(|e| {
            proptest::test_runner::TestCaseError::fail(format!("{e}\n{text}"))
        })?;
            proptest::prop_assert_eq!(v["plain"].as_str(), Some(plain.as_str()));
            let block_text = v["block"].as_str().unwrap_or_default();
            proptest::prop_assert!(block_text.starts_with(&deep), "{}", block_text);
        }
    }
}
