//! Crash points for the crate's own crash tests.
//!
//! The journal shared by rollback and write, and its recovery, call [`point`] after
//! every step whose interruption leaves a distinct state on disk (each staged file,
//! the journal commit, each delete and rename, the fsync round, the manifest, the
//! head, the finish hook, the journal removal; in recovery, a dropped journal, a
//! rebuilt pack, recorded edits, the rewritten journal).
//! Without the `fault-injection` feature `point` is an empty inline function: there is
//! no runtime knob in a production build. With it, a test installs a hook with
//! [`set_fault_hook`]; the crash test's child process uses the hook to stop at step
//! *k* and be killed with `SIGKILL` by its parent.

#[cfg(feature = "fault-injection")]
static HOOK: std::sync::RwLock<Option<fn(&'static str)>> = std::sync::RwLock::new(None);

/// Installs (or, with `None`, removes) the process-wide crash-point hook. The hook is
/// called with the name of each crash point as it is reached.
///
/// Only compiled with the non-default `fault-injection` feature, which exists for this
/// crate's crash tests; never enable it in a production build.
#[cfg(feature = "fault-injection")]
pub fn set_fault_hook(hook: Option<fn(&'static str)>) {
    let mut slot = HOOK
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *slot = hook;
}

/// A crash point: calls the installed hook, if any.
#[inline(always)]
pub(crate) fn point(name: &'static str) {
    #[cfg(feature = "fault-injection")]
    {
        let hook = *HOOK
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(hook) = hook {
            hook(name);
        }
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = name;
}

/// A crash point of a crate built on this one: calls the hook installed with
/// [`set_fault_hook`], so one hook sees this crate's points and the caller's in the
/// order they are reached (`ssot-core`'s store puts its commit and audit-log points
/// here).
///
/// Only compiled with the non-default `fault-injection` feature, for crash tests.
#[cfg(feature = "fault-injection")]
pub fn fault_point(name: &'static str) {
    point(name);
}
