//! The two kinds of name in a store: [`ObjectHash`] for file contents and
//! [`VersionId`] for versions.
//!
//! Both are content addresses. An object is named by the BLAKE3 hash of its bytes, so
//! identical content is stored once. A version is named by the first 128 bits of the
//! BLAKE3 hash of its manifest file, so a manifest can be checked against its own name
//! and two different versions cannot share an id. Ids print as 32 lowercase hex digits;
//! any unique prefix of one resolves to it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// The BLAKE3 hash of a file's bytes: the name of the object that stores them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectHash([u8; 32]);

impl ObjectHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> ObjectHash {
        ObjectHash(*blake3::hash(bytes).as_bytes())
    }

    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> ObjectHash {
        ObjectHash(bytes)
    }

    /// The 32 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hex digits (either case); `None` for anything else.
    pub fn from_hex(text: &str) -> Option<ObjectHash> {
        blake3::Hash::from_hex(text)
            .ok()
            .map(|h| ObjectHash(*h.as_bytes()))
    }
}

impl fmt::Display for ObjectHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&blake3::Hash::from_bytes(self.0).to_hex())
    }
}

impl fmt::Debug for ObjectHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectHash({self})")
    }
}

impl Serialize for ObjectHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ObjectHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ObjectHash::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a 64-digit hex hash")))
    }
}

/// The id of a version: 32 lowercase hex digits naming its manifest's content.
///
/// Any unique prefix resolves to the version
/// ([`VersionStore::resolve`](crate::VersionStore::resolve)); [`VersionId::short`]
/// gives the 12-digit prefix to show people.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionId(String);

impl VersionId {
    /// The number of hex digits in an id.
    pub const LEN: usize = 32;

    /// The id of the manifest whose file holds exactly `bytes`.
    pub(crate) fn of_manifest(bytes: &[u8]) -> VersionId {
        VersionId(blake3::hash(bytes).to_hex()[..Self::LEN].to_owned())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for display; resolve it back with
    /// [`VersionStore::resolve`](crate::VersionStore::resolve).
    pub fn short(&self) -> &str {
        &self.0[..12]
    }

    /// Whether `text` is a full id: 32 lowercase hex digits.
    pub(crate) fn is_valid(text: &str) -> bool {
        text.len() == Self::LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

impl FromStr for VersionId {
    type Err = Error;

    /// Parses a full id (32 lowercase hex digits). To look up a prefix or a tag, use
    /// [`VersionStore::resolve`](crate::VersionStore::resolve).
    fn from_str(text: &str) -> Result<VersionId, Error> {
        if VersionId::is_valid(text) {
            Ok(VersionId(text.to_owned()))
        } else {
            Err(Error::UnknownVersion {
                spec: text.to_owned(),
            })
        }
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VersionId({})", self.0)
    }
}

impl AsRef<str> for VersionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_hash_round_trips_through_hex() {
        let h = ObjectHash::of(b"hello");
        assert_eq!(ObjectHash::from_hex(&h.to_string()), Some(h));
        assert_eq!(ObjectHash::from_hex(&h.to_string().to_uppercase()), Some(h));
        assert_eq!(ObjectHash::from_hex("zz"), None);
        assert_eq!(ObjectHash::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn hex_is_blake3_lowercase_hex_as_stores_already_hold_it() {
        // The BLAKE3 test vector for "abc": ids and object names written by earlier
        // builds (which formatted hex by hand) must read the same.
        let abc = "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85";
        assert_eq!(ObjectHash::of(b"abc").to_string(), abc);
        assert_eq!(VersionId::of_manifest(b"abc").as_str(), &abc[..32]);
        assert_eq!(
            format!("{:?}", ObjectHash::of(b"abc")),
            format!("ObjectHash({abc})")
        );
    }

    #[test]
    fn version_ids_are_32_lowercase_hex_digits() {
        let id = VersionId::of_manifest(b"{}");
        assert!(VersionId::is_valid(id.as_str()));
        assert_eq!(id.short().len(), 12);
        assert_eq!(id.as_str().parse::<VersionId>().unwrap(), id);
        assert!("ABC".parse::<VersionId>().is_err());
    }
}
