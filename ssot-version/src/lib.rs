//! `ssot-version`: scaffold, replaced by its issue's work.
