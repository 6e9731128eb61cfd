//! `ssot-cache`: scaffold, replaced by its issue's work.
