//! Reading a prepared corpus: checksums verified (optionally), header read, data files
//! memory-mapped and checked for consistency, then pairs read by index without copying the
//! corpus into memory.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::error::PreparedError;
use super::header::{Header, IdWidth};
use super::{FILES, LINES, SRC_IDS, SRC_OFFSETS, TGT_IDS, TGT_OFFSETS};
use crate::artifacts::checksum::{self, MANIFEST};
use crate::data::batching::PairLengths;

/// Entry `i` of a little-endian u64 array.
fn u64_at(bytes: &[u8], i: usize) -> u64 {
    let start = i * 8;
    u64::from_le_bytes(bytes[start..start + 8].try_into().expect("8 bytes"))
}

/// The mapped ids and offsets of one side.
struct SideMap {
    ids: Mmap,
    offsets: Mmap,
    width: IdWidth,
}

impl SideMap {
    /// Maps `ids_name` and `offsets_name` of `dir`, checking their sizes against `pairs` and
    /// `tokens` and the offsets against each other (see [`check_offsets`]).
    fn open(
        dir: &Path,
        (ids_name, offsets_name): (&str, &str),
        width: IdWidth,
        pairs: u64,
        tokens: u64,
    ) -> Result<Self, PreparedError> {
        let offsets_path = dir.join(offsets_name);
        let offsets = map_sized(&offsets_path, pairs.saturating_add(1).saturating_mul(8))?;
        let ids = map_sized(&dir.join(ids_name), tokens.saturating_mul(width.bytes()))?;
        check_offsets(&offsets_path, tokens)?;
        Ok(Self {
            ids,
            offsets,
            width,
        })
    }

    /// Token range of pair `i`, in ids.
    fn range(&self, i: usize) -> (usize, usize) {
        (
            u64_at(&self.offsets, i) as usize,
            u64_at(&self.offsets, i + 1) as usize,
        )
    }

    fn len(&self, i: usize) -> usize {
        let (start, end) = self.range(i);
        end - start
    }

    fn append(&self, i: usize, out: &mut Vec<i64>) {
        let (start, end) = self.range(i);
        let w = self.width.bytes() as usize;
        let bytes = &self.ids[start * w..end * w];
        out.reserve(end - start);
        match self.width {
            IdWidth::U16 => out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|b| i64::from(u16::from_le_bytes([b[0], b[1]]))),
            ),
            IdWidth::U32 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| i64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            ),
        }
    }
}

/// Opens and maps `path`, which must be `expected` bytes long.
fn map_sized(path: &Path, expected: u64) -> Result<Mmap, PreparedError> {
    let io = |source| PreparedError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let found = file.metadata().map_err(io)?.len();
    if found != expected {
        return Err(PreparedError::SizeMismatch {
            path: path.to_path_buf(),
            found,
            expected,
        });
    }
    // SAFETY: the mapping is read-only, and the files of a prepared corpus are never written
    // in place: a writer builds a new directory and renames it over the old one, so an open
    // mapping keeps the old inode's bytes. Only another program writing into these files
    // while they are mapped could change the bytes under us; the format forbids that.
    unsafe { Mmap::map(&file) }.map_err(io)
}

/// Checks an offsets index at open: first entry 0, none below the one before, last equal to
/// `tokens`. Together with the size check of the ids file this makes every pair's range lie
/// inside the ids, so the accessors cannot fail later. One sequential pass over 8 bytes per
/// pair, checked at open rather than lazily so that a damaged index is an error when the
/// corpus is opened, not a panic hours into training. The pass reads the file, not the
/// mapping, so that it leaves nothing in the process's resident set (16 bytes a pair of
/// index, 256 MB at 16 M pairs, would otherwise stay there).
fn check_offsets(path: &Path, tokens: u64) -> Result<(), PreparedError> {
    let mut previous = None;
    for_each_offset(path, |pair, value| {
        match previous {
            None if value != 0 => {
                return Err(PreparedError::OffsetsStart {
                    path: path.to_path_buf(),
                    found: value,
                })
            }
            Some(p) if value < p => {
                return Err(PreparedError::OffsetsDecrease {
                    path: path.to_path_buf(),
                    pair: pair - 1,
                    previous: p,
                    value,
                })
            }
            _ => {}
        }
        previous = Some(value);
        Ok(())
    })?;
    match previous {
        Some(last) if last != tokens => Err(PreparedError::OffsetsEnd {
            path: path.to_path_buf(),
            found: last,
            expected: tokens,
        }),
        _ => Ok(()),
    }
}

/// Calls `each(k, entry k)` for every entry of the offsets index at `path`, read sequentially
/// through a buffer (not through the mapping).
///
/// Errors: [`PreparedError::Io`] naming the file; the first error of `each`.
fn for_each_offset(
    path: &Path,
    mut each: impl FnMut(u64, u64) -> Result<(), PreparedError>,
) -> Result<(), PreparedError> {
    let io = |source| PreparedError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
    let mut entry = [0u8; 8];
    let mut k = 0u64;
    loop {
        match reader.read_exact(&mut entry) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(io(e)),
        }
        each(k, u64::from_le_bytes(entry))?;
        k += 1;
    }
}

/// Checks every file of the corpus against its checksum manifest, which must list them all.
fn verify_checksums(dir: &Path) -> Result<(), PreparedError> {
    if checksum::read_manifest(dir)?.is_none() {
        return Err(PreparedError::NoManifest {
            path: dir.join(MANIFEST),
        });
    }
    match checksum::verify_listed(dir, &FILES)?.first() {
        Some(name) => Err(PreparedError::Unlisted {
            path: dir.join(name),
        }),
        None => Ok(()),
    }
}

/// A prepared corpus opened for reading: pairs by index, their lengths from the offsets index
/// alone, ids widened to i64 for tch tensors. The data files are memory-mapped, so opening
/// costs no memory proportional to the corpus and the operating system pages ids in as they
/// are read. `Send` and `Sync`: batches can be built from several threads.
///
/// The accessors taking a pair index `i` panic when `i >= len()`, as slice indexing does.
pub struct PreparedCorpus {
    dir: PathBuf,
    header: Header,
    src: SideMap,
    tgt: SideMap,
    lines: Mmap,
}

impl PreparedCorpus {
    /// Opens the prepared corpus `dir` after verifying the SHA-256 of every file against its
    /// `checksums.json`. Verifying reads every byte once: SHA-256 ran at about 1.1 GB/s
    /// (sha2 0.10, one core of an "Intel(R) Xeon(R) Processor" with SHA-NI, files in the page
    /// cache; `examples/prepared_bench.rs`, docs/scale.md), so about 0.1 s per million pairs
    /// of 20 + 20 u16 ids (106 bytes a pair), 0.5 s for five million; it also brings the
    /// pages into the OS cache for training. [`open_unverified`](Self::open_unverified) skips
    /// it (2 ms per million pairs).
    ///
    /// Errors: [`PreparedError::NoManifest`], [`PreparedError::Unlisted`] or
    /// [`PreparedError::Checksum`] ("checksum mismatch: FILE was modified or is corrupt")
    /// naming the file, then the errors of [`open_unverified`](Self::open_unverified).
    pub fn open(dir: &Path) -> Result<Self, PreparedError> {
        verify_checksums(dir)?;
        Self::open_unverified(dir)
    }

    /// Opens the prepared corpus `dir` without reading its checksums: reads `header.json`,
    /// maps the data files, checks that each file's size matches the header's counts and that
    /// each offsets index starts at 0, never decreases and ends at its side's token count (one
    /// pass over 16 bytes per pair). Ids are not compared with the vocabulary here: the
    /// writer checked them, and only [`open`](Self::open)'s checksums prove the files are
    /// still what it wrote.
    ///
    /// Errors, each naming the file: [`PreparedError::Io`], the header's errors (see
    /// [`Header::read`]), [`PreparedError::SizeMismatch`] (e.g. a truncated index),
    /// [`PreparedError::OffsetsStart`], [`PreparedError::OffsetsDecrease`],
    /// [`PreparedError::OffsetsEnd`].
    pub fn open_unverified(dir: &Path) -> Result<Self, PreparedError> {
        let header = Header::read(dir)?;
        let w = header.id_width;
        let src = SideMap::open(
            dir,
            (SRC_IDS, SRC_OFFSETS),
            w,
            header.pairs,
            header.src_tokens,
        )?;
        let tgt = SideMap::open(
            dir,
            (TGT_IDS, TGT_OFFSETS),
            w,
            header.pairs,
            header.tgt_tokens,
        )?;
        let lines = map_sized(&dir.join(LINES), header.pairs.saturating_mul(8))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            header,
            src,
            tgt,
            lines,
        })
    }

    /// Gives the pages of the mappings that this process has touched back to the operating
    /// system (`madvise(MADV_DONTNEED)`, best effort): they leave the process's resident set
    /// and stay in the page cache, and the next read of them faults them in again unchanged.
    /// Training calls it after building each update's batches, so that its RSS does not grow
    /// toward the corpus size as an epoch reads the ids. Its cost is a walk over the page
    /// tables of the mappings.
    pub fn release_pages(&self) {
        let maps = [
            &self.src.ids,
            &self.src.offsets,
            &self.tgt.ids,
            &self.tgt.offsets,
            &self.lines,
        ];
        for map in maps {
            // SAFETY: the maps are read-only shared mappings of files that are never written in
            // place (the writer replaces whole directories), so dropping their pages cannot
            // change what a later read sees: it reads the same bytes from the page cache or file.
            let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }

    /// The directory the corpus was opened from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The header: format version, id width, vocabulary sizes and counts.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Width of the stored ids.
    pub fn id_width(&self) -> IdWidth {
        self.header.id_width
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.header.pairs as usize
    }

    /// Whether the corpus has no pairs.
    pub fn is_empty(&self) -> bool {
        self.header.pairs == 0
    }

    /// Panics unless `i` is a pair index.
    fn check(&self, i: usize) {
        assert!(
            i < self.len(),
            "pair {i} out of range: the corpus has {} pairs",
            self.len()
        );
    }

    /// Number of source tokens of pair `i`, from the offsets index (no id is read).
    pub fn src_len(&self, i: usize) -> usize {
        self.check(i);
        self.src.len(i)
    }

    /// Number of target tokens of pair `i`, from the offsets index (no id is read).
    pub fn tgt_len(&self, i: usize) -> usize {
        self.check(i);
        self.tgt.len(i)
    }

    /// `(src_len, tgt_len)` of every pair in order, as [`crate::data::plan_epoch`] takes them;
    /// reads the two offsets indexes only, through the mapping (see
    /// [`read_lengths`](Self::read_lengths) for a pass over all pairs of a large corpus).
    pub fn lengths(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.len()).map(|i| (self.src.len(i), self.tgt.len(i)))
    }

    /// The lengths of every pair, as [`lengths`](Self::lengths), in 8 bytes a pair, read from
    /// the offsets files sequentially rather than through the mapping, so that the pass leaves
    /// none of the index's pages (16 bytes a pair) in the process's resident set.
    ///
    /// Errors: [`PreparedError::Io`] naming an offsets file that cannot be read.
    pub fn read_lengths(&self) -> Result<Vec<PairLengths>, PreparedError> {
        let mut lengths = vec![PairLengths::default(); self.len()];
        for (name, tgt) in [(SRC_OFFSETS, false), (TGT_OFFSETS, true)] {
            let mut previous = 0u64;
            for_each_offset(&self.dir.join(name), |k, value| {
                if let Some(l) = k.checked_sub(1).and_then(|i| lengths.get_mut(i as usize)) {
                    let len = u32::try_from(value.saturating_sub(previous)).unwrap_or(u32::MAX);
                    if tgt {
                        l.tgt = len;
                    } else {
                        l.src = len;
                    }
                }
                previous = value;
                Ok(())
            })?;
        }
        Ok(lengths)
    }

    /// The source ids of pair `i`.
    pub fn src(&self, i: usize) -> Vec<i64> {
        let mut out = Vec::new();
        self.append_src(i, &mut out);
        out
    }

    /// The target ids of pair `i`.
    pub fn tgt(&self, i: usize) -> Vec<i64> {
        let mut out = Vec::new();
        self.append_tgt(i, &mut out);
        out
    }

    /// Appends the source ids of pair `i` to `out` (e.g. a batch's flat buffer, padded by the
    /// caller), without allocating when `out` has room.
    pub fn append_src(&self, i: usize, out: &mut Vec<i64>) {
        self.check(i);
        self.src.append(i, out);
    }

    /// Appends the target ids of pair `i` to `out`, as [`append_src`](Self::append_src).
    pub fn append_tgt(&self, i: usize, out: &mut Vec<i64>) {
        self.check(i);
        self.tgt.append(i, out);
    }

    /// The 1-based input line number pair `i` came from, as given to the writer.
    pub fn line(&self, i: usize) -> u64 {
        self.check(i);
        u64_at(&self.lines, i)
    }
}
