//! The configuration file, which every command reads: it moved to [`crate::config`] and is
//! re-exported here so `ximf::sendmail::config::Config` keeps working.

pub use crate::config::*;
