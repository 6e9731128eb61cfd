//! [`SchemaRegistry`]: named, compiled-once schemas that `$ref` each other, and the
//! validation entry points.
//!
//! # How schemas find each other
//!
//! Every schema gets a URI: the name itself when the name is an absolute URI
//! (`http://localhost:1234/integer.json`, to stand in for a remote document), else
//! its `$id` when it has an absolute one, else `https://ssot-schema.invalid/NAME`
//! (the `.invalid` top-level domain is reserved and never resolves). A `$id` inside
//! a schema is found too, as the specification says. A `$ref` is resolved against those URIs
//! only: `jsonschema` is built without its HTTP and file retrievers and the registry
//! refuses every retrieval, so a reference to anything not registered fails at
//! registration, naming the reference. Schemas without `$id` can refer to each other
//! by name (`{"$ref": "address"}` from schema `person` finds schema `address`).
//!
//! # Why registration recompiles nothing
//!
//! `jsonschema`'s [`Registry`](jsonschema::Registry) is immutable once prepared, and
//! a compiled `Validator` owns everything it needs. So each registration prepares a
//! resolution registry from every schema registered so far plus the new ones (cheap:
//! the documents are shared `Arc`s and only indexed), compiles the new schemas
//! against it, and drops it. Schemas compiled earlier are untouched, which is why a
//! schema can only refer to schemas registered before or together with it: to
//! register schemas that refer to each other in a cycle, use
//! [`SchemaRegistry::register_all`].

use std::path::Path;
use std::sync::Arc;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::error::Error;
use crate::explain;
use crate::locate::{self, Target};
use crate::parse;
use crate::report::{Report, Violation};

/// The base of the URIs of schemas registered without an absolute `$id`.
pub const NAME_BASE: &str = "https://ssot-schema.invalid/";

/// A JSON Schema draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Draft {
    /// Draft 4 (`http://json-schema.org/draft-04/schema#`).
    Draft4,
    /// Draft 6 (`http://json-schema.org/draft-06/schema#`).
    Draft6,
    /// Draft 7 (`http://json-schema.org/draft-07/schema#`).
    Draft7,
    /// Draft 2019-09 (`https://json-schema.org/draft/2019-09/schema`).
    Draft201909,
    /// Draft 2020-12 (`https://json-schema.org/draft/2020-12/schema`), the default.
    #[default]
    Draft202012,
}

impl Draft {
    fn to_jsonschema(self) -> jsonschema::Draft {
        match self {
            Draft::Draft4 => jsonschema::Draft::Draft4,
            Draft::Draft6 => jsonschema::Draft::Draft6,
            Draft::Draft7 => jsonschema::Draft::Draft7,
            Draft::Draft201909 => jsonschema::Draft::Draft201909,
            Draft::Draft202012 => jsonschema::Draft::Draft202012,
        }
    }
}

/// Options of a [`SchemaRegistry`], set before any schema is registered.
///
/// ```
/// use ssot_schema::{Draft, SchemaRegistry};
///
/// let registry = SchemaRegistry::builder()
///     .default_draft(Draft::Draft7)
///     .validate_formats(true)
///     .build();
/// # let _ = registry;
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct SchemaRegistryBuilder {
    draft: Draft,
    formats: Option<bool>,
}

impl SchemaRegistryBuilder {
    /// The draft of schemas that have no `$schema` (default: 2020-12). A schema's own
    /// `$schema` naming draft 4, 6, 7, 2019-09 or 2020-12 always wins.
    pub fn default_draft(mut self, draft: Draft) -> SchemaRegistryBuilder {
        self.draft = draft;
        self
    }

    /// Whether `format` is an assertion (`"format": "date-time"` rejects
    /// `"yesterday"`) or only an annotation. Unset, each draft's default applies:
    /// an annotation in 2019-09 and 2020-12, an assertion in drafts 4, 6 and 7.
    pub fn validate_formats(mut self, yes: bool) -> SchemaRegistryBuilder {
        self.formats = Some(yes);
        self
    }

    /// The empty registry.
    pub fn build(self) -> SchemaRegistry {
        SchemaRegistry {
            options: self,
            entries: Vec::new(),
            retired: Vec::new(),
            by_name: HashMap::default(),
            by_id: HashMap::default(),
        }
    }
}

/// Name lookups run once per validation: a fast hasher keeps them out of the
/// profile (the keys are the user's own schema names, not attacker input).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

struct Entry {
    /// Shared with every report, so that a valid document costs no allocation.
    name: Arc<str>,
    uri: String,
    id: Option<String>,
    schema: Arc<Value>,
    validator: Validator,
}

/// A set of named JSON Schemas, each compiled once, that validate values, JSON text
/// and YAML text and report every violation with its location.
///
/// See the [crate documentation](crate) for examples and the cost of each operation.
pub struct SchemaRegistry {
    options: SchemaRegistryBuilder,
    entries: Vec<Entry>,
    /// The URIs and documents of removed schemas, still offered to `$ref`
    /// resolution: `jsonschema` resolves every reference of every document when it
    /// prepares a resolution registry, so dropping a document that a remaining
    /// schema refers to would make every later registration fail.
    retired: Vec<(String, Arc<Value>)>,
    by_name: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
}

impl std::fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaRegistry")
            .field("options", &self.options)
            .field("schemas", &self.names().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for SchemaRegistry {
    fn default() -> Self {
        SchemaRegistry::new()
    }
}

impl SchemaRegistry {
    /// An empty registry with the default options (draft 2020-12, each draft's
    /// default for `format`).
    #[must_use]
    pub fn new() -> SchemaRegistry {
        SchemaRegistryBuilder::default().build()
    }

    /// Options for a new registry.
    pub fn builder() -> SchemaRegistryBuilder {
        // (A mutant returning `Default::default()` is this same value: equivalent.)
        SchemaRegistryBuilder::default()
    }

    /// The registered names, in registration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| &*e.name)
    }

    /// Whether `name_or_id` names a registered schema, by name or by `$id`.
    #[must_use]
    pub fn contains(&self, name_or_id: &str) -> bool {
        self.index(name_or_id).is_some()
    }

    /// The schema document registered under `name_or_id`.
    #[must_use]
    pub fn schema(&self, name_or_id: &str) -> Option<&Value> {
        self.index(name_or_id).map(|i| &*self.entries[i].schema)
    }

    /// The URI other schemas `$ref` the schema `name_or_id` by.
    #[must_use]
    pub fn uri(&self, name_or_id: &str) -> Option<&str> {
        self.index(name_or_id).map(|i| self.entries[i].uri.as_str())
    }

    /// Registers `schema` under `name`, compiling it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], [`Error::AlreadyRegistered`] (the name or the `$id`),
    /// [`Error::UnresolvableRef`], [`Error::InvalidSchema`]. On error nothing is
    /// registered.
    pub fn register(&mut self, name: &str, schema: Value) -> Result<(), Error> {
        self.register_all([(name, schema)])
    }

    /// Registers the JSON text `text` under `name`.
    ///
    /// # Errors
    ///
    /// [`Error::Syntax`] or [`Error::Unrepresentable`] for the text, then as
    /// [`register`](Self::register).
    pub fn register_json(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let schema = parse::read_json(text, name)?;
        self.register(name, schema)
    }

    /// Registers the YAML text `text` (one document) under `name`.
    ///
    /// # Errors
    ///
    /// As [`register_json`](Self::register_json), and [`Error::MultipleDocuments`].
    pub fn register_yaml(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let schema = parse::read_yaml(text, name)?;
        self.register(name, schema)
    }

    /// Registers the schema in the file at `path` (`.json`, `.yaml` or `.yml`) under
    /// `name`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`], [`Error::UnknownFormat`], then as
    /// [`register_json`](Self::register_json) / [`register_yaml`](Self::register_yaml).
    pub fn register_file(&mut self, name: &str, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let (text, yaml) = read_file(path)?;
        let source = path.display().to_string();
        let schema = if yaml {
            parse::read_yaml(&text, &source)?
        } else {
            parse::read_json(&text, &source)?
        };
        self.register(name, schema)
    }

    /// Registers several schemas at once, so that they may refer to each other in any
    /// order, cycles included. All or nothing: on error none is registered.
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register), for the first schema that fails.
    pub fn register_all<'n>(
        &mut self,
        schemas: impl IntoIterator<Item = (&'n str, Value)>,
    ) -> Result<(), Error> {
        let mut new: Vec<(String, String, Option<String>, Arc<Value>)> = Vec::new();
        for (name, schema) in schemas {
            check_name(name)?;
            // Who already answers to `key`, as a name or a `$id`: a registered schema or
            // one of this batch.
            let taken_by = |key: &str| {
                self.index(key)
                    .map(|i| self.entries[i].name.to_string())
                    .or_else(|| {
                        new.iter()
                            .find(|(n, _, id, _)| n == key || id.as_deref() == Some(key))
                            .map(|(n, ..)| n.clone())
                    })
            };
            if let Some(by) = taken_by(name) {
                return Err(Error::AlreadyRegistered {
                    name: name.to_owned(),
                    what: "name",
                    taken: name.to_owned(),
                    by,
                });
            }
            let id = absolute_id(&schema);
            if let Some(id) = &id
                && let Some(by) = taken_by(id)
            {
                return Err(Error::AlreadyRegistered {
                    name: name.to_owned(),
                    what: "$id",
                    taken: id.clone(),
                    by,
                });
            }
            let uri = match &id {
                _ if is_absolute_uri(name) => name.to_owned(),
                Some(id) => id.clone(),
                None => format!("{NAME_BASE}{name}"),
            };
            // Two documents at one URI would shadow each other in `$ref` resolution
            // (`$id: https://ssot-schema.invalid/x` beside a schema named `x`).
            let holder = self
                .entries
                .iter()
                .find(|e| e.uri == uri)
                .map(|e| e.name.to_string())
                .or_else(|| {
                    new.iter()
                        .find(|(_, u, ..)| *u == uri)
                        .map(|(n, ..)| n.clone())
                });
            if let Some(by) = holder {
                return Err(Error::AlreadyRegistered {
                    name: name.to_owned(),
                    what: "URI",
                    taken: uri,
                    by,
                });
            }
            new.push((name.to_owned(), uri, id, Arc::new(schema)));
        }
        if new.is_empty() {
            return Ok(());
        }
        let replaced = |uri: &str| new.iter().any(|(_, u, ..)| u == uri);
        let resources = self
            .entries
            .iter()
            .map(|e| (e.uri.as_str(), Arc::clone(&e.schema)))
            .chain(
                self.retired
                    .iter()
                    .filter(|(uri, _)| !replaced(uri))
                    .map(|(uri, s)| (uri.as_str(), Arc::clone(s))),
            )
            .chain(
                new.iter()
                    .map(|(_, uri, _, s)| (uri.as_str(), Arc::clone(s))),
            );
        // The resolution registry is prepared for the whole batch, so its errors
        // cannot always be pinned on one schema: name them all.
        let batch = if new.len() == 1 {
            new[0].0.clone()
        } else {
            new.iter()
                .map(|(n, ..)| n.as_str())
                .collect::<Vec<_>>()
                .join("`, `")
        };
        let resolution = jsonschema::Registry::new()
            .draft(self.options.draft.to_jsonschema())
            .extend(resources)
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|e| self.hint_by_name(referencing_error(&batch, &e)))?;
        let mut compiled = Vec::with_capacity(new.len());
        for (name, uri, id, schema) in new {
            let mut options = jsonschema::options()
                .offline()
                .with_registry(&resolution)
                .with_base_uri(uri.clone());
            if !has_known_schema_keyword(&schema) {
                options = options.with_draft(self.options.draft.to_jsonschema());
            }
            if let Some(yes) = self.options.formats {
                options = options.should_validate_formats(yes);
            }
            let validator = options
                .build(&schema)
                .map_err(|e| self.hint_by_name(compile_error(&name, &e)))?;
            compiled.push(Entry {
                name: name.into(),
                uri,
                id,
                schema,
                validator,
            });
        }
        self.retired
            .retain(|(uri, _)| !compiled.iter().any(|e| e.uri == *uri));
        for entry in compiled {
            let index = self.entries.len();
            self.by_name.insert(entry.name.to_string(), index);
            if let Some(id) = &entry.id {
                self.by_id.insert(id.clone(), index);
            }
            self.entries.push(entry);
        }
        Ok(())
    }

    /// Removes the schema `name_or_id`; returns whether it was registered.
    ///
    /// Its name and `$id` are free again: it can no longer be validated against,
    /// and another schema may be registered under them. Its document stays known to
    /// `$ref` resolution, by its URI, until a schema is registered at that URI: the
    /// schemas that refer to it keep working, and a schema registered later that
    /// refers to it still compiles. Costs O(number of schemas).
    pub fn remove(&mut self, name_or_id: &str) -> bool {
        let Some(index) = self.index(name_or_id) else {
            return false;
        };
        let removed = self.entries.remove(index);
        self.retired.push((removed.uri, removed.schema));
        self.by_name.clear();
        self.by_id.clear();
        for (i, e) in self.entries.iter().enumerate() {
            self.by_name.insert(e.name.to_string(), i);
            if let Some(id) = &e.id {
                self.by_id.insert(id.clone(), i);
            }
        }
        true
    }

    /// Registers every [built-in schema](crate::builtin) under its name.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyRegistered`] when a name or `$id` is taken (for example when
    /// called twice). The built-in schemas themselves always compile; a test proves it.
    pub fn register_builtins(&mut self) -> Result<(), Error> {
        let mut schemas = Vec::with_capacity(crate::builtin::ALL.len());
        for (name, text) in crate::builtin::ALL {
            schemas.push((name, parse::read_json(text, name)?));
        }
        self.register_all(schemas)
    }

    fn index(&self, name_or_id: &str) -> Option<usize> {
        self.by_name
            .get(name_or_id)
            .or_else(|| self.by_id.get(name_or_id.trim_end_matches('#')))
            .copied()
    }

    fn entry(&self, name_or_id: &str) -> Result<&Entry, Error> {
        self.index(name_or_id)
            .map(|i| &self.entries[i])
            .ok_or_else(|| Error::UnknownSchema {
                name: name_or_id.to_owned(),
                known: if self.entries.is_empty() {
                    "none".to_owned()
                } else {
                    self.names().collect::<Vec<_>>().join(", ")
                },
            })
    }

    // -----------------------------------------------------------------------
    // Validation.
    // -----------------------------------------------------------------------

    /// Validates `instance` against the schema `name` (a name or a `$id`).
    ///
    /// The report's violations have no line or column: a `Value` has no text.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownSchema`].
    pub fn validate(&self, name: &str, instance: &Value) -> Result<Report, Error> {
        let entry = self.entry(name)?;
        if entry.validator.is_valid(instance) {
            return Ok(Report::new(&entry.name, Vec::new()));
        }
        let (violations, _) = self.violations(entry, instance);
        Ok(Report::new(&entry.name, violations))
    }

    /// Validates JSON text against the schema `name`; every violation carries the
    /// line and column of the offending value.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownSchema`], [`Error::Syntax`], [`Error::Unrepresentable`] (a
    /// repeated key).
    pub fn validate_json(&self, name: &str, text: &str) -> Result<Report, Error> {
        self.json_with_source(name, text, "<input>")
    }

    /// Validates YAML text (one document; empty text is `null`) against the schema
    /// `name`; every violation carries the line and column of the offending value.
    /// See the [YAML mapping](crate#the-yaml-to-json-mapping).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownSchema`], [`Error::Syntax`], [`Error::Unrepresentable`],
    /// [`Error::MultipleDocuments`].
    pub fn validate_yaml(&self, name: &str, text: &str) -> Result<Report, Error> {
        self.yaml_with_source(name, text, "<input>")
    }

    /// Validates each document of a YAML stream (`---`-separated) against the schema
    /// `name`: one report per document, each with its [`document`](Report::document)
    /// index, lines counted from the start of the stream. A stream without any
    /// document (empty, or only comments) is one `null` document, as for
    /// [`validate_yaml`](Self::validate_yaml): an empty file is never passed over.
    ///
    /// # Errors
    ///
    /// As [`validate_yaml`](Self::validate_yaml), for the first document that cannot
    /// be read; no report is returned then.
    pub fn validate_yaml_stream(&self, name: &str, text: &str) -> Result<Vec<Report>, Error> {
        let entry = self.entry(name)?;
        let documents = parse::read_yaml_stream(text, "<input>")?;
        // Loaded once, at the first invalid document, for all of them: loading the
        // whole stream again for each would make a stream of invalid documents cost
        // O(documents x text).
        let detabbed = std::cell::OnceCell::new();
        let marked = std::cell::OnceCell::new();
        let source = locate::Source::new(text);
        Ok(documents
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let mut report = self.text_report(entry, value, |targets| {
                    let docs = marked.get_or_init(|| locate::load_yaml(text, &detabbed));
                    locate::locate_yaml_in(&source, docs.as_deref(), i, targets, false)
                });
                report.document = Some(i);
                report
            })
            .collect())
    }

    /// Validates the file at `path`, read as JSON (`.json`) or YAML (`.yaml`,
    /// `.yml`); the report renders with the path (`path:line:col: message`).
    ///
    /// # Errors
    ///
    /// [`Error::Io`], [`Error::UnknownFormat`], then as
    /// [`validate_json`](Self::validate_json) / [`validate_yaml`](Self::validate_yaml).
    pub fn validate_file(&self, name: &str, path: impl AsRef<Path>) -> Result<Report, Error> {
        let path = path.as_ref();
        self.entry(name)?;
        let (text, yaml) = read_file(path)?;
        let source = path.display().to_string();
        let report = if yaml {
            self.yaml_with_source(name, &text, &source)?
        } else {
            self.json_with_source(name, &text, &source)?
        };
        Ok(report.with_source(source))
    }

    fn json_with_source(&self, name: &str, text: &str, source: &str) -> Result<Report, Error> {
        let entry = self.entry(name)?;
        let value = parse::read_json(text, source)?;
        Ok(self.text_report(entry, &value, |targets| locate::locate_json(text, targets)))
    }

    fn yaml_with_source(&self, name: &str, text: &str, source: &str) -> Result<Report, Error> {
        let entry = self.entry(name)?;
        let value = parse::read_yaml(text, source)?;
        Ok(self.text_report(entry, &value, |targets| {
            locate::locate_yaml(text, 0, targets)
        }))
    }

    /// Validates `value` read from text; `locate` is called only when it is invalid.
    fn text_report(
        &self,
        entry: &Entry,
        value: &Value,
        locate: impl FnOnce(&[Target]) -> Vec<Option<locate::Position>>,
    ) -> Report {
        if entry.validator.is_valid(value) {
            return Report::new(&entry.name, Vec::new());
        }
        let (mut violations, targets) = self.violations(entry, value);
        for (v, p) in violations.iter_mut().zip(locate(&targets)) {
            if let Some((line, column)) = p {
                v.line = Some(line);
                v.column = Some(column);
            }
        }
        Report::new(&entry.name, violations)
    }

    /// Every violation of `instance`, and for each what to locate in the text.
    fn violations(&self, entry: &Entry, instance: &Value) -> (Vec<Violation>, Vec<Target>) {
        let mut violations = Vec::new();
        let mut targets = Vec::new();
        let mut errors = Vec::new();
        for error in entry.validator.iter_errors(instance) {
            expand(error, &mut errors);
        }
        for error in errors {
            let instance_location = error.instance_path().as_str().to_owned();
            let schema_location = error.evaluation_path().as_str().to_owned();
            let absolute = error
                .absolute_keyword_location()
                .map(|u| u.as_str().to_owned());
            let mut keyword = error.kind().keyword().to_owned();
            let unexpected = match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected }
                | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                    Some(unexpected.clone())
                }
                // `jsonschema` checks `"additionalProperties": false` in a schema
                // without `properties` or `patternProperties` as a false schema
                // applied to the first property only: one error, located at the
                // object, that shows the first value ("False schema does not allow
                // 1"). Every key of that object is unexpected: say so, key by key.
                // The guard only spares the pointer lookup: any other false schema
                // is reported with the value at its own location, which the filter
                // below already turns away (so a mutant dropping it is equivalent).
                ValidationErrorKind::FalseSchema
                    if schema_location.ends_with("/additionalProperties") =>
                {
                    instance
                        .pointer(&instance_location)
                        .filter(|object| **error.instance() != **object)
                        .and_then(Value::as_object)
                        .map(|object| {
                            keyword = "additionalProperties".to_owned();
                            object.keys().cloned().collect()
                        })
                }
                _ => None,
            };
            match unexpected {
                // `jsonschema` never reports an empty list of unexpected keys; were
                // it to, the generic arm below keeps the violation from vanishing
                // (no test can make it happen: a mutant dropping the guard survives).
                Some(keys) if !keys.is_empty() => {
                    for key in &keys {
                        let hint = absolute
                            .as_deref()
                            .and_then(|a| self.suggest(a, key))
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default();
                        violations.push(Violation {
                            instance_location: instance_location.clone(),
                            schema_location: schema_location.clone(),
                            absolute_schema_location: absolute.clone(),
                            keyword: keyword.clone(),
                            message: format!("property `{key}` is not allowed here{hint}"),
                            line: None,
                            column: None,
                        });
                        targets.push(Target {
                            pointer: instance_location.clone(),
                            key: Some(key.clone()),
                        });
                    }
                }
                _ => {
                    let mut message = message(&error);
                    if keyword == "pattern"
                        && let Some(expected) = absolute.as_deref().and_then(|a| self.described(a))
                    {
                        message = format!(
                            "{} does not have the expected form: {expected}",
                            error.instance()
                        );
                    }
                    if let Some((renamed, explained)) = explain::explain(
                        &error,
                        instance,
                        |base| self.document(base),
                        self::message,
                    ) {
                        message = explained;
                        if let Some(renamed) = renamed {
                            keyword = renamed;
                            // `jsonschema` reports a missing key once per key that
                            // requires it, without saying which: the explained
                            // message names them all, once.
                            if violations.iter().any(|v: &Violation| {
                                v.instance_location == instance_location
                                    && v.keyword == keyword
                                    && v.message == message
                            }) {
                                continue;
                            }
                        }
                    }
                    // A bad property name is pointed at where the key is written.
                    let key = match error.kind() {
                        ValidationErrorKind::PropertyNames { error } => {
                            error.instance().as_str().map(str::to_owned)
                        }
                        _ => None,
                    };
                    violations.push(Violation {
                        message,
                        instance_location: instance_location.clone(),
                        schema_location,
                        absolute_schema_location: absolute,
                        keyword,
                        line: None,
                        column: None,
                    });
                    targets.push(Target {
                        pointer: instance_location,
                        key,
                    });
                }
            }
        }
        (violations, targets)
    }

    /// Adds to an unresolvable `$ref` to `NAME_BASE` + `name`, where `name` is a
    /// schema registered under another URI (its `$id`), how to refer to it.
    fn hint_by_name(&self, error: Error) -> Error {
        let Error::UnresolvableRef { name, reason } = error else {
            return error;
        };
        let hint = self.entries.iter().find(|e| {
            e.uri != format!("{NAME_BASE}{}", e.name)
                && reason.contains(&format!("'{NAME_BASE}{}'", e.name))
        });
        let reason = match hint {
            Some(e) => format!(
                "{reason}; schema `{}` is registered with `$id` `{}`: refer to it by that",
                e.name, e.uri
            ),
            None => reason,
        };
        Error::UnresolvableRef { name, reason }
    }

    /// The registered document whose URI or `$id` is `base`.
    fn document(&self, base: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|e| e.uri == base || e.id.as_deref() == Some(base))
            .map(|e| &*e.schema)
    }

    /// The `description` of the schema holding the keyword at `absolute`.
    fn described(&self, absolute: &str) -> Option<&str> {
        let (base, fragment) = absolute.split_once('#')?;
        let schema = self
            .entries
            .iter()
            .find(|e| e.uri == base || e.id.as_deref() == Some(base))?;
        let parent = fragment.rsplit_once('/')?.0;
        schema.schema.pointer(parent)?.get("description")?.as_str()
    }

    /// The declared property closest to the unexpected `key`, for the
    /// `additionalProperties` keyword at `absolute` (`uri#/pointer/additionalProperties`).
    fn suggest(&self, absolute: &str, key: &str) -> Option<String> {
        let (base, fragment) = absolute.split_once('#')?;
        let schema = self
            .entries
            .iter()
            .find(|e| e.uri == base || e.id.as_deref() == Some(base))?;
        let parent = fragment.rsplit_once('/')?.0;
        let properties = schema
            .schema
            .pointer(parent)?
            .get("properties")?
            .as_object()?;
        let limit = (key.chars().count() / 3).clamp(1, 3);
        properties
            .keys()
            .map(|p| (strsim::levenshtein(p, key), p))
            .filter(|(d, _)| *d <= limit)
            .min_by_key(|(d, _)| *d)
            .map(|(_, p)| p.clone())
    }
}

/// Replaces an `anyOf`/`oneOf` failure by the errors of the one branch that was
/// meant, when one can tell: the only branch that does not fail on the type of the
/// value itself. `{"anyOf": [{"type": "string", "pattern": ...}, {"type": "null"}]}`
/// given `"x y"` then reports the pattern, not "not valid under any of the schemas".
/// Otherwise the `anyOf`/`oneOf` error is kept as it is.
fn expand(error: ValidationError<'_>, out: &mut Vec<ValidationError<'static>>) {
    let branches = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            context
        }
        _ => {
            out.push(error.to_owned());
            return;
        }
    };
    let at = error.instance_path().as_str();
    let mut meant = branches.iter().enumerate().filter(|(_, branch)| {
        !branch.is_empty()
            && !branch.iter().any(|e| {
                matches!(e.kind(), ValidationErrorKind::Type { .. })
                    && e.instance_path().as_str() == at
            })
    });
    let only = match (meant.next(), meant.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    };
    let Some(i) = only else {
        out.push(error.to_owned());
        return;
    };
    if let ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } =
        error.into_parts().kind
    {
        for e in context.into_iter().nth(i).unwrap_or_default() {
            expand(e, out);
        }
    }
}

/// The error's message; a container instance is not printed whole, and a short
/// `enum` lists every option (`jsonschema` shows two and counts the rest).
fn message(error: &ValidationError<'_>) -> String {
    if let ValidationErrorKind::Enum { options } = error.kind()
        && let Some(options) = options.as_array()
        && options.len() <= 12
        && !error.instance().is_object()
        && !error.instance().is_array()
    {
        let listed: Vec<String> = options.iter().map(Value::to_string).collect();
        return format!("{} is not one of {}", error.instance(), listed.join(", "));
    }
    if matches!(&**error.instance(), Value::Object(_) | Value::Array(_)) {
        let placeholder = if error.instance().is_object() {
            "the object"
        } else {
            "the array"
        };
        error.masked_with(placeholder).to_string()
    } else {
        error.to_string()
    }
}

fn check_name(name: &str) -> Result<(), Error> {
    // A name is a URI path below `NAME_BASE`: an empty, `.` or `..` segment would
    // be normalized away by `$ref` resolution, so `x/../y` would silently take the
    // place of `y`.
    let simple = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && name.split('/').all(|s| !matches!(s, "" | "." | ".."));
    let uri = is_absolute_uri(name) && !name.chars().any(char::is_whitespace);
    if simple || uri {
        Ok(())
    } else {
        Err(Error::InvalidName {
            name: name.to_owned(),
        })
    }
}

/// `scheme:rest`, with a scheme as RFC 3986 spells it.
fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    !rest.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The schema's `$id` (or draft 4 `id`) when it is an absolute URI, without a
/// trailing empty fragment.
fn absolute_id(schema: &Value) -> Option<String> {
    let obj = schema.as_object()?;
    let id = obj
        .get("$id")
        .or_else(|| obj.get("id").filter(|_| !obj.contains_key("$id")))?
        .as_str()?;
    let id = id.trim_end_matches('#');
    is_absolute_uri(id).then(|| id.to_owned())
}

/// Whether the schema names, with `$schema`, a draft `jsonschema` knows.
fn has_known_schema_keyword(schema: &Value) -> bool {
    schema
        .get("$schema")
        .and_then(Value::as_str)
        .is_some_and(|s| {
            let s = s.trim_end_matches('#');
            [
                "http://json-schema.org/draft-04/schema",
                "http://json-schema.org/draft-06/schema",
                "http://json-schema.org/draft-07/schema",
                "https://json-schema.org/draft/2019-09/schema",
                "https://json-schema.org/draft/2020-12/schema",
            ]
            .contains(&s)
        })
}

fn referencing_error(name: &str, e: &jsonschema::ReferencingError) -> Error {
    match e {
        jsonschema::ReferencingError::Unretrievable { .. }
        | jsonschema::ReferencingError::PointerToNowhere { .. }
        | jsonschema::ReferencingError::NoSuchAnchor { .. } => Error::UnresolvableRef {
            name: name.to_owned(),
            reason: e.to_string(),
        },
        _ => Error::InvalidSchema {
            name: name.to_owned(),
            reason: e.to_string(),
        },
    }
}

fn compile_error(name: &str, e: &ValidationError<'_>) -> Error {
    match e.kind() {
        ValidationErrorKind::Referencing(r) => referencing_error(name, r),
        _ => Error::InvalidSchema {
            name: name.to_owned(),
            reason: match e.instance_path().as_str() {
                "" => e.to_string(),
                at => format!("at {at}: {e}"),
            },
        },
    }
}

/// Reads a file; `true` when its extension says YAML.
fn read_file(path: &Path) -> Result<(String, bool), Error> {
    let yaml = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => false,
        Some("yaml" | "yml") => true,
        _ => {
            return Err(Error::UnknownFormat {
                path: path.to_owned(),
            });
        }
    };
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok((text, yaml))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<SchemaRegistry>();
        shared::<Report>();
        shared::<Error>();
    }

    #[test]
    fn names_are_simple_words_or_absolute_uris() {
        assert!(check_name("task").is_ok());
        assert!(check_name("ssot/task-list.v1").is_ok());
        assert!(check_name("http://localhost:1234/integer.json").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("two words").is_err());
        assert!(check_name("/abs").is_err());
        for shadowing in ["x/../y", "./y", "a//b", "a/", ".", ".."] {
            assert!(check_name(shadowing).is_err(), "{shadowing}");
        }
        assert!(check_name("v1.2/.hidden-ok").is_ok());
    }
}
