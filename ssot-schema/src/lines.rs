//! Byte offsets to 1-based lines and character columns, the one implementation the
//! `ssot` crates share for every position they report.
//!
//! A line ends at `\n`, `\r\n` or a lone `\r`, as YAML, CSV and CommonMark read
//! them; a column counts characters (not bytes) from the start of the line, and a
//! byte order mark at the start of the text takes no column (editors do not show it).
//! An offset past the end of the text is taken as the end; one inside a character,
//! as the start of that character.
//!
//! Three tools, for three patterns of use:
//!
//! | tool | for | cost |
//! |---|---|---|
//! | [`line_column`] | one position, on an error path | O(offset) |
//! | [`LineIndex`] | many positions in any order | O(text) to build; O(log lines) per line, plus the characters of the line up to the offset per column |
//! | [`LineCounter`] | lines of offsets met in increasing order, while parsing | O(text) in all, counting newlines a block at a time |
//!
//! ```
//! use ssot_schema::lines::{LineCounter, LineIndex, line_column};
//!
//! let text = "a: 1\r\nb: é\rc: 3\n";
//! assert_eq!(line_column(text, 11), (2, 5)); // the `\r` after `é`, a 2-byte character
//! let index = LineIndex::new(text);
//! assert_eq!(index.line_column(text, 12), (3, 1));
//! assert_eq!(index.line_start(3), Some(12));
//! let mut lines = LineCounter::new(text);
//! assert_eq!((lines.line_of(6), lines.line_of(12)), (2, 3));
//! ```

/// The 1-based line and character column of byte `offset` in `text`. O(offset):
/// for one position; use a [`LineIndex`] for many.
#[must_use]
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = char_start(text, offset);
    let bytes = text.as_bytes();
    let before = bytes.get(..offset).unwrap_or(bytes);
    // The start of the line holding `offset`: after the last line ending before it
    // (a `\r` whose `\n` is at `offset` does not end a line yet).
    let mut search = before;
    let line_start = loop {
        match memchr::memrchr2(b'\n', b'\r', search) {
            Some(i) if bytes.get(i) == Some(&b'\r') && bytes.get(i + 1) == Some(&b'\n') => {
                search = search.get(..i).unwrap_or_default();
            }
            Some(i) => break i + 1,
            None => break 0,
        }
    };
    let line = 1 + count_line_endings(bytes, 0, offset);
    (line, column(text, line_start, offset))
}

/// The line endings of `bytes` that end in `from..to`: every `\n`, and every `\r`
/// not followed by `\n`.
fn count_line_endings(bytes: &[u8], from: usize, to: usize) -> usize {
    let Some(span) = bytes.get(from..to) else {
        return 0;
    };
    let newlines = count_newlines(span);
    if memchr::memchr(b'\r', span).is_none() {
        return newlines;
    }
    newlines
        + memchr::memchr_iter(b'\r', span)
            .filter(|&i| bytes.get(from + i + 1) != Some(&b'\n'))
            .count()
}

/// `offset`, clamped to `text` and moved back to the start of its character.
fn char_start(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The 1-based character column of `offset` counted from `line_start` (a line's
/// start, or any character boundary before `offset` on that line).
fn column(text: &str, line_start: usize, offset: usize) -> usize {
    let before = text.get(line_start..offset).unwrap_or("");
    // A byte order mark at the start of the text is not shown by editors: it takes
    // no column.
    let before = match line_start {
        0 => before.strip_prefix('\u{feff}').unwrap_or(before),
        _ => before,
    };
    1 + before.chars().count()
}

/// How many `\n` bytes `bytes` holds. Counted in blocks whose per-byte sums fit a
/// `u8`, which the compiler turns into vector code.
#[inline]
fn count_newlines(bytes: &[u8]) -> usize {
    let mut blocks = bytes.chunks_exact(128);
    let mut n = 0;
    for block in &mut blocks {
        n += usize::from(block.iter().fold(0u8, |acc, &b| acc + u8::from(b == b'\n')));
    }
    n + blocks.remainder().iter().filter(|&&b| b == b'\n').count()
}

/// The start of every line of a text, for positions in any order.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the lines of `text`. O(text).
    #[must_use]
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            // `\r\n` is one line ending: the line starts after the `\n`.
            if bytes.get(i) == Some(&b'\n') || bytes.get(i + 1) != Some(&b'\n') {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    /// The number of lines (a text ending with a line ending has an empty last line).
    #[must_use]
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether the index has no line; never true, as even the empty text has one.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The 1-based line of byte `offset`. O(log lines).
    #[must_use]
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }

    /// The byte offset where 1-based `line` starts, or `None` past the last line.
    #[must_use]
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(1)?).copied()
    }

    /// The 1-based line and character column of byte `offset` of `text`, the text
    /// this index was built from. O(log lines) plus the characters before `offset` on
    /// its line.
    #[must_use]
    pub fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = char_start(text, offset);
        let line = self.line(offset);
        let start = self.line_start(line).unwrap_or(0);
        (line, column(text, start, offset))
    }

    /// The positions of many offsets of `text`, in the order given, counting the
    /// characters of each line at most once: a minified JSON document is one long
    /// line, and counting from its start for each of many offsets would be
    /// O(offsets x text). Costs a sort of the offsets.
    #[must_use]
    pub fn line_columns(&self, text: &str, offsets: &[usize]) -> Vec<(usize, usize)> {
        let mut order: Vec<usize> = (0..offsets.len()).collect();
        order.sort_unstable_by_key(|&i| offsets.get(i).copied().unwrap_or(0));
        let mut out = vec![(1, 1); offsets.len()];
        // The last position computed: line, offset, column.
        let mut previous: Option<(usize, usize, usize)> = None;
        for i in order {
            let offset = char_start(text, offsets.get(i).copied().unwrap_or(0));
            let line = self.line(offset);
            let position = match previous {
                Some((l, o, c)) if l == line => (line, c + column(text, o, offset) - 1),
                _ => (
                    line,
                    column(text, self.line_start(line).unwrap_or(0), offset),
                ),
            };
            if let Some(slot) = out.get_mut(i) {
                *slot = position;
            }
            previous = Some((line, offset, position.1));
        }
        out
    }
}

/// Lines of byte offsets met in increasing order, counted as a parser goes.
///
/// Each call counts the line endings since the previous one, in text that was just
/// parsed and is still in cache: O(text) in all, a block of bytes at a time. An
/// offset before the previous one (a YAML alias points back) builds a [`LineIndex`]
/// once, O(text), and is looked up in it.
#[derive(Debug, Clone)]
pub struct LineCounter<'t> {
    bytes: &'t [u8],
    /// Where counting stopped, and the line there.
    at: usize,
    line: usize,
    /// Whether the text holds a `\r` at all: without one, only `\n` is counted.
    has_cr: bool,
    index: Option<LineIndex>,
}

impl<'t> LineCounter<'t> {
    /// A counter at the start of `text`. O(text) to look for a `\r`.
    #[must_use]
    pub fn new(text: &'t str) -> LineCounter<'t> {
        let bytes = text.as_bytes();
        LineCounter {
            bytes,
            at: 0,
            line: 1,
            has_cr: memchr::memchr(b'\r', bytes).is_some(),
            index: None,
        }
    }

    /// Whether the text holds a `\r` (so line endings other than `\n`).
    #[must_use]
    pub fn has_cr(&self) -> bool {
        self.has_cr
    }

    /// The 1-based line of byte `offset`. An offset inside a `\r\n` pair is on the
    /// line the pair ends.
    #[inline]
    pub fn line_of(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.bytes.len());
        if offset < self.at {
            let bytes = self.bytes;
            let index = self.index.get_or_insert_with(|| {
                // The counter was built from a `&str`, so this cannot fail.
                LineIndex::new(std::str::from_utf8(bytes).unwrap_or(""))
            });
            return index.line(offset);
        }
        self.line += self.count(self.at, offset);
        self.at = offset;
        self.line
    }

    /// Moves on to `offset` without counting: the caller knows that no line ending
    /// lies between the last offset asked for and `offset`.
    #[inline]
    pub fn skip_to(&mut self, offset: usize) {
        if offset > self.at {
            self.at = offset.min(self.bytes.len());
        }
    }

    /// The line endings that end in `from..to` (a `\r\n` counts where its `\n` is).
    #[inline]
    fn count(&self, from: usize, to: usize) -> usize {
        if self.has_cr {
            count_line_endings(self.bytes, from, to)
        } else {
            self.bytes.get(from..to).map_or(0, count_newlines)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    /// Lines and columns the slow, obvious way.
    fn reference(text: &str, offset: usize) -> (usize, usize) {
        let offset = char_start(text, offset);
        let (mut line, mut column) = (1, 1);
        for (i, c) in text[..offset].char_indices() {
            let ends_line = c == '\n' || (c == '\r' && text.as_bytes().get(i + 1) != Some(&b'\n'));
            if ends_line {
                (line, column) = (line + 1, 1);
            } else if !(c == '\u{feff}' && i == 0) {
                column += 1;
            }
        }
        (line, column)
    }

    #[test]
    fn columns_count_characters_and_lines_end_at_every_line_ending() {
        let text = "ab\nçé x\r\ny\rz";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 8), (2, 4));
        // Inside a character: moved back to its start.
        assert_eq!(line_column(text, 4), (2, 1));
        assert_eq!(line_column(text, 11), (3, 1));
        assert_eq!(line_column(text, 13), (4, 1));
        assert_eq!(line_column(text, 99), (4, 2));
        assert_eq!(line_column("\u{feff}ab", 4), (1, 2));
        let index = LineIndex::new(text);
        assert_eq!(index.len(), 4);
        assert_eq!(index.line_start(2), Some(3));
        assert_eq!(index.line_start(5), None);
    }

    #[test]
    fn the_counter_counts_forward_and_looks_back() {
        let text = "a\nb\nc\nd\n".repeat(40);
        let mut lines = LineCounter::new(&text);
        assert_eq!(lines.line_of(0), 1);
        assert_eq!(lines.line_of(2), 2);
        assert_eq!(lines.line_of(150), 76);
        assert_eq!(lines.line_of(6), 4);
        assert_eq!(lines.line_of(151), 76);
        assert_eq!(lines.line_of(152), 77);
        assert_eq!(lines.line_of(10_000), 161);
        assert_eq!(count_newlines(text.as_bytes()), 160);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The three tools agree with each other and with a character-by-character count.
        #[test]
        fn every_tool_gives_the_reference_position(
            text in "(\u{feff})?[a\\n\\ré\\r\\n日]{0,300}",
            mut offsets in proptest::collection::vec(0usize..320, 0..16),
        ) {
            let index = LineIndex::new(&text);
            let many = index.line_columns(&text, &offsets);
            for (&offset, &position) in offsets.iter().zip(&many) {
                let expected = reference(&text, offset);
                prop_assert_eq!(line_column(&text, offset), expected);
                prop_assert_eq!(index.line_column(&text, offset), expected);
                prop_assert_eq!(position, expected);
            }
            offsets.sort_unstable();
            let mut counter = LineCounter::new(&text);
            for offset in offsets {
                prop_assert_eq!(counter.line_of(offset), reference(&text, offset).0);
            }
        }
    }
}
