//! The message as bytes, plus a parsed view (filled by the message-core work).
pub mod eol;
