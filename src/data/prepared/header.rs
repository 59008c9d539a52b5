//! `header.json` of a prepared corpus: format name and version, the width of the stored ids,
//! the vocabulary size of each side and the counts that fix every other file's size.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::PreparedError;

/// The `format` field every prepared corpus header carries (the format's "magic").
pub const FORMAT: &str = "tolk-prepared-corpus";

/// The format version this build writes and reads. A reader refuses any other version.
pub const VERSION: u32 = 1;

/// Name of the header file inside a prepared corpus directory.
pub const HEADER_FILE: &str = "header.json";

/// Width of each stored token id: 2 bytes (u16, little-endian) when both vocabularies have at
/// most 65,536 entries, else 4 bytes (u32, little-endian). Both sides share one width.
/// Serialised in `header.json` as the number of bytes, `2` or `4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum IdWidth {
    /// 2 bytes per id.
    U16,
    /// 4 bytes per id.
    U32,
}

impl IdWidth {
    /// The narrowest width that holds every id below `src_vocab` and `tgt_vocab`.
    pub fn for_vocabs(src_vocab: u32, tgt_vocab: u32) -> Self {
        if src_vocab.max(tgt_vocab) <= 1 << 16 {
            Self::U16
        } else {
            Self::U32
        }
    }

    /// Bytes per id: 2 or 4.
    pub fn bytes(self) -> u64 {
        match self {
            Self::U16 => 2,
            Self::U32 => 4,
        }
    }
}

impl From<IdWidth> for u8 {
    fn from(w: IdWidth) -> u8 {
        w.bytes() as u8
    }
}

impl TryFrom<u8> for IdWidth {
    type Error = String;

    fn try_from(bytes: u8) -> Result<Self, String> {
        match bytes {
            2 => Ok(Self::U16),
            4 => Ok(Self::U32),
            other => Err(format!("id_width {other}: must be 2 or 4 (bytes)")),
        }
    }
}

/// The contents of `header.json`. The counts fix the size of every data file:
/// `src.ids` is `src_tokens × id_width` bytes, `src.offsets` `(pairs + 1) × 8`,
/// `lines.u64` `pairs × 8`, and likewise for the target side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version, [`VERSION`] for what this build writes.
    pub version: u32,
    /// Width of the ids in `src.ids` and `tgt.ids`.
    pub id_width: IdWidth,
    /// Source vocabulary size: every source id is below it.
    pub src_vocab: u32,
    /// Target vocabulary size: every target id is below it.
    pub tgt_vocab: u32,
    /// Number of sentence pairs.
    pub pairs: u64,
    /// Number of source tokens, all pairs together.
    pub src_tokens: u64,
    /// Number of target tokens, all pairs together.
    pub tgt_tokens: u64,
    /// What the corpus was made from (input files, settings, counts), as the code that wrote
    /// it describes it; opaque to the format, absent when nothing was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<serde_json::Value>,
}

impl Header {
    /// Reads and checks `DIR/header.json`: JSON of the right shape, [`FORMAT`], [`VERSION`].
    ///
    /// Errors: [`PreparedError::Io`] when unreadable, [`PreparedError::MalformedHeader`],
    /// [`PreparedError::NotPrepared`] for another `format`,
    /// [`PreparedError::UnsupportedVersion`]; each names the header file.
    pub fn read(dir: &Path) -> Result<Self, PreparedError> {
        let path = dir.join(HEADER_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| PreparedError::Io {
            path: path.clone(),
            source,
        })?;
        let header: Header =
            serde_json::from_str(&text).map_err(|source| PreparedError::MalformedHeader {
                path: path.clone(),
                source,
            })?;
        if header.format != FORMAT {
            return Err(PreparedError::NotPrepared {
                path,
                format: header.format,
            });
        }
        if header.version != VERSION {
            return Err(PreparedError::UnsupportedVersion {
                path,
                found: header.version,
            });
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_is_u16_up_to_65536_entries() {
        assert_eq!(IdWidth::for_vocabs(65_536, 8), IdWidth::U16);
        assert_eq!(IdWidth::for_vocabs(8, 65_537), IdWidth::U32);
        assert_eq!(IdWidth::for_vocabs(70_000, 70_000).bytes(), 4);
    }

    #[test]
    fn width_is_written_as_bytes_and_other_numbers_are_refused() {
        assert_eq!(serde_json::to_string(&IdWidth::U32).unwrap(), "4");
        assert_eq!(serde_json::from_str::<IdWidth>("2").unwrap(), IdWidth::U16);
        let err = serde_json::from_str::<IdWidth>("3").unwrap_err();
        assert!(err.to_string().contains("must be 2 or 4"), "{err}");
    }

    #[test]
    fn another_version_is_refused_naming_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let header = Header {
            format: FORMAT.into(),
            version: VERSION + 1,
            id_width: IdWidth::U16,
            src_vocab: 10,
            tgt_vocab: 10,
            pairs: 0,
            src_tokens: 0,
            tgt_tokens: 0,
            source: None,
        };
        std::fs::write(
            dir.path().join(HEADER_FILE),
            serde_json::to_string(&header).unwrap(),
        )
        .unwrap();
        let err = Header::read(dir.path()).unwrap_err();
        assert!(
            matches!(&err, PreparedError::UnsupportedVersion { path, found }
                if path.ends_with(HEADER_FILE) && *found == VERSION + 1),
            "{err}"
        );
    }
}
