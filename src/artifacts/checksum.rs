//! Checksums of the files of a checkpoint (`checksums.json`), so that a file modified or
//! damaged after it was written is an error when it is read, not garbage translations.
//!
//! ```json
//! {"algorithm": "sha256", "files": {"model.safetensors": "9f86d0…", "state.json": "…"}}
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Name of the manifest inside a checkpoint directory.
pub const MANIFEST: &str = "checksums.json";

/// The manifest: SHA-256 (lower-case hex) of each file, by file name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"sha256"`.
    pub algorithm: String,
    /// File name (inside the checkpoint directory) → digest.
    pub files: BTreeMap<String, String>,
}

/// SHA-256 of a file, lower-case hex.
///
/// Errors: the file cannot be read.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Hashes the files `names` of `dir` into a [`Manifest`] (not yet written).
///
/// Errors: a file cannot be read.
pub fn manifest_of(dir: &Path, names: &[&str]) -> anyhow::Result<Manifest> {
    let files = names
        .iter()
        .map(|n| Ok((n.to_string(), sha256_file(&dir.join(n))?)))
        .collect::<anyhow::Result<_>>()?;
    Ok(Manifest {
        algorithm: "sha256".into(),
        files,
    })
}

/// Checks every file the manifest of `dir` lists. Returns `false` when `dir` has no manifest
/// (a checkpoint written before tolk recorded checksums), which the caller may accept.
///
/// Errors: a listed file is missing or its digest differs ("checksum mismatch: FILE was
/// modified or is corrupt"), or the manifest itself is unreadable.
pub fn verify(dir: &Path) -> anyhow::Result<bool> {
    let path = dir.join(MANIFEST);
    if !path.exists() {
        return Ok(false);
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a checksum manifest (corrupt checkpoint?)",
            path.display()
        )
    })?;
    if manifest.algorithm != "sha256" {
        bail!(
            "{}: unknown checksum algorithm {:?}",
            path.display(),
            manifest.algorithm
        );
    }
    for (name, expected) in &manifest.files {
        let file = dir.join(name);
        if !file.exists() {
            bail!("{}: missing, but listed in {MANIFEST}", file.display());
        }
        let found = sha256_file(&file)?;
        if &found != expected {
            bail!(
                "checksum mismatch: {} was modified or is corrupt (sha256 {found}, {MANIFEST} \
                 records {expected})",
                file.display()
            );
        }
    }
    Ok(true)
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
    fn no_manifest_is_reported_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!verify(dir.path()).unwrap());
    }
}
