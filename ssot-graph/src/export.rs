//! The graph in other shapes: Graphviz text, and a petgraph graph for petgraph's
//! algorithms.
//!
//! [`to_dot`](DepGraph::to_dot) writes its own DOT rather than going through
//! `petgraph::dot::Dot`: it needs per-node styles from the graph's state, stable
//! node names that do not depend on how an id displays (two ids may display alike),
//! and a deterministic order of lines, so that the output of an unchanged graph is
//! byte-identical from one run to the next and diffs well.

use std::fmt::{self, Write as _};
use std::hash::Hash;

use petgraph::stable_graph::{NodeIndex, StableDiGraph};

use crate::graph::{DepGraph, NONE};
use crate::state::State;

impl<Id: Clone + Eq + Hash + Ord> DepGraph<Id> {
    /// The graph in Graphviz DOT, nodes styled by state: done (green), ready
    /// (white, bold outline), blocked (orange: pending with a dependency not done),
    /// running (blue), failed (red), cancelled (grey, dashed), on hold (yellow).
    /// Each node is labelled with its id's [`Display`](fmt::Display) and has a
    /// tooltip naming its state. Arrows run from a dependency to its dependent, the
    /// order in which work flows.
    ///
    /// Nodes are listed sorted by id and named `n0`, `n1`, ... in that order; edges
    /// are sorted too, so the same graph always gives the same text. Render with
    /// `dot -Tsvg graph.dot -o graph.svg`.
    ///
    /// Cost: O(V log V + E log E) and the formatting of every id.
    #[must_use]
    pub fn to_dot(&self) -> String
    where
        Id: fmt::Display,
    {
        let sorted = self.sorted_slots();
        let mut rank = vec![NONE; self.slot_bound()];
        for (r, &v) in sorted.iter().enumerate() {
            rank[v as usize] = r as u32;
        }
        let mut out = String::from(
            "digraph dependencies {\n    rankdir=LR;\n    \
             node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n",
        );
        let mut label = String::new();
        for (r, &v) in sorted.iter().enumerate() {
            let (name, style) = self.dot_style(v);
            label.clear();
            // Writing to a String cannot fail.
            let _ = write!(label, "{}", self.id(v));
            let label = escape(&label);
            let _ = writeln!(
                out,
                "    n{r} [label=\"{label}\", tooltip=\"{label}: {name}\", {style}];"
            );
        }
        let mut edges: Vec<(u32, u32)> = Vec::with_capacity(self.dependency_count());
        for &v in &sorted {
            for &w in self.dependents.get(v) {
                edges.push((rank[v as usize], rank[w as usize]));
            }
        }
        edges.sort_unstable();
        for (a, b) in edges {
            let _ = writeln!(out, "    n{a} -> n{b};");
        }
        out.push_str("}\n");
        out
    }

    /// A petgraph `StableDiGraph` of the same nodes and dependencies, for
    /// petgraph's algorithms. Nodes are added in id order (node index `i` is the
    /// `i`-th smallest id); each dependency is an edge from the dependency to its
    /// dependent.
    ///
    /// Cost: O(V log V + E).
    #[must_use]
    pub fn to_petgraph(&self) -> StableDiGraph<Id, ()> {
        let sorted = self.sorted_slots();
        let mut g = StableDiGraph::with_capacity(sorted.len(), self.dependency_count());
        let mut node = vec![NodeIndex::end(); self.slot_bound()];
        for &v in &sorted {
            node[v as usize] = g.add_node(self.id(v).clone());
        }
        for &v in &sorted {
            for &w in self.dependents.get(v) {
                g.add_edge(node[v as usize], node[w as usize], ());
            }
        }
        g
    }

    fn sorted_slots(&self) -> Vec<u32> {
        let mut sorted: Vec<u32> = self.slots_in_order().collect();
        sorted.sort_unstable_by(|&a, &b| self.id(a).cmp(self.id(b)));
        sorted
    }

    /// The state name shown in the tooltip and the node's style attributes.
    fn dot_style(&self, v: u32) -> (&'static str, &'static str) {
        let vi = v as usize;
        match self.node[vi].state {
            State::Pending if self.node[vi].unmet == 0 => {
                ("ready", "fillcolor=\"#ffffff\", penwidth=2")
            }
            State::Pending => ("blocked", "fillcolor=\"#ffe0b2\""),
            State::Done => ("done", "fillcolor=\"#c8e6c9\""),
            State::Running => ("running", "fillcolor=\"#bbdefb\""),
            State::Failed => ("failed", "fillcolor=\"#ffcdd2\""),
            State::Cancelled => (
                "cancelled",
                "fillcolor=\"#eeeeee\", style=\"rounded,filled,dashed\", fontcolor=\"#757575\"",
            ),
            State::OnHold => ("on_hold", "fillcolor=\"#fff9c4\""),
        }
    }
}

/// Escapes text for a DOT double-quoted string: backslashes and quotes escaped,
/// line breaks written as `\n`, carriage returns dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::{DepGraph, State};

    #[test]
    fn dot_styles_nodes_by_state_and_is_deterministic() {
        let mut g = DepGraph::new();
        for id in ["deploy", "build", "test", "say \"hi\""] {
            g.add_node(id).unwrap();
        }
        g.add_dependency(&"test", &"build").unwrap();
        g.add_dependency(&"deploy", &"test").unwrap();
        g.mark_done(&"build").unwrap();
        g.set_state(&"say \"hi\"", State::Cancelled).unwrap();
        let dot = g.to_dot();
        assert_eq!(
            dot,
            "digraph dependencies {\n    rankdir=LR;\n    \
             node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n    \
             n0 [label=\"build\", tooltip=\"build: done\", fillcolor=\"#c8e6c9\"];\n    \
             n1 [label=\"deploy\", tooltip=\"deploy: blocked\", fillcolor=\"#ffe0b2\"];\n    \
             n2 [label=\"say \\\"hi\\\"\", tooltip=\"say \\\"hi\\\": cancelled\", fillcolor=\"#eeeeee\", style=\"rounded,filled,dashed\", fontcolor=\"#757575\"];\n    \
             n3 [label=\"test\", tooltip=\"test: ready\", fillcolor=\"#ffffff\", penwidth=2];\n    \
             n0 -> n3;\n    \
             n3 -> n1;\n\
             }\n"
        );
    }

    #[test]
    fn petgraph_export_keeps_nodes_and_edges() {
        let g = DepGraph::from_tasks([(3, vec![1, 2]), (1, vec![]), (2, vec![1])]).unwrap();
        let p = g.to_petgraph();
        assert_eq!(p.node_count(), 3);
        assert_eq!(p.edge_count(), 3);
        let order = petgraph::algo::toposort(&p, None).unwrap();
        let ids: Vec<i32> = order.into_iter().map(|n| p[n]).collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }
}
