//! Whole-file atomic writes: readers see the old file or the new one, never a partial one.

use std::io::Write;
use std::path::Path;

use crate::error::Error;

/// Writes `bytes` to `path` atomically: a temporary file in the same directory
/// (`tempfile::NamedTempFile`), written and fsynced, renamed over `path`
/// (`NamedTempFile::persist`), then the directory fsynced so the rename survives a power cut.
/// Missing parent directories are created; on error the temporary file is removed.
///
/// Errors: [`Error::Io`] naming the file or directory that failed.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Io { path: p, source }
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(tmp.path()))?;
    tmp.persist(path).map_err(|e| io(path)(e.error))?;
    sync_dir(dir)
}

/// fsyncs a directory, making renames inside it durable.
///
/// Errors: [`Error::Io`] naming the directory.
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_files() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sub/dir/file.json");
        write_file_atomic(&path, b"one").unwrap();
        write_file_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["file.json"]);
    }

    #[test]
    fn an_unwritable_target_is_an_io_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        // A directory cannot be replaced by a file.
        let target = tmp.path().join("taken");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("x"), b"x").unwrap();
        let err = write_file_atomic(&target, b"y").unwrap_err();
        assert!(
            matches!(&err, Error::Io { path, .. } if path == &target),
            "{err}"
        );
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "temp file removed"
        );
    }
}
