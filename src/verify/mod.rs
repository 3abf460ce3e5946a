//! Header-level verification of a message against its XIMF instance.
