use thiserror::Error;

/// Why a value from outside was refused. `field` names the input that was wrong
/// so that the edge can tell the caller exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    /// The name of the offending input, e.g. `lat` or `phone`.
    pub field: &'static str,
    /// A human-readable reason.
    pub message: String,
}

impl DomainError {
    /// A refusal of `field` for `message`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
