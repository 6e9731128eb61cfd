//! The crate's one error type.
//!
//! The memory tier cannot fail: its operations return values, not `Result`s. Errors
//! come from the disk tier (the file system, encoding a value) and from tiers users
//! write themselves. A corrupt or truncated entry file is not an error: it is a miss,
//! and the file is removed.

use std::path::PathBuf;

/// `Result<T, ssot_cache::Error>`, as every `ssot-*` crate names its own.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `ssot-cache`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation of the disk tier failed.
    #[error(
        "disk tier: cannot {action} `{path}`: {source} (check the directory exists, is writable and the disk is not full)"
    )]
    Io {
        /// What the tier was doing: `create directory`, `read`, `write`, `remove`, ...
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A key or value could not be encoded with postcard for the disk tier.
    #[error(
        "disk tier `{dir}`: cannot encode the {what}: {source} (serde types that need a self-describing format, such as `#[serde(flatten)]` or untagged enums, cannot be stored)"
    )]
    Encode {
        /// The disk tier's directory.
        dir: PathBuf,
        /// `key` or `value`.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: postcard::Error,
    },

    /// A tier written outside this crate failed.
    #[error("tier `{tier}`: {source}")]
    Tier {
        /// The tier's [`name`](crate::Tier::name).
        tier: String,
        /// The tier's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl Error {
    /// An error of a user-written [`Tier`](crate::Tier) called `tier`.
    #[must_use]
    pub fn tier(
        tier: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Error {
        Error::Tier {
            tier: tier.into(),
            source: source.into(),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_message_names_action_path_and_fix() {
        let e = Error::io(
            "write",
            "/tmp/c/ab.entry",
            std::io::Error::new(std::io::ErrorKind::StorageFull, "no space"),
        );
        let msg = e.to_string();
        assert!(msg.contains("cannot write `/tmp/c/ab.entry`"), "{msg}");
        assert!(msg.contains("disk is not full"), "{msg}");
    }

    #[test]
    fn tier_error_names_the_tier() {
        let e = Error::tier("redis", "connection refused");
        assert_eq!(e.to_string(), "tier `redis`: connection refused");
    }
}
