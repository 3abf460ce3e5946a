//! Stamping: chosen values → XIMF header fields.
