//! Deserialization: the visitors that read a document into [`Draft`]s.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use ssot_schema::lines::LineCounter;
use ssot_schema::parse::StrictValue;

use super::context::{Ctx, Parsed};
use crate::format::field::Field;
use crate::format::ids::{Draft, placeholder_id};
use crate::format::kind::Format;
use crate::format::value::{
    parse_duration, parse_id, parse_priority, parse_status, parse_tag, parse_timestamp,
};
use crate::task::{Extra, Status, Task};

impl Ctx<'_> {
    /// Reads a whole document with `de`. On error, pass the deserializer's error to
    /// [`Ctx::error`].
    pub(crate) fn read<'de, D: Deserializer<'de>>(&self, de: D) -> Result<Parsed, D::Error> {
        DocumentSeed { ctx: self }.deserialize(de)
    }
}

/// A whole document: a list of tasks, or a map with a `tasks` list.
struct DocumentSeed<'c, 't> {
    ctx: &'c Ctx<'t>,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = Parsed;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Parsed, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_, '_> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of tasks, or a map with a `tasks` list")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Parsed, E> {
        // An empty YAML document (or a bare `null`, `~`) is an empty list; JSON has no
        // empty document and its `null` is not a task list.
        if self.ctx.format == Format::Yaml {
            Ok((Vec::new(), None))
        } else {
            Err(de::Error::invalid_type(de::Unexpected::Unit, &self))
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Parsed, E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Parsed, A::Error> {
        let drafts = TasksSeed { ctx: self.ctx }.visit_seq(seq)?;
        Ok((drafts, None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let ctx = self.ctx;
        let mut tasks = None;
        let mut document = Extra::new();
        while let Some(key) = map.next_key_seed(KeySeed { ctx })? {
            let at = key.offset;
            let key = key.text.into_owned();
            if key == "tasks" {
                if tasks.is_some() {
                    ctx.blame("tasks");
                    ctx.point_at(at);
                    return Err(ctx.fail("key `tasks` appears twice".to_owned()));
                }
                let drafts = map
                    .next_value_seed(OptionalTasks { ctx })
                    .inspect_err(|_| {
                        if !ctx.failure.borrow().in_task {
                            ctx.blame("tasks");
                        }
                    })?;
                tasks = Some(drafts);
            } else {
                let value = map
                    .next_value_seed(StrictValue::new(&ctx.refusal))
                    .inspect_err(|_| {
                        ctx.blame(&key);
                    })?;
                if document.contains_key(&key) {
                    let message = format!("top-level key `{key}` appears twice");
                    ctx.blame(&key);
                    ctx.point_at(at);
                    return Err(ctx.fail(message));
                }
                document.insert(key, value);
            }
        }
        match tasks {
            Some(drafts) => Ok((drafts, Some(document))),
            None => Err(ctx.fail(
                "the top-level map has no `tasks` key; a task list is a list of tasks, \
                 or a map whose `tasks` key holds that list"
                    .to_owned(),
            )),
        }
    }
}

/// The value of a top-level `tasks` key: a list, or null for an empty one.
struct OptionalTasks<'c, 't> {
    ctx: &'c Ctx<'t>,
}

impl<'de> DeserializeSeed<'de> for OptionalTasks<'_, '_> {
    type Value = Vec<Draft>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Vec<Draft>, D::Error> {
        de.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalTasks<'_, '_> {
    type Value = Vec<Draft>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of tasks")
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<Draft>, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<Draft>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Vec<Draft>, D::Error> {
        de.deserialize_seq(TasksSeed { ctx: self.ctx })
    }
}

/// A list of tasks.
struct TasksSeed<'c, 't> {
    ctx: &'c Ctx<'t>,
}

impl<'de> Visitor<'de> for TasksSeed<'_, '_> {
    type Value = Vec<Draft>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of tasks")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Draft>, A::Error> {
        // serde_json and yaml_serde do not know the length of a list up front, and
        // growing a vector of tasks, a few hundred bytes each, by doubling would copy
        // every task about twice, into freshly faulted memory: a fifth of a parse.
        // Reserve for a task per 128 bytes of input instead. Tasks are rarely smaller;
        // when they are larger, the excess is address space that is never touched, and
        // the vector is dropped once ids are resolved.
        let text = self.ctx.text.len();
        let reserve = seq.size_hint().unwrap_or(text / 128).min(text / 2);
        let mut drafts = Vec::with_capacity(reserve);
        let mut lines = self
            .ctx
            .count_lines
            .then(|| LineCounter::new(self.ctx.text));
        let mut previous = 1;
        while seq
            .next_element_seed(TaskSeed {
                ctx: self.ctx,
                out: &mut drafts,
            })?
            .is_some()
        {
            let (Some(lines), Some(draft)) = (&mut lines, drafts.last_mut()) else {
                continue;
            };
            // `line` holds the task's offset. A task whose every key was escaped has
            // none: give it the previous task's line.
            draft.line = match draft.line {
                usize::MAX => previous,
                offset => lines.line_of(offset),
            };
            previous = draft.line;
        }
        Ok(drafts)
    }
}

/// One task, pushed onto `out` rather than returned: a task is a few hundred bytes,
/// and handing it back through the deserializer's layers of `Result` copies it each
/// time.
///
/// When lines are counted, the draft's `line` holds the byte offset of the task's
/// start (`usize::MAX` when unknown), which [`TasksSeed`] turns into a line;
/// otherwise it is 0.
struct TaskSeed<'c, 't, 'o> {
    ctx: &'c Ctx<'t>,
    out: &'o mut Vec<Draft>,
}

impl<'de> DeserializeSeed<'de> for TaskSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        let ctx = self.ctx;
        de.deserialize_map(self).inspect_err(|_| {
            ctx.failure.borrow_mut().in_task = true;
        })
    }
}

impl<'de> Visitor<'de> for TaskSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a task: a map of fields, with at least a `title`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let index = self.out.len();
        let mut task = Task::new(placeholder_id(), String::new());
        let mut explicit = false;
        let mut status = None;
        let mut seen = 0u16;
        let mut start = None;
        while let Some(key) = map.next_key_seed(KeySeed { ctx })? {
            if start.is_none() {
                start = key.offset;
            }
            let field = match Field::from_name(&key.text) {
                Some(field) => field,
                None => {
                    let name = key.text.into_owned();
                    let value = map
                        .next_value_seed(StrictValue::new(&ctx.refusal))
                        .inspect_err(|_| {
                            ctx.blame(&name);
                        })?;
                    if task.extra.contains_key(&name) {
                        ctx.blame(&name);
                        ctx.point_at(key.offset);
                        return Err(ctx.fail(format!("field `{name}` appears twice in this task")));
                    }
                    task.extra.insert(name, value);
                    continue;
                }
            };
            if seen & field.bit() != 0 {
                ctx.blame(field.name());
                ctx.point_at(key.offset);
                return Err(ctx.fail(format!(
                    "field `{}` appears twice in this task",
                    field.name()
                )));
            }
            seen |= field.bit();
            read_field(ctx, &mut map, &mut task, field, &mut explicit, &mut status).inspect_err(
                |_| {
                    ctx.blame(field.name());
                },
            )?;
        }
        if seen & Field::Title.bit() == 0 {
            let which = if explicit {
                format!("the task at index {index} (id `{}`)", task.id)
            } else {
                format!("the task at index {index}")
            };
            if let Some(start) = start {
                ctx.failure.borrow_mut().offset = Some(ctx.task_start(start));
            }
            ctx.blame("title");
            return Err(ctx.fail(format!(
                "{which} has no `title`; every task needs one (it is the only required field)"
            )));
        }
        if let Some(status) = status {
            task = task.with_status(status);
        }
        self.out.push(Draft {
            task,
            explicit,
            line: match (ctx.count_lines, start) {
                (false, _) => 0,
                (true, Some(start)) => ctx.task_start(start),
                (true, None) => usize::MAX,
            },
        });
        Ok(())
    }
}

/// Reads the value of known `field` into `task`.
fn read_field<'de, A: MapAccess<'de>>(
    ctx: &Ctx<'_>,
    map: &mut A,
    task: &mut Task,
    field: Field,
    explicit: &mut bool,
    status: &mut Option<Status>,
) -> Result<(), A::Error> {
    match field {
        Field::Id => {
            if let Some(id) = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_id,
                what: "a task id",
            }))? {
                task.id = id;
                *explicit = true;
            }
        }
        Field::Title => task.title = map.next_value_seed(Title { ctx })?,
        Field::Priority => {
            if let Some(p) = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_priority,
                what: "a priority name",
            }))? {
                task.priority = p;
            }
        }
        Field::Status => {
            *status = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_status,
                what: "a status name",
            }))?
        }
        Field::Category => task.category = map.next_value::<Option<String>>()?.unwrap_or_default(),
        Field::Description => {
            task.description = map.next_value::<Option<String>>()?.unwrap_or_default();
        }
        Field::Dependencies => {
            task.dependencies = map
                .next_value_seed(Opt(List(Text {
                    ctx,
                    parse: parse_id,
                    what: "a task id",
                })))?
                .unwrap_or_default();
        }
        Field::CreatedAt => {
            task.created_at = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_timestamp,
                what: "an RFC 3339 timestamp",
            }))?;
        }
        Field::UpdatedAt => {
            task.updated_at = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_timestamp,
                what: "an RFC 3339 timestamp",
            }))?;
        }
        Field::EstimatedTime => {
            task.estimated_time = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_duration,
                what: "a duration",
            }))?;
        }
        Field::ActualTime => {
            task.actual_time = map.next_value_seed(Opt(Text {
                ctx,
                parse: parse_duration,
                what: "a duration",
            }))?;
        }
        Field::Tags => {
            task.tags = map
                .next_value_seed(Opt(List(Text {
                    ctx,
                    parse: parse_tag,
                    what: "a tag",
                })))?
                .unwrap_or_default();
        }
    }
    Ok(())
}

/// A map key: its text, borrowed from the input where possible, and its offset in
/// the input when it is a slice of it.
struct Key<'de> {
    text: std::borrow::Cow<'de, str>,
    offset: Option<usize>,
}

/// A map key, which must be a string.
///
/// Keys are read with `deserialize_any`, not `deserialize_str`, so that a YAML key
/// that is not a string (`1:`, `true:`, `~:`) is an error rather than silently
/// becoming the string `"1"` and being written back quoted.
struct KeySeed<'c, 't> {
    ctx: &'c Ctx<'t>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Key<'de>, D::Error> {
        de.deserialize_any(self)
    }
}

impl KeySeed<'_, '_> {
    fn not_a_string<E: de::Error>(&self, shown: &dyn fmt::Display) -> E {
        self.ctx.fail(format!(
            "map key `{shown}` is not a string; quote it (`\"{shown}\"`) to use it as a field name"
        ))
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name (a string)")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key {
            text: std::borrow::Cow::Borrowed(v),
            offset: self.ctx.offset_of(v),
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key {
            text: std::borrow::Cow::Owned(v.to_owned()),
            offset: None,
        })
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key {
            text: std::borrow::Cow::Owned(v),
            offset: None,
        })
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key<'de>, E> {
        Err(self.not_a_string(&v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Key<'de>, E> {
        Err(self.ctx.fail(
            "map key is null (or empty), not a string; quote it (`\"null\"`) to use it as a field name"
                .to_owned(),
        ))
    }
}

/// The title: a string, possibly empty, but not null (nor, in YAML, left without a
/// value): a task must have one.
struct Title<'c, 't> {
    ctx: &'c Ctx<'t>,
}

impl<'de> DeserializeSeed<'de> for Title<'_, '_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<String, D::Error> {
        de.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Title<'_, '_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Err(self.ctx.fail(
            "the title is null (or has no value); every task needs one, even if it is an empty string"
                .to_owned(),
        ))
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<String, D::Error> {
        de.deserialize_string(TitleText)
    }
}

struct TitleText;

impl Visitor<'_> for TitleText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
}

/// Something deserialized from `null` (or a missing YAML value) as `None`.
struct Opt<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Opt<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Opt<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(de).map(Some)
    }
}

/// A string parsed by `parse`, whose error message becomes the parse error's.
struct Text<'c, 't, T> {
    ctx: &'c Ctx<'t>,
    parse: fn(&str) -> Result<T, String>,
    /// What the string is, for "invalid type" messages: `a task id`.
    what: &'static str,
}

impl<T> Clone for Text<'_, '_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Text<'_, '_, T> {}

impl<'de, T> DeserializeSeed<'de> for Text<'_, '_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<T, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de, T> Visitor<'de> for Text<'_, '_, T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (a string)", self.what)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<T, E> {
        (self.parse)(v).map_err(|m| self.ctx.fail_at(m, v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(|m| self.ctx.fail(m))
    }
}

/// A list of `S`.
struct List<S>(S);

impl<'de, S: DeserializeSeed<'de> + Copy> DeserializeSeed<'de> for List<S> {
    type Value = Vec<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de, S: DeserializeSeed<'de> + Copy> Visitor<'de> for List<S> {
    type Value = Vec<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(self.0)? {
            out.push(item);
        }
        Ok(out)
    }
}
