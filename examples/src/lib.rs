//! Examples live beside this crate's manifest; this library is empty on purpose.
