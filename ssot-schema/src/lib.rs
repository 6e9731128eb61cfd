//! JSON Schema validation of JSON and YAML documents that reports every violation
//! with its line and column.

pub mod builtin;
mod error;
mod locate;
mod parse;
mod registry;
mod report;

pub use error::Error;
pub use registry::{Draft, NAME_BASE, RegistryBuilder, SchemaRegistry};
pub use report::{Report, Violation};
