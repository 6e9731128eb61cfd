//! Behaviour of the public API, as a user meets it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use ssot_graph::{DepGraph, DepGraphBuilder, Error, State};

fn plan() -> DepGraph<String> {
    DepGraph::from_tasks([
        (
            "release".to_string(),
            vec!["test".to_string(), "notes".to_string()],
        ),
        ("test".to_string(), vec!["build".to_string()]),
        ("build".to_string(), vec!["fetch".to_string()]),
        ("fetch".to_string(), vec![]),
        ("notes".to_string(), vec![]),
    ])
    .unwrap()
}

#[test]
fn string_ids_are_looked_up_by_str() {
    let mut g = plan();
    assert!(g.contains("build"));
    assert_eq!(g.state("build"), Some(State::Pending));
    g.mark_done("fetch").unwrap();
    assert_eq!(g.ready(), ["build", "notes"]);
    let err = g.mark_done("deploy").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no node `deploy` in the dependency graph (add it with add_node first)"
    );
}

#[test]
fn shared_string_ids_report_an_unknown_id_as_text() {
    let mut g: DepGraph<Arc<str>> = DepGraph::new();
    g.add_node(Arc::from("a")).unwrap();
    assert_eq!(
        g.add_dependency("a", "b"),
        Err(Error::UnknownNode { id: "b".into() })
    );
}

/// An id type like `ssot_core::TaskId`: validated, so there is no `From<String>`,
/// but it borrows as `str`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Validated(String);

impl std::borrow::Borrow<str> for Validated {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Validated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[test]
fn an_id_type_that_only_borrows_as_str_is_looked_up_by_str_everywhere() {
    let mut g: DepGraph<Validated> = DepGraph::new();
    for id in ["fetch", "build", "test"] {
        g.add_node(Validated(id.to_string())).unwrap();
    }
    assert!(g.add_dependency("build", "fetch").unwrap());
    assert!(g.add_dependency("test", "build").unwrap());
    assert!(g.contains("build"));
    assert!(g.has_dependency("build", "fetch"));
    assert_eq!(g.state("build"), Some(State::Pending));
    assert!(g.depends_on("test", "fetch").unwrap());
    assert_eq!(g.dependents("fetch").unwrap().len(), 2);
    assert_eq!(g.dependencies("test").unwrap().len(), 2);
    assert_eq!(g.direct_dependents("fetch").unwrap()[0].0, "build");
    assert_eq!(g.direct_dependencies("test").unwrap()[0].0, "build");
    assert_eq!(g.blockers("build").unwrap()[0].0, "fetch");
    assert_eq!(
        g.set_state("fetch", State::Running).unwrap(),
        State::Pending
    );
    g.mark_done("fetch").unwrap();
    assert!(g.is_ready("build"));
    g.mark_pending("fetch").unwrap();
    assert!(g.remove_dependency("build", "fetch").unwrap());
    // An unknown id is named in the error, as text: no `Validated` is made from it.
    let err = g.add_dependency("test", "deploy").unwrap_err();
    assert_eq!(
        err,
        Error::UnknownNode {
            id: "deploy".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "no node `deploy` in the dependency graph (add it with add_node first)"
    );
    g.remove_node("test").unwrap();
    assert_eq!(g.len(), 2);

    let mut b = DepGraphBuilder::new();
    b.add_node(Validated("a".to_string())).unwrap();
    b.add_node(Validated("b".to_string())).unwrap();
    b.add_dependency("a", "b").unwrap();
    assert_eq!(
        b.add_dependency("a", "c"),
        Err(Error::UnknownNode { id: "c".into() })
    );
}

#[test]
fn a_refused_dependency_changes_nothing() {
    let mut g = plan();
    g.mark_done("fetch").unwrap();
    let before = format!("{g:?}");
    let dot = g.to_dot();
    let err = g.add_dependency("fetch", "release").unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot make `fetch` depend on `release`: that would close the cycle \
         fetch -> release -> test -> build -> fetch \
         (each depends on the next; remove one of those dependencies first)"
    );
    assert_eq!(format!("{g:?}"), before);
    assert_eq!(g.to_dot(), dot);
    assert_eq!(
        g.add_dependency("notes", "notes").unwrap_err().to_string(),
        "`notes` cannot depend on itself"
    );
}

#[test]
fn removing_a_node_releases_what_it_held_and_frees_its_id() {
    let mut g = plan();
    assert_eq!(g.blockers("build").unwrap(), ["fetch"]);
    g.remove_node("fetch").unwrap();
    assert!(g.is_ready("build"));
    assert_eq!(g.dependency_count(), 3);
    // The id can be used again, and starts fresh.
    g.add_node("fetch".to_string()).unwrap();
    assert!(g.is_ready("fetch"));
    assert!(g.direct_dependents("fetch").unwrap().is_empty());
    g.add_dependency("build", "fetch").unwrap();
    assert_eq!(
        g.topo_order(),
        ["fetch", "notes", "build", "test", "release"]
    );
}

#[test]
fn running_the_plan_round_by_round_follows_the_waves() {
    let mut g = plan();
    let waves: Vec<Vec<String>> = g
        .waves()
        .into_iter()
        .map(|w| w.into_iter().cloned().collect())
        .collect();
    let mut rounds = Vec::new();
    loop {
        let ready: Vec<String> = g.ready().into_iter().cloned().collect();
        if ready.is_empty() {
            break;
        }
        for id in &ready {
            g.mark_done(id).unwrap();
        }
        rounds.push(ready);
    }
    // Round k of a full run releases exactly wave k.
    assert_eq!(rounds, waves);
    assert!(g.blocked().is_empty());
}

#[test]
fn a_failed_step_holds_everything_downstream() {
    let mut g = plan();
    g.mark_done("fetch").unwrap();
    g.set_state("build", State::Failed).unwrap();
    assert_eq!(g.ready(), ["notes"]);
    let blocked: Vec<(&String, Vec<&String>)> = g.blocked();
    assert_eq!(blocked.len(), 2);
    assert_eq!(blocked[1].0, "test");
    assert_eq!(blocked[1].1, ["build"]);
    // Retrying makes it ready again.
    g.mark_pending("build").unwrap();
    assert!(g.is_ready("build"));
}

#[test]
fn the_builder_reports_cycles_and_builds_when_there_are_none() {
    let mut b = DepGraphBuilder::new();
    for id in 1..=4u32 {
        b.add_node(id).unwrap();
    }
    assert_eq!(b.add_node(1), Err(Error::DuplicateNode { id: 1 }));
    assert_eq!(
        b.add_dependency(&1, &9),
        Err(Error::UnknownNode { id: "9".into() })
    );
    b.add_dependency(&2, &1).unwrap();
    b.add_dependency(&3, &2).unwrap();
    b.add_dependency(&3, &2).unwrap();
    assert!(b.cycles().is_empty());
    let mut cyclic = b.clone();
    cyclic.add_dependency(&1, &3).unwrap();
    let found = cyclic.cycles();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].to_string(), "1 -> 3 -> 2 -> 1");
    let g = b.build().unwrap();
    assert_eq!(g.dependency_count(), 2);
    assert_eq!(g.waves(), [vec![&1, &4], vec![&2], vec![&3]]);
}

#[test]
fn the_critical_path_plans_the_remaining_work() {
    let mut g = plan();
    g.mark_done("fetch").unwrap();
    let days = |id: &String| match id.as_str() {
        "fetch" => 4u32,
        "build" => 2,
        "test" => 3,
        "notes" => 1,
        _ => 1,
    };
    let all = g.critical_path(days).unwrap().unwrap();
    assert_eq!(all.total(), 10);
    let remaining = g
        .critical_path(|id| {
            if g.state(id) == Some(State::Done) {
                0
            } else {
                days(id)
            }
        })
        .unwrap()
        .unwrap();
    assert_eq!(remaining.total(), 6);
    assert_eq!(remaining.nodes(), ["fetch", "build", "test", "release"]);
}

#[test]
fn a_long_chain_built_against_the_order_stays_correct() {
    // Each new dependency points backwards in creation order: every insertion
    // reorders, and the last closes nothing.
    let n = 3_000u32;
    let mut g = DepGraph::with_capacity(n as usize);
    for id in 0..n {
        g.add_node(id).unwrap();
    }
    for id in 1..n {
        g.add_dependency(&(id - 1), &id).unwrap();
    }
    let order: Vec<u32> = g.topo_order().into_iter().copied().collect();
    assert_eq!(order, (0..n).rev().collect::<Vec<_>>());
    let err = g.add_dependency(&(n - 1), &0).unwrap_err();
    let Error::Cycle { cycle, .. } = err else {
        panic!("expected a cycle");
    };
    assert_eq!(cycle.len(), n as usize);
    assert_eq!(
        g.critical_path(|_| 1u64).unwrap().unwrap().total(),
        u64::from(n)
    );
}

/// The example in README.md, verbatim.
#[test]
fn the_readme_example_holds() -> Result<(), Error<&'static str>> {
    let mut g = DepGraph::from_tasks([
        ("deploy", vec!["test", "docs"]),
        ("test", vec!["build"]),
        ("build", vec![]),
        ("docs", vec![]),
    ])?;
    assert_eq!(g.ready(), [&"build", &"docs"]);
    g.mark_done(&"build")?;
    assert_eq!(g.ready(), [&"docs", &"test"]);
    assert_eq!(g.blocked(), [(&"deploy", vec![&"docs", &"test"])]);
    assert_eq!(
        g.waves(),
        [vec![&"build", &"docs"], vec![&"test"], vec![&"deploy"]]
    );

    let err = g.add_dependency(&"build", &"deploy").unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot make `build` depend on `deploy`: that would close the cycle \
         build -> deploy -> test -> build (each depends on the next; \
         remove one of those dependencies first)"
    );
    Ok(())
}

#[test]
fn graphs_can_be_shared_between_threads_for_reading() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<DepGraph<String>>();
    assert_send_sync::<DepGraphBuilder<String>>();
    assert_send_sync::<Error<String>>();
}

#[test]
fn the_same_graph_answers_the_same_however_it_was_built() {
    let edges = [(5u32, 1u32), (4, 2), (3, 1), (5, 4), (2, 1), (6, 3)];
    let mut forward = DepGraph::new();
    let mut backward = DepGraph::new();
    for id in 1..=6 {
        forward.add_node(id).unwrap();
        backward.add_node(7 - id).unwrap();
    }
    for (t, d) in edges {
        forward.add_dependency(&t, &d).unwrap();
    }
    for (t, d) in edges.iter().rev() {
        backward.add_dependency(t, d).unwrap();
    }
    assert_eq!(forward.topo_order(), backward.topo_order());
    assert_eq!(forward.waves(), backward.waves());
    assert_eq!(forward.to_dot(), backward.to_dot());
    assert_eq!(format!("{forward:?}"), format!("{backward:?}"));
    let weight = |id: &u32| u64::from(*id % 3);
    assert_eq!(
        forward.critical_path(weight).unwrap(),
        backward.critical_path(weight).unwrap()
    );
}

#[test]
fn the_result_alias_takes_the_id_type() {
    fn plan() -> ssot_graph::Result<DepGraph<&'static str>, &'static str> {
        let mut g = DepGraph::from_tasks([("test", vec!["build"]), ("build", vec![])])?;
        g.mark_done(&"build")?;
        Ok(g)
    }
    fn unknown() -> ssot_graph::Result<(), &'static str> {
        plan()?.mark_done(&"deploy")
    }
    assert_eq!(plan().unwrap().ready(), [&"test"]);
    let err: Error<&str> = unknown().unwrap_err();
    assert_eq!(
        err,
        Error::UnknownNode {
            id: "deploy".to_string()
        }
    );
}

#[test]
fn size_and_membership_queries_follow_every_edit() {
    let mut g: DepGraph<String> = DepGraph::new();
    assert!(g.is_empty());
    assert_eq!(g.nodes().count(), 0);
    assert!(!g.contains("build"));
    g.add_node("build".to_string()).unwrap();
    g.add_node("test".to_string()).unwrap();
    assert!(!g.is_empty());
    assert!(g.contains("build") && g.contains("test"));
    assert!(!g.contains("deploy"));
    let mut nodes: Vec<&String> = g.nodes().collect();
    nodes.sort();
    assert_eq!(nodes, ["build", "test"]);

    assert!(!g.has_dependency("test", "build"));
    g.add_dependency("test", "build").unwrap();
    assert!(g.has_dependency("test", "build"));
    // Direction matters, and unknown ids are simply not dependencies.
    assert!(!g.has_dependency("build", "test"));
    assert!(!g.has_dependency("test", "deploy"));
    assert!(!g.has_dependency("deploy", "build"));
    g.remove_dependency("test", "build").unwrap();
    assert!(!g.has_dependency("test", "build"));

    g.remove_node("build").unwrap();
    assert!(!g.contains("build"));
    g.remove_node("test").unwrap();
    assert!(g.is_empty());
    assert_eq!(g.nodes().count(), 0);
}

#[test]
fn debug_output_lists_each_node_with_its_state_and_dependencies() {
    let mut g = DepGraph::from_tasks([
        ("test", vec!["build", "fetch"]),
        ("build", vec!["fetch"]),
        ("fetch", vec![]),
    ])
    .unwrap();
    g.mark_done(&"fetch").unwrap();
    assert_eq!(
        format!("{g:?}"),
        r#"{"build": pending ["fetch"], "fetch": done [], "test": pending ["build", "fetch"]}"#
    );
}
