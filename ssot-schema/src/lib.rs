//! `ssot-schema`: scaffold, replaced by its issue's work.
