//! The table of task fields: their names, as JSON and YAML keys and CSV column
//! headers, and the order every format writes them in.

/// A known task field, in the order every format writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Id,
    Title,
    Priority,
    Status,
    Category,
    Description,
    Dependencies,
    CreatedAt,
    UpdatedAt,
    EstimatedTime,
    ActualTime,
    Tags,
}

impl Field {
    /// Every field, in writing order.
    pub(crate) const ALL: [Field; 12] = [
        Field::Id,
        Field::Title,
        Field::Priority,
        Field::Status,
        Field::Category,
        Field::Description,
        Field::Dependencies,
        Field::CreatedAt,
        Field::UpdatedAt,
        Field::EstimatedTime,
        Field::ActualTime,
        Field::Tags,
    ];

    /// The snake_case name used as key (JSON, YAML) or column header (CSV).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Title => "title",
            Field::Priority => "priority",
            Field::Status => "status",
            Field::Category => "category",
            Field::Description => "description",
            Field::Dependencies => "dependencies",
            Field::CreatedAt => "created_at",
            Field::UpdatedAt => "updated_at",
            Field::EstimatedTime => "estimated_time",
            Field::ActualTime => "actual_time",
            Field::Tags => "tags",
        }
    }

    /// The field named exactly `name`, if any.
    pub(crate) fn from_name(name: &str) -> Option<Field> {
        Some(match name {
            "id" => Field::Id,
            "title" => Field::Title,
            "priority" => Field::Priority,
            "status" => Field::Status,
            "category" => Field::Category,
            "description" => Field::Description,
            "dependencies" => Field::Dependencies,
            "created_at" => Field::CreatedAt,
            "updated_at" => Field::UpdatedAt,
            "estimated_time" => Field::EstimatedTime,
            "actual_time" => Field::ActualTime,
            "tags" => Field::Tags,
            _ => return None,
        })
    }

    /// The field's bit in a set of fields kept as a `u16`.
    pub(crate) fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_round_trip() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
        assert_eq!(Field::from_name("Title"), None);
    }
}
