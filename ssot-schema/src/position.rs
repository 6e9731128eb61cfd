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
//! assert_eq!(found, [Some(Position { line: 2, column: 11 }), Some(Position { line: 2, column: 18 }), None]);
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
use std::fmt;

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
        Syntax::Yaml => {
            let detabbed = OnceCell::new();
            locate::locate_yaml_in(
                &Source::new(text),
                locate::load_yaml(text, &detabbed).as_deref(),
                0,
                &inner,
                true,
            )
        }
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
        let text = "# c\ntasks:\n  - id: a\n    title: A\n  - id: b\n    dependencies:\n      - a\n";
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
