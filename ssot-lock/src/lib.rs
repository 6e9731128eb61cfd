//! `ssot-lock`: scaffold, replaced by its issue's work.
