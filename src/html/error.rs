//! Errors of HTML translation.

/// What can go wrong when parsing or rendering an HTML fragment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HtmlError {
    /// Elements are nested deeper than [`MAX_DEPTH`](super::MAX_DEPTH); browsers
    /// flatten such trees, and walking them would risk the stack.
    #[error("HTML elements are nested more than {max} deep")]
    TooDeep {
        /// The deepest nesting accepted.
        max: usize,
    },
    /// `render` got a different number of translations than there are texts.
    #[error("expected {expected} translations (one per text), got {got}")]
    Count {
        /// `texts().len()`.
        expected: usize,
        /// The number of translations given.
        got: usize,
    },
    /// The serializer failed (it writes to memory, so this means a bug).
    #[error("could not serialize HTML: {0}")]
    Serialize(String),
}
