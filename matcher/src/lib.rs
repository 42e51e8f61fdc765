//! The in-memory volunteer index used by the dispatcher (see the matcher issue).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
