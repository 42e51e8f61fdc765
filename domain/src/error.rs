use thiserror::Error;

use crate::text::Text;

/// Why a value from outside was refused. `field` names the input that was wrong
/// so that the edge can tell the caller exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    /// The name of the offending input, e.g. `lat` or `phone`.
    pub field: &'static str,
    /// Why, for a person (in English when displayed).
    pub message: Text,
}

impl DomainError {
    /// A refusal of `field` for `message`.
    pub fn new(field: &'static str, message: impl Into<Text>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
