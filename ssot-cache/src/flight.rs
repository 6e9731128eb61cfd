//! Single flight: one load per missing key, however many callers ask at once.
//!
//! The first caller to miss a key registers a [`Flight`] in the key's shard (under the
//! shard's lock, so the miss and the registration are one step) and runs the loader
//! with no lock held. Callers that miss the same key while the flight is registered
//! wait on it. When the loader returns, the leader stores the value and unregisters
//! the flight under the shard's lock (again one step, so no caller can miss both the
//! entry and the flight), then wakes the waiters with the outcome:
//!
//! - a value: every waiter gets a clone of it;
//! - an error `E` (the fallible variant): every waiter asking with the same error
//!   type gets the same `Arc<E>`; nothing is cached, and the next call loads again.
//!   A waiter whose own call has a different error type (or none) retries instead,
//!   as if it had arrived after the failure;
//! - a panic in the loader: the flight is abandoned (by a drop guard, so the panic
//!   still unwinds to the leader) and waiters retry, one of them becoming the new
//!   leader.
//!
//! A loader that asks the cache for its own key on the leader's thread would wait for
//! itself forever; the flight records its leader's thread so that call panics with an
//! explanation instead (the panic then abandons the outer load like any other).

use std::any::Any;
use std::sync::Arc;
#[cfg(test)]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::ThreadId;

use parking_lot::{Condvar, Mutex};

/// The outcome of a load, as waiters see it.
pub(crate) enum Outcome<V> {
    Loading,
    Loaded(V),
    Failed(Arc<dyn Any + Send + Sync>),
    Abandoned,
}

/// A load in progress that callers can wait on.
pub(crate) struct Flight<V> {
    outcome: Mutex<Outcome<V>>,
    done: Condvar,
    /// The thread running the loader.
    leader: ThreadId,
    /// Callers currently waiting (tests use it to join waiters deterministically).
    #[cfg(test)]
    pub(crate) waiting: AtomicUsize,
}

impl<V: Clone> Flight<V> {
    pub(crate) fn new() -> Flight<V> {
        Flight {
            outcome: Mutex::new(Outcome::Loading),
            done: Condvar::new(),
            leader: std::thread::current().id(),
            #[cfg(test)]
            waiting: AtomicUsize::new(0),
        }
    }

    /// Whether the calling thread is the one running this flight's loader: waiting
    /// would then never end.
    pub(crate) fn led_by_current_thread(&self) -> bool {
        self.leader == std::thread::current().id()
    }

    /// Publishes the outcome and wakes every waiter.
    pub(crate) fn finish(&self, outcome: Outcome<V>) {
        *self.outcome.lock() = outcome;
        self.done.notify_all();
    }

    /// Blocks until the load has an outcome; never returns [`Outcome::Loading`].
    pub(crate) fn wait(&self) -> Outcome<V> {
        let mut guard = self.outcome.lock();
        #[cfg(test)]
        self.waiting.fetch_add(1, Ordering::SeqCst);
        loop {
            match &*guard {
                Outcome::Loading => self.done.wait(&mut guard),
                Outcome::Loaded(v) => return Outcome::Loaded(v.clone()),
                Outcome::Failed(e) => return Outcome::Failed(Arc::clone(e)),
                Outcome::Abandoned => return Outcome::Abandoned,
            }
        }
    }
}
