//! Byte offsets to lines and columns, for error messages.

/// How many `\n` bytes `bytes` holds. Counted in blocks whose per-byte sums fit a
/// `u8`, which the compiler turns into vector code.
pub(crate) fn count_newlines(bytes: &[u8]) -> usize {
    let mut blocks = bytes.chunks_exact(128);
    let mut n = 0;
    for block in &mut blocks {
        n += usize::from(block.iter().fold(0u8, |acc, &b| acc + u8::from(b == b'\n')));
    }
    n + blocks.remainder().iter().filter(|&&b| b == b'\n').count()
}

/// The 1-based line and 1-based character column of byte `offset` in `text`.
///
/// An offset past the end or inside a character is moved back to the nearest
/// character boundary. Costs O(offset).
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    // A line ends at `\n`, `\r\n` or a lone `\r`, as CSV and YAML read them.
    let bytes = text.as_bytes();
    let (mut line, mut line_start) = (1, 0);
    for (i, &b) in bytes.iter().enumerate().take(offset) {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            line += 1;
            line_start = i + 1;
        }
    }
    let column = 1 + text
        .get(line_start..offset)
        .map_or(0, |l| l.chars().count());
    (line, column)
}

/// The byte offset of the start of 1-based `line` in `text` (the end of the text if
/// there are fewer lines).
pub(crate) fn line_start(text: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    text.match_indices('\n')
        .nth(line - 2)
        .map_or(text.len(), |(i, _)| i + 1)
}

/// Turns byte offsets of the input into 1-based lines, for offsets met in document
/// order.
///
/// Offsets normally grow, and each call counts the newlines since the previous one,
/// in text that was just parsed and is still in cache: O(input) in all. YAML aliases
/// can point back; the first time one does, a table of line starts is built
/// (O(input)) and searched (O(log lines)) from then on.
pub(crate) struct LineCounter<'t> {
    text: &'t str,
    at: usize,
    line: usize,
    starts: Option<Vec<usize>>,
}

impl<'t> LineCounter<'t> {
    pub(crate) fn new(text: &'t str) -> LineCounter<'t> {
        LineCounter {
            text,
            at: 0,
            line: 1,
            starts: None,
        }
    }

    /// The line of byte `offset`.
    pub(crate) fn line_of(&mut self, offset: usize) -> usize {
        let bytes = self.text.as_bytes();
        let offset = offset.min(bytes.len());
        if offset >= self.at {
            self.line += bytes.get(self.at..offset).map_or(0, count_newlines);
            self.at = offset;
            return self.line;
        }
        let text = self.text;
        let starts = self.starts.get_or_insert_with(|| {
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        starts.partition_point(|&s| s <= offset).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_not_bytes() {
        let text = "ab\nçé x\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        // `x` is after two two-byte characters and a space.
        assert_eq!(line_column(text, 8), (2, 4));
        // Inside a character: moved back to its start.
        assert_eq!(line_column(text, 4), (2, 1));
        assert_eq!(line_column(text, 99), (3, 1));
        assert_eq!(line_start(text, 2), 3);
        assert_eq!(line_start(text, 9), text.len());
    }

    #[test]
    fn line_counter_counts_forward_and_looks_back() {
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
}
