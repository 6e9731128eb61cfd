//! Reading JSON and YAML text into the JSON data model, refusing what it cannot hold.
//!
//! The mapping is documented in the crate root, under "The YAML to JSON mapping";
//! this module implements it.
//!
//! # Why a visitor of our own
//!
//! `serde_json::Value`'s own `Deserialize` silently keeps the last of two equal keys
//! and turns `.nan` into `null`, which would validate a document the user did not
//! write. The visitor here costs the same as `Value`'s: one pass, no extra lookups
//! (the duplicate check is the map entry the value is inserted through).

use std::cell::{Cell, RefCell};
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

use crate::error::Error;

/// Why the visitor refused a value: our own message, without the parser's position.
#[derive(Default)]
struct Refusal(RefCell<Option<String>>, Cell<bool>);

impl Refusal {
    fn fail<E: de::Error>(&self, message: String) -> E {
        let e = E::custom(&message);
        *self.0.borrow_mut() = Some(message);
        e
    }
}

/// Reads one value of any JSON type.
#[derive(Clone, Copy)]
struct Strict<'r> {
    refusal: &'r Refusal,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
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
            _ => Err(self.refusal.fail(format!(
                "integer {v} does not fit in 64 bits; quote it to keep it as text"
            ))),
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        match u64::try_from(v) {
            Ok(u) => Ok(Value::Number(u.into())),
            Err(_) => Err(self.refusal.fail(format!(
                "integer {v} does not fit in 64 bits; quote it to keep it as text"
            ))),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // serde_json hands an integer literal beyond 64 bits to `visit_f64`, rounded;
        // remember that one may have been seen, so that `read_json` looks for it.
        if v.fract() == 0.0 && v.abs() >= 9_223_372_036_854_775_808.0 {
            self.refusal.1.set(true);
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
    let read = Strict { refusal: &refusal }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    if read.is_ok()
        && refusal.1.get()
        && let Some((offset, literal)) = big_integer(text)
    {
        let (line, column) = crate::locate::line_column(text, offset);
        return Err(Error::Unrepresentable {
            source_name: source.to_owned(),
            line,
            column,
            message: format!(
                "integer {literal} does not fit in 64 bits; quote it to keep it as text"
            ),
        });
    }
    read.map_err(|e| {
        let at = (e.line().max(1), e.column().max(1));
        read_error(source, "JSON", at, refusal.0.take(), || {
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
    check_flow_depth(text, source)?;
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
        let value = Strict { refusal: &refusal }
            .deserialize(document)
            .map_err(|e| yaml_error(&e, refusal.0.take(), source))?;
        out.push(value);
    }
    Ok(out)
}

/// The deepest nesting of YAML flow collections (`[...]`, `{...}`) accepted.
pub(crate) const MAX_FLOW_DEPTH: usize = 128;

/// Refuses flow collections nested deeper than [`MAX_FLOW_DEPTH`] before libyaml
/// sees them: its scanner does work proportional to the nesting depth for every
/// token, so a few hundred kilobytes of `[[[[...` would take a minute to reach
/// yaml_serde's own recursion limit. One linear pass, skipping comments and quoted
/// scalars; a quote opens a scalar only where YAML allows one to start, so the
/// apostrophe in `don't` is text.
fn check_flow_depth(text: &str, source: &str) -> Result<(), Error> {
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
                while bytes.get(i).is_some_and(|&c| c != b'\'') {
                    i += 1;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    let (line, column) = crate::locate::line_column(text, i);
                    return Err(Error::Syntax {
                        source_name: source.to_owned(),
                        format: "YAML",
                        line,
                        column,
                        message: format!(
                            "flow collections (`[...]`, `{{...}}`) are nested more than {MAX_FLOW_DEPTH} deep; use block style, or less nesting"
                        ),
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
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
}
