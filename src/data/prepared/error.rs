//! What can go wrong writing or opening a prepared corpus. Every variant names the file (or
//! directory) concerned; an id out of its vocabulary names the input line of its pair.

use std::fmt;
use std::path::PathBuf;

use crate::artifacts::checksum::{ChecksumError, MANIFEST};

/// One side of a sentence pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The source sentence.
    Source,
    /// The target sentence.
    Target,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Target => "target",
        })
    }
}

/// An error of the prepared corpus writer or reader.
#[derive(Debug, thiserror::Error)]
pub enum PreparedError {
    /// Creating, writing, reading, mapping, renaming or removing a file or directory failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The corpus path has no parent directory or no final name (e.g. `/` or `..`), so there
    /// is nowhere to put its `NAME.tmp` beside it.
    #[error("{}: not usable as a prepared corpus directory (no parent or no name)", .path.display())]
    BadPath {
        /// The path given.
        path: PathBuf,
    },
    /// A token id is not below its side's vocabulary size. Nothing of the pair was written.
    #[error(
        "input line {line}: {side} token {position} has id {id}, but the {side} vocabulary has \
         {vocab} entries"
    )]
    IdOutOfVocab {
        /// Which side the id is on.
        side: Side,
        /// The pair's 1-based input line number, as given to `push`.
        line: u64,
        /// 0-based position of the token in its sentence.
        position: usize,
        /// The id.
        id: u32,
        /// That side's vocabulary size.
        vocab: u32,
    },
    /// An earlier write of this writer failed, so its files may hold part of a pair; the
    /// writer cannot go on (the previous corpus, if any, is untouched).
    #[error("{}: an earlier write failed, this corpus cannot be finished", .path.display())]
    WriterBroken {
        /// The temporary directory being written.
        path: PathBuf,
    },
    /// A checksum manifest problem: a file differs from its recorded digest ("checksum
    /// mismatch: FILE was modified or is corrupt"), is missing, or the manifest is unreadable.
    #[error(transparent)]
    Checksum(#[from] ChecksumError),
    /// The directory has no checksum manifest, which every finished prepared corpus has.
    #[error("{}: missing; every prepared corpus records the checksums of its files", .path.display())]
    NoManifest {
        /// The manifest path.
        path: PathBuf,
    },
    /// A file of the corpus is not listed in its checksum manifest.
    #[error("{}: not listed in {MANIFEST}, so it cannot be verified", .path.display())]
    Unlisted {
        /// The file.
        path: PathBuf,
    },
    /// `header.json` is not JSON of the expected shape (or has an id width other than 2 or 4).
    #[error("{}: not a prepared corpus header: {source}", .path.display())]
    MalformedHeader {
        /// The header file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// `header.json` names another format.
    #[error("{}: format {format:?}, not a tolk prepared corpus", .path.display())]
    NotPrepared {
        /// The header file.
        path: PathBuf,
        /// The format it names.
        format: String,
    },
    /// `header.json` has a format version this build does not read; prepare the corpus again.
    #[error(
        "{}: prepared corpus format version {found}, this tolk reads version {}; prepare the \
         corpus again",
        .path.display(),
        super::header::VERSION
    )]
    UnsupportedVersion {
        /// The header file.
        path: PathBuf,
        /// The version it names.
        found: u32,
    },
    /// A data file's size is not what the header's counts need: truncated, extended, or from
    /// another corpus.
    #[error(
        "{}: {found} bytes, but the counts in header.json need {expected} (truncated or from \
         another corpus)",
        .path.display()
    )]
    SizeMismatch {
        /// The data file.
        path: PathBuf,
        /// Its size in bytes.
        found: u64,
        /// The size the header implies, in bytes (saturated at `u64::MAX` for absurd counts).
        expected: u64,
    },
    /// An offsets index does not start at 0.
    #[error("{}: first offset is {found}, must be 0", .path.display())]
    OffsetsStart {
        /// The offsets file.
        path: PathBuf,
        /// Its first entry.
        found: u64,
    },
    /// An offsets index decreases: pair `pair` would have a negative length.
    #[error("{}: offset {value} of pair {pair} is below the previous one, {previous}", .path.display())]
    OffsetsDecrease {
        /// The offsets file.
        path: PathBuf,
        /// 0-based index of the pair whose end offset (entry `pair + 1`) is `value`.
        pair: u64,
        /// Entry `pair`.
        previous: u64,
        /// Entry `pair + 1`.
        value: u64,
    },
    /// An offsets index does not end at the side's token count.
    #[error("{}: last offset is {found}, but the header counts {expected} tokens", .path.display())]
    OffsetsEnd {
        /// The offsets file.
        path: PathBuf,
        /// Its last entry.
        found: u64,
        /// The token count in the header.
        expected: u64,
    },
}
