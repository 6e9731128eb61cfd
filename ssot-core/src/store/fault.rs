//! Crash points of the store's write side, for crash tests.
//!
//! The commit path calls [`point`] between the steps whose interruption leaves a
//! distinct state on disk (after the files are written, before and after the audit
//! append's write and fdatasync). Without the non-default `fault-injection` feature
//! `point` is an empty inline function; with it, a test installs a hook with
//! [`set_fault_hook`] (for example one that stops the process at the k-th point so
//! that its parent can `SIGKILL` it). The feature also enables `ssot-version`'s own
//! crash points (`ssot_core::version::set_fault_hook`), which cover the all-or-nothing
//! file write.

#[cfg(feature = "fault-injection")]
static HOOK: std::sync::RwLock<Option<fn(&'static str)>> = std::sync::RwLock::new(None);

/// Installs (or, with `None`, removes) the process-wide crash-point hook of the
/// store's write side. The hook is called with the name of each point reached:
/// `commit:files-written`, `audit:before-write`, `audit:before-sync`,
/// `audit:after-sync`, `commit:audited`.
///
/// Only compiled with the non-default `fault-injection` feature, for crash tests;
/// never enable it in a production build.
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
