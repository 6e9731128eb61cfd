//! JSON Schema validation of JSON and YAML documents that reports every violation
//! with the line and column where it is in the file.
//!
//! A [`SchemaRegistry`] holds named JSON Schemas, each compiled once by the
//! [`jsonschema`] crate and able to `$ref` the others. Give it a document as a
//! `serde_json::Value`, as JSON text or as YAML text, and it returns a [`Report`]:
//! empty when the document is valid, otherwise *every* [`Violation`], each with the
//! JSON pointer of the offending value, the schema keyword and its location, a
//! message, and, for text, the 1-based line and column of the value in the source.
//! Reports print as `file:line:col: message`, the form editors jump to, and
//! serialize to JSON. Positions cost nothing when the document is valid: they are
//! computed from a second, span-carrying read of the text only when it is not.
//!
//! The crate also ships [built-in schemas](builtin): the task record and task list of
//! `ssot-core`, and five registry documents (automation, pipeline, orchestration,
//! monitoring, security), strict where strictness catches real mistakes.
//!
//! # Example: validate a YAML file against your own schema
//!
//! ```
//! use serde_json::json;
//! use ssot_schema::SchemaRegistry;
//!
//! # fn main() -> Result<(), ssot_schema::Error> {
//! let mut registry = SchemaRegistry::new();
//! registry.register("service", json!({
//!     "type": "object",
//!     "properties": {
//!         "port": {"type": "integer", "minimum": 1, "maximum": 65535},
//!         "timeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"}
//!     },
//!     "additionalProperties": false
//! }))?;
//!
//! let report = registry.validate_yaml("service", "port: 0\ntimeout: 5 minutes\nretires: 3\n")?;
//! assert!(!report.is_valid());
//! let found: Vec<_> = report
//!     .errors()
//!     .iter()
//!     .map(|e| (e.instance_location(), e.keyword(), e.line(), e.column()))
//!     .collect();
//! assert_eq!(found, [
//!     ("/port", "minimum", Some(1), Some(7)),
//!     ("/timeout", "pattern", Some(2), Some(10)),
//!     ("", "additionalProperties", Some(3), Some(1)),
//! ]);
//! // For a terminal, one line per violation:
//! let first = report.to_string().lines().next().unwrap_or("").to_owned();
//! assert!(first.starts_with("<input>:1:7: 0 is less than the minimum of 1"));
//! # Ok(())
//! # }
//! ```
//!
//! # Example: the built-in schemas
//!
//! ```
//! use ssot_schema::{SchemaRegistry, builtin};
//!
//! # fn main() -> Result<(), ssot_schema::Error> {
//! let mut registry = SchemaRegistry::new();
//! registry.register_builtins()?;
//!
//! let tasks = "tasks:\n  - id: build\n    title: Build it\n    prioirty: high\n    estimated_time: 5 minutes\n";
//! let report = registry.validate_yaml(builtin::TASK_LIST, tasks)?;
//! let messages: Vec<_> = report.errors().iter().map(|e| (e.line(), e.message())).collect();
//! assert_eq!(messages[0].0, Some(5));
//! assert!(messages[0].1.starts_with("\"5 minutes\" does not have the expected form: A compact duration"));
//! assert_eq!(messages[1], (Some(4), "property `prioirty` is not allowed here; did you mean `priority`?"));
//! # Ok(())
//! # }
//! ```
//!
//! # Example: schemas that refer to each other, and `?` on an invalid document
//!
//! ```
//! use serde_json::json;
//! use ssot_schema::{Error, SchemaRegistry};
//!
//! # fn main() -> Result<(), Error> {
//! let mut registry = SchemaRegistry::new();
//! // Registered together, so they may refer to each other in any order.
//! registry.register_all([
//!     ("duration", json!({"type": "string", "pattern": "^([0-9]+[smhd])+$"})),
//!     ("job", json!({
//!         "type": "object",
//!         "required": ["every"],
//!         "properties": {"every": {"$ref": "duration"}}
//!     })),
//! ])?;
//! // A `$ref` to anything that is not registered fails at registration.
//! let err = registry.register("broken", json!({"$ref": "nowhere"})).unwrap_err();
//! assert!(matches!(err, Error::UnresolvableRef { .. }));
//!
//! registry.validate_json("job", r#"{"every": "1h30m"}"#)?.into_result()?;
//! let err = registry.validate_json("job", r#"{"every": 90}"#)?.into_result().unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "<input>:1:11: 90 is not of type \"string\" (at /every; schema `job` /properties/every/$ref/type)"
//! );
//! // Reports serialize to JSON for tools.
//! if let Error::Invalid(report) = err {
//!     assert_eq!(report.to_json()["errors"][0]["line"], 1);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Reference
//!
//! ## Operations and their costs
//!
//! `n` is the size of the document, `S` the total size of the registered schemas.
//!
//! | operation                                      | cost                                                                |
//! |------------------------------------------------|---------------------------------------------------------------------|
//! | [`register`](SchemaRegistry::register), [`register_all`](SchemaRegistry::register_all) | indexes every registered schema for `$ref` resolution (O(S)) and compiles the new ones; earlier schemas are not recompiled |
//! | [`register_builtins`](SchemaRegistry::register_builtins) | one `register_all` of the eight built-in schemas (about 50 kB)     |
//! | [`remove`](SchemaRegistry::remove)             | O(number of schemas)                                                |
//! | [`validate`](SchemaRegistry::validate) of a valid `Value` | one hash lookup of the name, `jsonschema`'s own `is_valid`, and a `Report` that shares the schema's name: no allocation |
//! | [`validate_json`](SchemaRegistry::validate_json), [`validate_yaml`](SchemaRegistry::validate_yaml) of a valid text | one parse into a `Value` (as `serde_json` / `yaml_serde` would), then as above |
//! | any validation of an invalid document          | the above, plus `jsonschema`'s error iteration, plus for text one more read of the text to find positions: O(n) for JSON, a saphyr parse for YAML |
//!
//! ## Line and column
//!
//! Lines and columns are 1-based; columns count characters, not bytes. A position is
//! that of the offending value's first character: the opening quote of a quoted
//! string, the `{` or `[` of a JSON container, the first key of a YAML block mapping,
//! the first item of a block sequence. For a violation about a key
//! (`additionalProperties`, `unevaluatedProperties`, `propertyNames`) it is the key.
//! A value that is a YAML `*alias` is reported at the alias; a value inside an
//! aliased collection, where the anchor defines it.
//! When saphyr reads a construct differently from yaml_serde and a pointer cannot be
//! followed to its end, the position is that of the deepest value on the way. When
//! saphyr cannot read the YAML at all although libyaml (under yaml_serde) could,
//! the violations have no line and column: libyaml is more lenient about
//! indentation, for example of the continuation lines of a quoted scalar
//! (`a:\n  b: "x\n  y"`) or of a flow collection (`a: {\nb: 1}`). Tabs saphyr
//! refuses are not such a case: they are read as spaces.
//!
//! ## The YAML to JSON mapping
//!
//! YAML is read by `yaml_serde` (the maintained continuation of `serde_yaml`) into the
//! JSON data model, the only one JSON Schema knows:
//!
//! | YAML                                     | JSON value                                  |
//! |------------------------------------------|---------------------------------------------|
//! | `null`, `~`, an empty value, an empty document | `null`                                |
//! | `true`, `false`                          | boolean (`yes`, `on`, `no` are strings, as in YAML 1.2) |
//! | `42`, `-7`, `0x1f`, `0o17`, `0b101`      | integer, kept an integer (64 bits); `-0` is `0` |
//! | `1.0`, `2.5e3`, `-0.0`                   | number; `1.0` equals `1`, as in JSON, so it is an `integer` (draft 6 and later) |
//! | `!!str 12`, `!!int '12'`, `!!float 1`    | what the YAML core tag says: `"12"`, `12`, `1.0` |
//! | any other plain or quoted scalar         | string: also YAML 1.1 forms (`017`, `1_000`, `0x_1f`), a float out of range (`1e400`), and `!!binary` data (its base64 text) |
//! | sequence                                 | array                                       |
//! | mapping with string keys                 | object, keys in document order              |
//! | `&anchor` ... `*alias`                   | a copy of the anchored value                |
//! | `<<: *base` (the YAML 1.1 merge key)     | an ordinary key named `<<`, not merged      |
//!
//! Refused, with [`Error::Unrepresentable`] naming line and column: a mapping key that
//! is not a string (`1: x`, `true: x`, `[a]: x`; quote it), `.nan`, `.inf`, `-.inf`
//! (quote them), an integer outside 64 bits, a custom tag (`!thing x`), and a key
//! repeated in one mapping (JSON parsers disagree about which value wins; its
//! position is where the mapping starts). JSON text gets the same checks for repeated
//! keys and for integers outside 64 bits, which `serde_json::Value` would otherwise
//! silently resolve or round; a JSON number out of `f64` range (`1e400`) is an
//! [`Error::Syntax`]. Flow
//! collections (`[...]`, `{...}`) nested more than 128 deep are an [`Error::Syntax`]
//! found by a linear pre-scan: libyaml's scanner would otherwise spend a minute on a
//! few hundred kilobytes of `[[[[`. A leading byte order mark is skipped (and takes
//! no column).
//!
//! A YAML stream of several `---`-separated documents is refused by
//! [`validate_yaml`](SchemaRegistry::validate_yaml) with
//! [`Error::MultipleDocuments`], because validating only the first would hide the
//! others; [`validate_yaml_stream`](SchemaRegistry::validate_yaml_stream) validates
//! each document and returns one report per document.
//!
//! ## Positions of any value
//!
//! The [`position`] module gives the line and column of any JSON pointer's value,
//! or of the key that names it, in JSON or YAML text, by the same readers and rules
//! as the positions of violations.
//!
//! ## Drafts, `$ref` and `format`
//!
//! Schemas without `$schema` are read as draft 2020-12 (or the registry's
//! [`default_draft`](SchemaRegistryBuilder::default_draft)); a `$schema` naming draft 4, 6,
//! 7, 2019-09 or 2020-12 is honoured. `$ref` resolves only between registered
//! schemas: `jsonschema` is built without its HTTP and file retrievers, so nothing is
//! ever fetched, and a reference that leads nowhere fails at registration with
//! [`Error::UnresolvableRef`]. `format` follows each draft's default (an annotation
//! in 2019-09 and 2020-12, an assertion before) unless
//! [`validate_formats`](SchemaRegistryBuilder::validate_formats) says otherwise.
//!
//! ## Messages
//!
//! Messages are `jsonschema`'s, with changes that make them point at the fix:
//! an unexpected property gets one violation per key, with the closest declared
//! property suggested (`did you mean `priority`?`); a failed `pattern` quotes the
//! `description` of its schema, when there is one, instead of the regular
//! expression; a short `enum` lists every option; and a failed `anyOf`/`oneOf` is
//! replaced by the errors of the one branch that accepts the value's type, when
//! exactly one does.
//!
//! ## Messages of combinators, and `x-message`
//!
//! A failed combinator says what would make the document valid: its message is
//! `HINT (DETAILS)`, the schema's own words first and then what the validator found
//! (`DETAILS` alone when the schema gives no hint):
//!
//! | failed keyword | `DETAILS` |
//! |----------------|-----------|
//! | `anyOf`, or `oneOf` with no alternative holding | that no alternative holds, and each alternative's own errors, numbered, at most three each |
//! | `oneOf` with several alternatives holding | which ones hold, and that exactly one must |
//! | `not` | the schema the value matched (without a hint: `jsonschema`'s message) |
//! | `dependentRequired`, draft 7's `dependencies` | `"tls_key" is required when "tls_cert" is present`, once, under that keyword |
//! | a keyword written directly in a `then` or `else` branch, or in the one `anyOf`/`oneOf` alternative reported instead of the combinator | its own message |
//!
//! The *hint* is the string under `x-message`, a keyword of ours (an annotation that
//! every other validator ignores), or else the `description`, of the schema object
//! that holds the combinator or of the nearest one around it that applies to the
//! same value: through `then`, `else`, `not`, `allOf`/`anyOf`/`oneOf` and
//! `dependentSchemas`, never through `properties`, `items` and the like, and not
//! through a `$ref`. Write `x-message` beside the combinator, as the rule a user
//! must follow:
//!
//! ```
//! use serde_json::json;
//! use ssot_schema::SchemaRegistry;
//!
//! # fn main() -> ssot_schema::Result<()> {
//! let mut registry = SchemaRegistry::new();
//! registry.register("job", json!({
//!     "properties": {"name": {}, "every": {}, "at": {}},
//!     "anyOf": [{"required": ["every"]}, {"required": ["at"]}],
//!     "x-message": "a job says when it runs: `every` (a duration) or `at` (a cron expression)"
//! }))?;
//! let report = registry.validate_yaml("job", "name: backup\n")?;
//! assert_eq!(
//!     report.errors()[0].message(),
//!     "a job says when it runs: `every` (a duration) or `at` (a cron expression) \
//!      (the object is valid under no alternative of `anyOf`: \
//!      1. \"every\" is a required property; 2. \"at\" is a required property)"
//! );
//! # Ok(())
//! # }
//! ```
//!
//! Every combinator of the built-in schemas has an `x-message`. None of this runs
//! for a valid document.
//!
//! ## Platforms
//!
//! Tested on Linux x86_64 only: the CI (`.ci/run`) runs there, with the stable
//! toolchain of its machine (Rust 1.95 today). The minimum supported Rust, 1.89, is
//! declared in `Cargo.toml` and not yet tested. The crate has no platform-specific
//! code and no `cfg` on the target: validation works on values in memory, and only
//! [`register_file`](SchemaRegistry::register_file) and
//! [`validate_file`](SchemaRegistry::validate_file) touch the file system, through
//! `std::fs::read_to_string`. It should therefore build and behave the same on macOS
//! and Windows, but nothing has run there; report what you find.
//!
//! ## Conformance
//!
//! The crate's tests run the official JSON Schema Test Suite (draft 2020-12 and
//! draft 7, required tests: 2,170 cases), each instance passed as a `Value`, as JSON
//! text and as YAML text, and all pass.

pub mod builtin;
mod error;
mod explain;
pub mod lines;
mod locate;
pub mod parse;
pub mod position;
mod registry;
mod report;

pub use error::{Error, Result};
pub use registry::{Draft, NAME_BASE, SchemaRegistry, SchemaRegistryBuilder};
pub use report::{Report, Violation};
