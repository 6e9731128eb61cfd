//! `ssot-graph`: scaffold, replaced by its issue's work.
