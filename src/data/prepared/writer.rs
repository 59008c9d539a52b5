//! Streaming writer of a prepared corpus: pairs go through buffered files in `NAME.tmp/`,
//! and [`PreparedWriter::finish`] renames the finished directory into place, so a run killed
//! at any moment leaves the previous corpus (or none), never a partial one.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::error::{PreparedError, Side};
use super::header::{Header, IdWidth, FORMAT, HEADER_FILE, VERSION};
use super::{LINES, SRC_IDS, SRC_OFFSETS, TGT_IDS, TGT_OFFSETS};
use crate::artifacts::checksum;

/// Buffer size of each of the five data files, in bytes: the writer's memory does not grow
/// with the number of pairs beyond these five buffers and one pair's scratch bytes.
const BUFFER_BYTES: usize = 256 * 1024;

/// The `Io` error for `path`.
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PreparedError + '_ {
    move |source| PreparedError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A data file being written through a buffer.
struct Sink {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Sink {
    fn create(path: PathBuf) -> Result<Self, PreparedError> {
        let file = File::create(&path).map_err(io(&path))?;
        Ok(Self {
            out: BufWriter::with_capacity(BUFFER_BYTES, file),
            path,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), PreparedError> {
        self.out.write_all(bytes).map_err(io(&self.path))
    }

    /// Flushes the buffer and fsyncs the file.
    fn close(self) -> Result<(), PreparedError> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(|e| io(&path)(e.into_error()))?;
        file.sync_all().map_err(io(&path))
    }
}

/// The ids and offsets files of one side.
struct SideSink {
    ids: Sink,
    offsets: Sink,
    tokens: u64,
}

impl SideSink {
    /// Creates both files; the offsets index starts with its leading 0.
    fn create(dir: &Path, ids: &str, offsets: &str) -> Result<Self, PreparedError> {
        let mut side = Self {
            ids: Sink::create(dir.join(ids))?,
            offsets: Sink::create(dir.join(offsets))?,
            tokens: 0,
        };
        side.offsets.write(&0u64.to_le_bytes())?;
        Ok(side)
    }

    /// Appends one sentence's ids (already checked against the vocabulary) and its end offset.
    fn push(
        &mut self,
        ids: &[u32],
        width: IdWidth,
        scratch: &mut Vec<u8>,
    ) -> Result<(), PreparedError> {
        scratch.clear();
        match width {
            IdWidth::U16 => scratch.extend(ids.iter().flat_map(|&id| (id as u16).to_le_bytes())),
            IdWidth::U32 => scratch.extend(ids.iter().flat_map(|&id| id.to_le_bytes())),
        }
        self.ids.write(scratch)?;
        self.tokens += ids.len() as u64;
        self.offsets.write(&self.tokens.to_le_bytes())
    }
}

/// The open files of an unfinished corpus.
struct Sinks {
    src: SideSink,
    tgt: SideSink,
    lines: Sink,
}

/// Writes a prepared corpus into a directory `DIR`, pair by pair (see the module
/// [`super`] for the layout).
///
/// [`create`](Self::create) starts `DIR.tmp/` beside `DIR`; [`push`](Self::push) appends one
/// pair; [`finish`](Self::finish) completes the files and replaces `DIR` atomically. Dropping
/// the writer without finishing removes `DIR.tmp/` and leaves `DIR` as it was; a process killed
/// outright leaves `DIR.tmp/` behind, which the next `create` removes. One writer per `DIR` at
/// a time.
pub struct PreparedWriter {
    dir: PathBuf,
    tmp: PathBuf,
    header: Header,
    sinks: Option<Sinks>,
    scratch: Vec<u8>,
    broken: bool,
    finished: bool,
}

impl PreparedWriter {
    /// Starts a corpus for `dir` whose source ids are below `src_vocab` and target ids below
    /// `tgt_vocab`: ids are stored as u16 when both are at most 65,536, else as u32.
    /// A stale `DIR.tmp/` (from a killed run) is removed first; `dir`'s parent is created when
    /// missing; `dir` itself is untouched until [`finish`](Self::finish).
    ///
    /// Errors: [`PreparedError::BadPath`] for a path without parent or name,
    /// [`PreparedError::Io`] naming the directory or file that could not be removed or created.
    pub fn create(dir: &Path, src_vocab: u32, tgt_vocab: u32) -> Result<Self, PreparedError> {
        let tmp = sibling(dir, "tmp")?;
        if fs::symlink_metadata(&tmp).is_ok() {
            fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let sinks = Sinks {
            src: SideSink::create(&tmp, SRC_IDS, SRC_OFFSETS)?,
            tgt: SideSink::create(&tmp, TGT_IDS, TGT_OFFSETS)?,
            lines: Sink::create(tmp.join(LINES))?,
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            tmp,
            header: Header {
                format: FORMAT.into(),
                version: VERSION,
                id_width: IdWidth::for_vocabs(src_vocab, tgt_vocab),
                src_vocab,
                tgt_vocab,
                pairs: 0,
                src_tokens: 0,
                tgt_tokens: 0,
                source: None,
            },
            sinks: Some(sinks),
            scratch: Vec::new(),
            broken: false,
            finished: false,
        })
    }

    /// The width the ids are stored in, fixed by the vocabulary sizes given to `create`.
    pub fn id_width(&self) -> IdWidth {
        self.header.id_width
    }

    /// Sets what the corpus is made from, written as the header's `source` by
    /// [`finish`](Self::finish).
    pub fn set_source(&mut self, source: serde_json::Value) {
        self.header.source = Some(source);
    }

    /// Number of pairs pushed so far.
    pub fn len(&self) -> u64 {
        self.header.pairs
    }

    /// Whether no pair has been pushed yet.
    pub fn is_empty(&self) -> bool {
        self.header.pairs == 0
    }

    /// Appends the pair (`src_ids`, `tgt_ids`) that came from input line `line` (1-based; any
    /// value is stored as given, e.g. the first line of a joined pair). Either side may be
    /// empty: whether empty sentences are kept is the caller's policy, not the format's.
    ///
    /// Errors: [`PreparedError::IdOutOfVocab`] naming `line`, the side and the position when an
    /// id is not below its side's vocabulary; nothing of the pair is written and the writer
    /// can go on. [`PreparedError::Io`] naming the file when a write fails; the writer is then
    /// broken and every later call returns [`PreparedError::WriterBroken`].
    pub fn push(
        &mut self,
        src_ids: &[u32],
        tgt_ids: &[u32],
        line: u64,
    ) -> Result<(), PreparedError> {
        let Some(sinks) = self.sinks.as_mut().filter(|_| !self.broken) else {
            return Err(PreparedError::WriterBroken {
                path: self.tmp.clone(),
            });
        };
        check_ids(Side::Source, src_ids, self.header.src_vocab, line)?;
        check_ids(Side::Target, tgt_ids, self.header.tgt_vocab, line)?;
        let width = self.header.id_width;
        let written = sinks
            .src
            .push(src_ids, width, &mut self.scratch)
            .and_then(|()| sinks.tgt.push(tgt_ids, width, &mut self.scratch))
            .and_then(|()| sinks.lines.write(&line.to_le_bytes()));
        if written.is_err() {
            self.broken = true;
        }
        written?;
        self.header.pairs += 1;
        self.header.src_tokens = sinks.src.tokens;
        self.header.tgt_tokens = sinks.tgt.tokens;
        Ok(())
    }

    /// Completes the corpus: flushes and fsyncs the data files, writes `header.json` and the
    /// checksum manifest (`checksums.json`, SHA-256 of every other file, which reads the files
    /// back once), fsyncs `DIR.tmp/`, then renames an existing `DIR` to `DIR.old`, `DIR.tmp` to
    /// `DIR`, fsyncs the parent and removes `DIR.old`. Returns the header written.
    ///
    /// Errors: [`PreparedError::WriterBroken`] after a failed write, [`PreparedError::Io`] or
    /// [`PreparedError::Checksum`] naming the file or directory that failed. On any error
    /// `DIR.tmp/` is removed (when the writer is dropped) and `DIR` is the previous corpus,
    /// except when the failure falls between the two renames: then `DIR.old` holds it.
    pub fn finish(mut self) -> Result<Header, PreparedError> {
        let Some(sinks) = self.sinks.take().filter(|_| !self.broken) else {
            return Err(PreparedError::WriterBroken {
                path: self.tmp.clone(),
            });
        };
        for sink in [
            sinks.src.ids,
            sinks.src.offsets,
            sinks.tgt.ids,
            sinks.tgt.offsets,
            sinks.lines,
        ] {
            sink.close()?;
        }
        let header_path = self.tmp.join(HEADER_FILE);
        let json = serde_json::to_string_pretty(&self.header)
            .expect("a header of strings and integers always serialises");
        write_synced(&header_path, json.as_bytes())?;
        checksum::record(&self.tmp, &super::FILES)?;
        fsync(&self.tmp)?;
        install(&self.tmp, &self.dir)?;
        self.finished = true;
        Ok(self.header.clone())
    }
}

impl Drop for PreparedWriter {
    /// An unfinished writer removes its `DIR.tmp/` (best effort), so that an aborted prepare
    /// does not hold the disk space the next attempt needs.
    fn drop(&mut self) {
        if !self.finished {
            drop(self.sinks.take());
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// `PARENT/NAME.suffix` for `dir` = `PARENT/NAME`.
fn sibling(dir: &Path, suffix: &str) -> Result<PathBuf, PreparedError> {
    let bad = || PreparedError::BadPath {
        path: dir.to_path_buf(),
    };
    let name = dir.file_name().ok_or_else(bad)?;
    let mut sibling = name.to_os_string();
    sibling.push(".");
    sibling.push(suffix);
    Ok(dir.with_file_name(sibling))
}

/// Checks that every id of one side is below `vocab`.
fn check_ids(side: Side, ids: &[u32], vocab: u32, line: u64) -> Result<(), PreparedError> {
    match ids.iter().position(|&id| id >= vocab) {
        None => Ok(()),
        Some(position) => Err(PreparedError::IdOutOfVocab {
            side,
            line,
            position,
            id: ids[position],
            vocab,
        }),
    }
}

/// Writes `bytes` to a new file `path` and fsyncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), PreparedError> {
    let mut file = File::create(path).map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// fsyncs a file or directory (for a directory: makes the entries and renames in it durable).
fn fsync(path: &Path) -> Result<(), PreparedError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io(path))
}

/// Moves the finished `tmp` to `dir`, as checkpoints do: `dir` → `dir.old`, `tmp` → `dir`,
/// fsync the parent, remove `dir.old`. A reader sees the old corpus or the new one.
fn install(tmp: &Path, dir: &Path) -> Result<(), PreparedError> {
    let old = sibling(dir, "old")?;
    if fs::symlink_metadata(dir).is_ok() {
        if fs::symlink_metadata(&old).is_ok() {
            fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        fs::rename(dir, &old).map_err(io(dir))?;
    }
    fs::rename(tmp, dir).map_err(io(dir))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fsync(parent)?;
    if fs::symlink_metadata(&old).is_ok() {
        fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}
