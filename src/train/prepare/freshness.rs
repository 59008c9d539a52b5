//! Whether a prepared corpus still matches what it was made from: its input files (size,
//! modification time and a SHA-256 of an evenly spaced sample of their bytes), the settings
//! that shape it (the `[subword]` section and the data filters) and the subword model(s) it
//! was segmented with. A mismatch makes it stale, and training prepares it again.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::Error;

/// Bytes of each sampled block of an input file.
const SAMPLE_BLOCK: u64 = 64 * 1024;
/// Number of sampled blocks; a file of at most `SAMPLE_BLOCKS × SAMPLE_BLOCK` bytes (4 MiB) is
/// hashed whole.
const SAMPLE_BLOCKS: u64 = 64;

/// One input file as it was when the corpus was prepared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputStamp {
    /// The file (as the config named it; shown in messages, not compared).
    pub path: PathBuf,
    /// Size, bytes.
    pub bytes: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: u64,
    /// SHA-256 (hex) of [`SAMPLE_BLOCKS`] blocks of [`SAMPLE_BLOCK`] bytes spread evenly over
    /// the file, or of the whole file when it is smaller than that: 4 MiB read per file,
    /// whatever its size.
    pub sample_sha256: String,
}

impl InputStamp {
    /// Stamps the file at `path`.
    ///
    /// Errors: [`Error::Io`] naming the file.
    pub fn of(path: &Path) -> Result<Self, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        Ok(Self {
            path: path.to_path_buf(),
            bytes: meta.len(),
            modified_ns,
            sample_sha256: sample_digest(path, meta.len()).map_err(io)?,
        })
    }

    /// What differs from `earlier`, in words; `None` when nothing does.
    fn change_since(&self, earlier: &Self) -> Option<String> {
        let name = self.path.display();
        if self.bytes != earlier.bytes {
            Some(format!(
                "{name} changed size ({} → {} bytes)",
                earlier.bytes, self.bytes
            ))
        } else if self.sample_sha256 != earlier.sample_sha256 {
            Some(format!("{name} changed content"))
        } else if self.modified_ns != earlier.modified_ns {
            Some(format!(
                "{name} was modified (its modification time changed)"
            ))
        } else {
            None
        }
    }
}

/// SHA-256 of an evenly spaced sample of the file's bytes (see [`InputStamp::sample_sha256`]).
fn sample_digest(path: &Path, len: u64) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; SAMPLE_BLOCK as usize];
    if len <= SAMPLE_BLOCK * SAMPLE_BLOCKS {
        let mut all = Vec::with_capacity(len as usize);
        file.read_to_end(&mut all)?;
        hasher.update(&all);
    } else {
        let stride = (len - SAMPLE_BLOCK) / (SAMPLE_BLOCKS - 1);
        for b in 0..SAMPLE_BLOCKS {
            file.seek(SeekFrom::Start(b * stride))?;
            file.read_exact(&mut block)?;
            hasher.update(&block);
        }
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// What a prepared corpus was made from, stored as the `source` of its header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusSource {
    /// The training source and target files.
    pub inputs: Vec<InputStamp>,
    /// The settings that shape the corpus, by config key, as text.
    pub settings: BTreeMap<String, String>,
    /// SHA-256 of the subword model file(s) it was segmented with (one when joint).
    pub tokenizers: Vec<String>,
    /// What preparing counted (not compared).
    #[serde(default)]
    pub counts: PrepareCounts,
}

/// Pairs read, dropped and kept while preparing, for logs and `header.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepareCounts {
    /// Lines in each input file.
    pub lines_read: usize,
    /// Pairs dropped as empty (`data.empty_lines = "skip"`).
    pub empty_skipped: usize,
    /// Pairs dropped for control characters or over `data.max_line_chars`.
    pub unusable_skipped: usize,
    /// Pairs dropped by the subword length filter (`data.max_src_len`, `data.max_tgt_len`).
    pub too_long: usize,
    /// Joined pairs added (`data.concat_pairs`).
    pub joined: usize,
    /// Pairs in the prepared corpus.
    pub kept: usize,
}

impl CorpusSource {
    /// Describes what `config` would prepare now, with the subword model file(s) at
    /// `tokenizers` (the same path twice when joint).
    ///
    /// Errors: [`Error::Io`] naming an input or tokenizer file that cannot be read.
    pub fn describe(config: &Config, tokenizers: (&Path, &Path)) -> Result<Self, Error> {
        let dc = &config.data;
        let inputs = vec![
            InputStamp::of(&dc.train_src)?,
            InputStamp::of(&dc.train_tgt)?,
        ];
        let mut digests = vec![digest(tokenizers.0)?];
        if tokenizers.1 != tokenizers.0 {
            digests.push(digest(tokenizers.1)?);
        }
        Ok(Self {
            inputs,
            settings: settings(config),
            tokenizers: digests,
            counts: PrepareCounts::default(),
        })
    }

    /// Why a corpus made from `earlier` does not fit `self` (what would be made now), in
    /// words; `None` when it fits.
    pub fn stale_since(&self, earlier: &Self) -> Option<String> {
        if self.inputs.len() != earlier.inputs.len() {
            return Some("its input files differ".into());
        }
        if let Some(change) = self
            .inputs
            .iter()
            .zip(&earlier.inputs)
            .find_map(|(now, then)| now.change_since(then))
        {
            return Some(change);
        }
        let changed: Vec<String> = self
            .settings
            .iter()
            .filter(|(k, v)| earlier.settings.get(*k) != Some(v))
            .map(|(k, v)| {
                let then = earlier.settings.get(k).map_or("unset", String::as_str);
                format!("{k} {then} → {v}")
            })
            .collect();
        if !changed.is_empty() {
            return Some(format!("settings changed: {}", changed.join(", ")));
        }
        (self.tokenizers != earlier.tokenizers).then(|| "the subword model changed".into())
    }
}

/// The settings a prepared corpus depends on, by config key.
fn settings(config: &Config) -> BTreeMap<String, String> {
    let (dc, sw) = (&config.data, &config.subword);
    [
        ("data.empty_lines", dc.empty_lines.to_string()),
        ("data.max_line_chars", dc.max_line_chars.to_string()),
        ("data.max_src_len", dc.max_src_len.to_string()),
        ("data.max_tgt_len", dc.max_tgt_len.to_string()),
        ("data.concat_pairs", dc.concat_pairs.to_string()),
        ("subword.joint", sw.joint.to_string()),
        ("subword.vocab_size", sw.vocab_size.to_string()),
        ("subword.min_frequency", sw.min_frequency.to_string()),
        ("subword.sample_pairs", sw.sample_pairs.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// SHA-256 (hex) of a small file.
///
/// Errors: [`Error::Io`] naming it.
fn digest(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sampled_stamp_sees_a_changed_block_and_a_changed_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        let mut bytes = vec![b'a'; 5 * 1024 * 1024];
        std::fs::write(&path, &bytes).unwrap();
        let before = InputStamp::of(&path).unwrap();
        bytes[0] = b'b';
        std::fs::write(&path, &bytes).unwrap();
        let after = InputStamp::of(&path).unwrap();
        assert!(after
            .change_since(&before)
            .unwrap()
            .contains("changed content"));
        bytes.push(b'\n');
        std::fs::write(&path, &bytes).unwrap();
        let longer = InputStamp::of(&path).unwrap();
        assert!(longer
            .change_since(&after)
            .unwrap()
            .contains("changed size"));
        assert_eq!(longer.change_since(&longer), None);
    }
}
