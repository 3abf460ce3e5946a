//! XIMF profiles (filled by the profile-engine work).
pub mod model;
