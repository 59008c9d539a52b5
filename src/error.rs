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

/// What kind of failure an error is, for callers that map errors to their own classes (the
/// Python binding's `tolk.InputError`, `tolk.ModelError`, `tolk.IOError`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller's input, data or settings ([`Error::Input`]).
    Input,
    /// A model directory or checkpoint ([`Error::Model`]).
    Model,
    /// The file system ([`Error::Io`]).
    Io,
    /// A diverged loss ([`Error::Diverged`]).
    Diverged,
    /// A data-parallel collective ([`Error::Distributed`]).
    Distributed,
    /// A bug in tolk ([`Error::Internal`]).
    Internal,
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Input(_) => ErrorKind::Input,
            Self::Model(_) => ErrorKind::Model,
            Self::Io { .. } => ErrorKind::Io,
            Self::Diverged(_) => ErrorKind::Diverged,
            Self::Distributed(_) => ErrorKind::Distributed,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// A [`Error::Model`] from any error chain (e.g. an `anyhow` error of a loader), with its
    /// causes joined as `outer: inner`.
    pub fn model(err: impl std::fmt::Display) -> Self {
        Self::Model(format!("{err:#}"))
    }
}

/// Result with a tolk [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kind of an error from the library's `anyhow` functions (training, averaging, config),
/// read from the first typed error in its chain: [`Error`] by its kind; the corpus, start and
/// config-like errors as [`ErrorKind::Input`]; model directory, checkpoint, checksum, shortlist
/// and prepared-corpus errors as [`ErrorKind::Model`] (their I/O variants and
/// [`std::io::Error`] as [`ErrorKind::Io`]). An untyped message (a config key out of range, a
/// malformed config file) counts as [`ErrorKind::Input`].
pub fn kind_of(err: &anyhow::Error) -> ErrorKind {
    use crate::artifacts::checkpoint::CheckpointError;
    use crate::artifacts::checksum::ChecksumError;
    use crate::artifacts::model_dir::ModelDirError;
    use crate::data::prepared::PreparedError;
    use crate::data::CorpusError;
    use crate::decode::ShortlistError;
    use crate::train::start::StartError;
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return e.kind();
        }
        if let Some(e) = cause.downcast_ref::<CorpusError>() {
            return match e {
                CorpusError::Io { .. } => ErrorKind::Io,
                _ => ErrorKind::Input,
            };
        }
        if let Some(e) = cause.downcast_ref::<PreparedError>() {
            return match e {
                PreparedError::Io { .. } => ErrorKind::Io,
                _ => ErrorKind::Model,
            };
        }
        if let Some(e) = cause.downcast_ref::<StartError>() {
            return match e {
                StartError::Create { .. } => ErrorKind::Io,
                StartError::UnusableLast(_) | StartError::DamagedLast { .. } => ErrorKind::Model,
                _ => ErrorKind::Input,
            };
        }
        if cause.is::<ModelDirError>()
            || cause.is::<CheckpointError>()
            || cause.is::<ChecksumError>()
            || cause.is::<ShortlistError>()
        {
            return ErrorKind::Model;
        }
        if cause.is::<std::io::Error>() {
            return ErrorKind::Io;
        }
    }
    ErrorKind::Input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_first_typed_error_of_the_chain() {
        let model = anyhow::Error::new(Error::Model("m".into())).context("loading");
        assert_eq!(kind_of(&model), ErrorKind::Model);
        let io = anyhow::Error::new(std::io::Error::other("disk")).context("writing");
        assert_eq!(kind_of(&io), ErrorKind::Io);
        let corpus = anyhow::Error::new(crate::data::CorpusError::Io {
            path: "a.de".into(),
            source: std::io::Error::other("gone"),
        });
        assert_eq!(kind_of(&corpus), ErrorKind::Io);
        assert_eq!(kind_of(&anyhow::anyhow!("bad key")), ErrorKind::Input);
        let diverged = anyhow::Error::new(Error::Diverged("nan".into()));
        assert_eq!(kind_of(&diverged), ErrorKind::Diverged);
    }
}
