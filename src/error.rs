//! Errors at the library boundary, typed so that a caller (the CLI, the server) can tell what
//! went wrong: the caller's input, the model on disk, the file system, or tolk itself.

use std::path::PathBuf;

/// A tolk library error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the caller: an unreadable line, a text too long, a setting out of range,
    /// an unknown language or option value. The message names the input and what is wrong.
    #[error("{0}")]
    Input(String),
    /// A model directory or checkpoint that cannot be read, or does not fit its config.
    #[error("{0}")]
    Model(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Training cannot go on: the loss diverged (NaN or infinite).
    #[error("{0}")]
    Diverged(String),
    /// Data-parallel training cannot go on: a collective failed because a peer process exited,
    /// did not answer within the timeout, or the rendezvous could not be made. The message
    /// names the rank and what c10d reported.
    #[error("{0}")]
    Distributed(String),
    /// An invariant of tolk did not hold: a bug, not the caller's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A [`Error::Model`] from any error chain (e.g. an `anyhow` error of a loader), with its
    /// causes joined as `outer: inner`.
    pub fn model(err: impl std::fmt::Display) -> Self {
        Self::Model(format!("{err:#}"))
    }
}

/// Result with a tolk [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
