//! The error of a value the caller gave that cannot be used.

/// A value the caller gave (a flag, a step, a budget, a file named by a flag) that cannot be
/// used, and why. Always the caller's input: a command exits 2 on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

impl InvalidInput {
    /// Always true: the caller's input is at fault.
    pub fn is_input(&self) -> bool {
        true
    }

    /// Whether the reason says `text` (for tests and messages).
    pub fn contains(&self, text: &str) -> bool {
        self.0.contains(text)
    }
}

impl From<String> for InvalidInput {
    fn from(reason: String) -> Self {
        InvalidInput(reason)
    }
}
