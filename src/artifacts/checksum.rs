//! Checksums of the files of a checkpoint (`checksums.json`), so that a file modified or
//! damaged after it was written is an error when it is read, not garbage translations.
//!
//! ```json
//! {"algorithm": "sha256", "files": {"model.safetensors": "9f86d0…", "state.json": "…"}}
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Name of the manifest inside a checkpoint directory (and of the model directory's own, for
/// its tokenizer and shortlist files).
pub const MANIFEST: &str = "checksums.json";

/// The manifest: SHA-256 (lower-case hex) of each file, by file name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"sha256"`.
    pub algorithm: String,
    /// File name (inside the checkpoint directory) → digest.
    pub files: BTreeMap<String, String>,
}

/// What is wrong with a manifest or a file it lists.
#[derive(Debug, thiserror::Error)]
pub enum ChecksumError {
    /// A file (or the manifest) cannot be read.
    #[error("reading {}: {source}", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is not JSON of the expected shape.
    #[error("{}: not a checksum manifest (corrupt checkpoint?)", .path.display())]
    Malformed {
        /// The manifest.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The manifest names an algorithm other than SHA-256.
    #[error("{}: unknown checksum algorithm {algorithm:?}", .path.display())]
    UnknownAlgorithm {
        /// The manifest.
        path: PathBuf,
        /// The algorithm it names.
        algorithm: String,
    },
    /// A file the manifest lists is not there.
    #[error("{}: missing, but listed in {MANIFEST}", .path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A file's digest differs from the one recorded.
    #[error(
        "checksum mismatch: {} was modified or is corrupt (sha256 {found}, {MANIFEST} records \
         {expected})",
        .path.display()
    )]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// Its digest now.
        found: String,
        /// The digest recorded.
        expected: String,
    },
    /// Writing the manifest failed.
    #[error(transparent)]
    Write(#[from] crate::error::Error),
}

/// SHA-256 of a file, lower-case hex.
///
/// Errors: the file cannot be read.
pub fn sha256_file(path: &Path) -> Result<String, ChecksumError> {
    let unreadable = |source| ChecksumError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(unreadable)?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Hashes the files `names` of `dir` into a [`Manifest`] (not yet written).
///
/// Errors: a file cannot be read.
pub fn manifest_of(dir: &Path, names: &[&str]) -> Result<Manifest, ChecksumError> {
    let files = names
        .iter()
        .map(|n| Ok((n.to_string(), sha256_file(&dir.join(n))?)))
        .collect::<Result<_, ChecksumError>>()?;
    Ok(Manifest {
        algorithm: "sha256".into(),
        files,
    })
}

/// The manifest of `dir`; `None` when it has none.
///
/// Errors: an unreadable or malformed manifest, or one of another algorithm.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>, ChecksumError> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ChecksumError::Unreadable { path, source }),
    };
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|source| ChecksumError::Malformed {
            path: path.clone(),
            source,
        })?;
    if manifest.algorithm != "sha256" {
        return Err(ChecksumError::UnknownAlgorithm {
            path,
            algorithm: manifest.algorithm,
        });
    }
    Ok(Some(manifest))
}

/// Checks the file `name` of `dir` against the digest `expected`.
fn check_file(dir: &Path, name: &str, expected: &str) -> Result<(), ChecksumError> {
    let path = dir.join(name);
    if !path.exists() {
        return Err(ChecksumError::Missing { path });
    }
    let found = sha256_file(&path)?;
    if found != expected {
        return Err(ChecksumError::Mismatch {
            path,
            found,
            expected: expected.to_string(),
        });
    }
    Ok(())
}

/// Checks every file the manifest of `dir` lists. Returns `false` when `dir` has no manifest
/// (a checkpoint written before tolk recorded checksums), which the caller may accept.
///
/// Errors: a listed file is missing or its digest differs ("checksum mismatch: FILE was
/// modified or is corrupt"), or the manifest itself is unreadable.
pub fn verify(dir: &Path) -> Result<bool, ChecksumError> {
    let Some(manifest) = read_manifest(dir)? else {
        return Ok(false);
    };
    for (name, expected) in &manifest.files {
        check_file(dir, name, expected)?;
    }
    Ok(true)
}

/// Checks the files `names` of `dir` that its manifest lists, and returns those it does not
/// list (all of them when there is no manifest), in the order given.
///
/// Errors: as [`verify`], for the listed files among `names`.
pub fn verify_listed<'a>(dir: &Path, names: &[&'a str]) -> Result<Vec<&'a str>, ChecksumError> {
    let files = read_manifest(dir)?.map(|m| m.files).unwrap_or_default();
    let mut unlisted = Vec::new();
    for &name in names {
        match files.get(name) {
            Some(expected) => check_file(dir, name, expected)?,
            None => unlisted.push(name),
        }
    }
    Ok(unlisted)
}

/// Records the current digests of the files `names` of `dir` in its manifest (created when
/// missing; other entries kept), written atomically.
///
/// Errors: a file or the manifest cannot be read, the manifest cannot be written.
pub fn record(dir: &Path, names: &[&str]) -> Result<(), ChecksumError> {
    let mut manifest = read_manifest(dir)?.unwrap_or_else(|| Manifest {
        algorithm: "sha256".into(),
        files: BTreeMap::new(),
    });
    for &name in names {
        let digest = sha256_file(&dir.join(name))?;
        manifest.files.insert(name.to_string(), digest);
    }
    let json = serde_json::to_string_pretty(&manifest)
        .map_err(|e| crate::error::Error::Internal(format!("serialising {MANIFEST}: {e}")))?;
    super::write_file_atomic(&dir.join(MANIFEST), json.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_string() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_flipped_byte_is_a_mismatch_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.bin"), [1u8, 2, 3, 4]).unwrap();
        std::fs::write(dir.path().join("b.json"), b"{}").unwrap();
        let m = manifest_of(dir.path(), &["a.bin", "b.json"]).unwrap();
        std::fs::write(
            dir.path().join(MANIFEST),
            serde_json::to_string(&m).unwrap(),
        )
        .unwrap();
        assert!(verify(dir.path()).unwrap());
        std::fs::write(dir.path().join("a.bin"), [1u8, 2, 7, 4]).unwrap();
        let err = verify(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("checksum mismatch: "), "{err}");
        assert!(err.contains("a.bin was modified or is corrupt"), "{err}");
        std::fs::remove_file(dir.path().join("a.bin")).unwrap();
        assert!(verify(dir.path())
            .unwrap_err()
            .to_string()
            .contains("missing"));
    }

    #[test]
    fn verify_listed_checks_listed_files_and_returns_the_others_until_recorded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), b"{}").unwrap();
        std::fs::write(dir.path().join("b.json"), b"[]").unwrap();
        assert_eq!(
            verify_listed(dir.path(), &["a.json", "b.json"]).unwrap(),
            ["a.json", "b.json"]
        );
        record(dir.path(), &["a.json"]).unwrap();
        assert_eq!(
            verify_listed(dir.path(), &["a.json", "b.json"]).unwrap(),
            ["b.json"]
        );
        record(dir.path(), &["b.json"]).unwrap();
        assert!(verify_listed(dir.path(), &["a.json", "b.json"])
            .unwrap()
            .is_empty());
        std::fs::write(dir.path().join("a.json"), b"{ }").unwrap();
        let err = verify_listed(dir.path(), &["b.json", "a.json"]).unwrap_err();
        assert!(
            matches!(&err, ChecksumError::Mismatch { path, .. } if path.ends_with("a.json")),
            "{err}"
        );
    }

    #[test]
    fn no_manifest_is_reported_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!verify(dir.path()).unwrap());
    }
}
