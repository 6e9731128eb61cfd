//! The three lock kinds and the compatibility table.
//!
//! The table is SQL Server's for its S (shared), U (update) and X (exclusive) modes.
//! It is symmetric, so "a holder of kind A lets in a request of kind B" and "B lets in
//! A" are the same question; [`LockKind::compatible_with`] answers it.

use std::fmt;

/// What a lock lets its holder do, and whom it lets in beside it.
///
/// | holder \ request | Read | Write | Exclusive |
/// |------------------|------|-------|-----------|
/// | Read             | yes  | yes   | no        |
/// | Write            | yes  | no    | no        |
/// | Exclusive        | no   | no    | no        |
///
/// The kinds are ordered by strength: `Read < Write < Exclusive`. A downgrade goes to
/// a weaker kind, an upgrade from `Write` to `Exclusive`.
///
/// The enum is exhaustive on purpose: the table is the crate's contract, and a fourth
/// kind would change the meaning of every match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockKind {
    /// Shared: any number of readers, beside at most one `Write` holder.
    Read,
    /// Intent to write (SQL Server's update lock): one at a time, readers keep reading
    /// while the holder prepares; upgrade to [`Exclusive`](LockKind::Exclusive) to commit.
    Write,
    /// Admits no one else.
    Exclusive,
}

impl LockKind {
    /// All kinds, weakest first.
    pub const ALL: [LockKind; 3] = [LockKind::Read, LockKind::Write, LockKind::Exclusive];

    /// Whether a holder of `self` lets in a request of `other` (and the other way round:
    /// the table is symmetric).
    ///
    /// ```
    /// use ssot_lock::LockKind::{Exclusive, Read, Write};
    ///
    /// assert!(Read.compatible_with(Write));
    /// assert!(!Write.compatible_with(Write));
    /// assert!(!Exclusive.compatible_with(Read));
    /// ```
    #[must_use]
    pub const fn compatible_with(self, other: LockKind) -> bool {
        matches!(
            (self, other),
            (LockKind::Read, LockKind::Read)
                | (LockKind::Read, LockKind::Write)
                | (LockKind::Write, LockKind::Read)
        )
    }

    /// The kind's name as it appears in messages: `Read`, `Write` or `Exclusive`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            LockKind::Read => "Read",
            LockKind::Write => "Write",
            LockKind::Exclusive => "Exclusive",
        }
    }
}

impl fmt::Display for LockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::LockKind::{self, Exclusive, Read, Write};

    #[test]
    fn compatibility_is_the_sql_server_s_u_x_table() {
        let table = [
            (Read, [true, true, false]),
            (Write, [true, false, false]),
            (Exclusive, [false, false, false]),
        ];
        for (holder, row) in table {
            for (request, expected) in LockKind::ALL.into_iter().zip(row) {
                assert_eq!(
                    holder.compatible_with(request),
                    expected,
                    "{holder} vs {request}"
                );
            }
        }
    }

    #[test]
    fn compatibility_is_symmetric() {
        for a in LockKind::ALL {
            for b in LockKind::ALL {
                assert_eq!(a.compatible_with(b), b.compatible_with(a));
            }
        }
    }

    #[test]
    fn kinds_are_ordered_by_strength() {
        assert!(Read < Write && Write < Exclusive);
    }
}
