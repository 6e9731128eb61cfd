//! Crash points of the store's write side, for crash tests.
//!
//! The commit path calls [`point`] between the steps whose interruption leaves a
//! distinct state on disk (after the files are written, before and after the audit
//! append's write and fdatasync): `commit:files-written`, `audit:before-write`,
//! `audit:before-sync`, `audit:after-sync`, `commit:audited`. Without the non-default
//! `fault-injection` feature `point` is an empty inline function. With it, the points
//! go to `ssot-version`'s one process-wide hook (`ssot_core::version::set_fault_hook`),
//! which also receives that crate's own points of the all-or-nothing file write, so a
//! crash test installs one hook and sees every step of a commit in order.

/// A crash point: calls `ssot-version`'s installed hook, if any.
#[inline(always)]
pub(crate) fn point(name: &'static str) {
    #[cfg(feature = "fault-injection")]
    ssot_version::fault_point(name);
    #[cfg(not(feature = "fault-injection"))]
    let _ = name;
}
