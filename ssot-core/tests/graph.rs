//! The seam between the task model and `ssot-graph`: a `DepGraph<TaskId>` is used
//! with the `&str` ids a caller reads from files, and `TaskId`'s `Borrow<str>`
//! keeps the promise that makes that sound.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cmp::Ordering;
use std::hash::{BuildHasher, RandomState};

use proptest::prelude::*;
use ssot_core::TaskId;
use ssot_graph::{DepGraph, Error, State};

fn id(s: &str) -> TaskId {
    TaskId::new(s).unwrap()
}

#[test]
fn a_task_id_graph_is_looked_up_by_str() {
    let mut g: DepGraph<TaskId> = DepGraph::new();
    for name in ["fetch", "build", "test", "release"] {
        g.add_node(id(name)).unwrap();
    }
    assert!(g.add_dependency("build", "fetch").unwrap());
    assert!(g.add_dependency("test", "build").unwrap());
    assert!(g.add_dependency("release", "test").unwrap());
    assert!(g.contains("test"));
    assert!(g.has_dependency("test", "build"));
    assert!(g.depends_on("release", "fetch").unwrap());
    assert_eq!(
        g.dependents("build").unwrap(),
        [&id("release"), &id("test")]
    );
    assert_eq!(g.blockers("build").unwrap(), [&id("fetch")]);

    g.mark_done("fetch").unwrap();
    assert_eq!(g.state("fetch"), Some(State::Done));
    assert!(g.is_ready("build"));
    assert_eq!(g.ready(), [&id("build")]);

    // A cycle names the ids; an unknown id is named as the caller wrote it.
    let err = g.add_dependency("fetch", "release").unwrap_err();
    assert!(matches!(err, Error::Cycle { .. }));
    assert_eq!(
        g.remove_dependency("build", "not-a-task"),
        Err(Error::UnknownNode {
            id: "not-a-task".to_string()
        })
    );
    // Even text that is no valid id at all is looked up and reported, not rejected
    // as an id.
    assert_eq!(
        g.mark_done("a, b").unwrap_err().to_string(),
        "no node `a, b` in the dependency graph (add it with add_node first)"
    );
    g.remove_node("release").unwrap();
    assert_eq!(g.len(), 3);
}

fn valid_id() -> impl Strategy<Value = String> {
    // Letters and digits of several scripts, and the punctuation an id allows.
    "[a-zA-Z0-9éß字_.-]{1,6}"
}

proptest! {
    #![proptest_config(common::cases(256))]

    /// `Borrow<str>` requires that an id and its text hash, compare and order
    /// alike: otherwise a `&str` lookup would miss ids that are there.
    #[test]
    fn a_task_id_hashes_compares_and_orders_as_its_text(a in valid_id(), b in valid_id()) {
        let (ia, ib) = (id(&a), id(&b));
        let hasher = RandomState::new();
        prop_assert_eq!(hasher.hash_one(&ia), hasher.hash_one(a.as_str()));
        prop_assert_eq!(ia == ib, a.as_str() == b.as_str());
        prop_assert_eq!(ia.cmp(&ib), a.as_str().cmp(b.as_str()));
        let borrowed: &str = std::borrow::Borrow::borrow(&ia);
        prop_assert_eq!(borrowed, a.as_str());
        prop_assert_eq!(a.cmp(&b) == Ordering::Equal, ia == ib);
    }
}

#[test]
fn every_status_maps_to_the_graph_state_the_table_documents() {
    use ssot_core::Status;
    let table = [
        (Status::Pending, State::Pending),
        (Status::InProgress, State::Running),
        (Status::Done, State::Done),
        (Status::Blocked, State::OnHold),
        (Status::Cancelled, State::Cancelled),
    ];
    assert_eq!(table.len(), Status::ALL.len());
    for (status, state) in table {
        assert_eq!(State::from(status), state, "{status}");
    }
    // What the graph makes of it: only a done task releases its dependents, and
    // only a pending one is a candidate to start.
    for status in Status::ALL {
        let state = State::from(status);
        assert_eq!(state.satisfies_dependents(), status == Status::Done);
        let mut g: DepGraph<TaskId> = DepGraph::new();
        g.add_node(id("t")).unwrap();
        g.set_state("t", status.into()).unwrap();
        assert_eq!(g.is_ready("t"), status == Status::Pending, "{status}");
    }
}
