//! [`RunError`]: why a plan could not be run (a job's failure is not an error: it is
//! recorded in the [`RunRecord`](crate::run::RunRecord)).

/// Why a plan could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The plan names a node its graph does not have.
    #[error(
        "plan names node `{id}`, which is not in its graph; add the node or drop it from the order/options"
    )]
    UnknownNode {
        /// The id.
        id: String,
    },
    /// The tasks do not form a dependency graph.
    #[error("the tasks do not form a dependency graph: {0}")]
    Graph(String),
    /// A task could not be queued.
    #[error(transparent)]
    Task(#[from] crate::Error),
    /// A node names a concurrency group the executor does not define.
    #[error(
        "node `{id}` is in concurrency group `{group}`, which the executor does not define; add it with `ExecutorBuilder::group(\"{group}\", limit)`"
    )]
    UnknownGroup {
        /// The node.
        id: String,
        /// The group.
        group: String,
    },
    /// A worker thread could not be started.
    #[error("cannot start a worker thread: {0}; lower the worker count")]
    Spawn(#[source] std::io::Error),
    /// The run journal could not be written or read.
    #[error("run journal {}: {source}; check the journal directory exists and is writable", path.display())]
    Journal {
        /// The journal file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `resume` was asked for a run whose journal does not exist.
    #[error("no journal for run `{run_id}` in {}; pass the directory and run id the run was started with", dir.display())]
    NoSuchRun {
        /// The run id.
        run_id: String,
        /// The journal directory.
        dir: std::path::PathBuf,
    },
}
