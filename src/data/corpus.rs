//! Reading sentence-aligned plain-text corpora.
//!
//! A parallel corpus is a pair of files with one sentence per line, where line
//! *n* of the source file is the translation of line *n* of the target file.
//! Files ending in `.gz`, or starting with the gzip magic bytes `1f 8b`, are
//! decompressed transparently (concatenated gzip members are supported).
//!
//! Reading is strict:
//!
//! * every line must be valid UTF-8; nothing is converted lossily, and an
//!   error names the file, the 1-based line and the byte offset in the line;
//! * both files must have the same number of lines;
//! * only the line terminator is removed (`"\n"` or `"\r\n"`); all other
//!   whitespace, including TAB, NBSP or a trailing lone `"\r"` at end of file,
//!   is kept exactly as it is;
//! * a UTF-8 byte order mark (`EF BB BF`) at the very start of a file is
//!   dropped, since it is an encoding artefact rather than text.
//!
//! A file that ends without a final newline has the same lines as one that
//! ends with it: `"a\nb"` and `"a\nb\n"` both contain the two lines `a`, `b`.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

use super::text_check::{check_line, UnusableLine};

/// First two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// UTF-8 encoding of U+FEFF, the byte order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// How many skipped line numbers [`ReadStats::first_empty_lines`] keeps.
pub const MAX_REPORTED_EMPTY_LINES: usize = 10;

/// What [`read_parallel`] does with a pair where either side is empty or
/// whitespace-only.
///
/// Serialized in lowercase (`"skip"`, `"fail"`), e.g. in a TOML config:
/// `empty_lines = "fail"`. Also parses from those strings with [`FromStr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmptyLinePolicy {
    /// Drop the pair, count it in [`ReadStats::empty_skipped`] and keep the
    /// remaining pairs aligned (the default).
    #[default]
    Skip,
    /// Stop with [`CorpusError::EmptyLine`] naming the file and line.
    Fail,
}

impl EmptyLinePolicy {
    /// The lowercase name used in configs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            EmptyLinePolicy::Skip => "skip",
            EmptyLinePolicy::Fail => "fail",
        }
    }
}

impl fmt::Display for EmptyLinePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EmptyLinePolicy {
    type Err = String;

    /// Parses `"skip"` or `"fail"` (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "skip" => Ok(EmptyLinePolicy::Skip),
            "fail" => Ok(EmptyLinePolicy::Fail),
            _ => Err(format!(
                "invalid empty-line policy {s:?}: expected \"skip\" or \"fail\""
            )),
        }
    }
}

/// Counters collected while reading a parallel corpus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Number of lines in each of the two files (equal, or reading fails).
    pub lines_read: usize,
    /// Pairs dropped because one side was empty or whitespace-only
    /// (always 0 under [`EmptyLinePolicy::Fail`]).
    pub empty_skipped: usize,
    /// Pairs returned (`lines_read - empty_skipped - unusable_skipped`).
    pub kept: usize,
    /// 1-based line numbers of the first (at most
    /// [`MAX_REPORTED_EMPTY_LINES`]) skipped pairs, for log messages.
    pub first_empty_lines: Vec<usize>,
    /// Pairs dropped because a side is not usable text (control characters, over the
    /// character limit; only [`read_training_pairs`] checks).
    pub unusable_skipped: usize,
    /// The first (at most [`MAX_REPORTED_EMPTY_LINES`]) unusable lines, for log messages.
    pub first_unusable: Vec<UnusableLine>,
    /// Lines, summed over both files, that ended in `"\r\n"`.
    pub crlf_lines: usize,
    /// Whether the source file was read as gzip.
    pub src_gzip: bool,
    /// Whether the target file was read as gzip.
    pub tgt_gzip: bool,
}

/// A sentence-aligned parallel corpus read by [`read_parallel`].
///
/// `src[i]`, `tgt[i]` and `line_numbers[i]` describe the same pair; the three
/// vectors always have the same length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParallelCorpus {
    /// Source sentences, line terminator removed, otherwise untouched.
    pub src: Vec<String>,
    /// Target sentences, line terminator removed, otherwise untouched.
    pub tgt: Vec<String>,
    /// 1-based line number of each pair in the input files (the same in both
    /// files), so that later diagnostics can point back at the data.
    pub line_numbers: Vec<usize>,
    /// Counters gathered while reading.
    pub stats: ReadStats,
}

impl ParallelCorpus {
    /// Number of sentence pairs.
    pub fn len(&self) -> usize {
        self.src.len()
    }

    /// Whether the corpus holds no pairs.
    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }
}

/// Errors from reading corpus files. Every variant names the file; those tied
/// to a position also give the 1-based line number, formatted `path:line:` so
/// editors and terminals can jump to it.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The file could not be opened or read.
    #[error("{}: cannot read file: {source}", .path.display())]
    Io {
        /// File being read.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },

    /// The two sides of a parallel corpus have different numbers of lines.
    #[error(
        "line count mismatch: {} has {src_lines} lines but {} has {tgt_lines} lines ({})",
        .src_path.display(),
        .tgt_path.display(),
        shorter_note(.src_path, *.src_lines, .tgt_path, *.tgt_lines)
    )]
    LineCountMismatch {
        /// Source file.
        src_path: PathBuf,
        /// Number of lines in the source file.
        src_lines: usize,
        /// Target file.
        tgt_path: PathBuf,
        /// Number of lines in the target file.
        tgt_lines: usize,
    },

    /// A line is not valid UTF-8.
    #[error("{}:{line}: invalid UTF-8 at byte {byte_offset} of the line", .path.display())]
    InvalidUtf8 {
        /// File being read.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 0-based byte offset, within the raw line, of the first byte that is
        /// not part of a valid UTF-8 sequence.
        byte_offset: usize,
    },

    /// A pair has an empty (or whitespace-only) side and the policy is
    /// [`EmptyLinePolicy::Fail`].
    #[error(
        "{}:{line}: empty or whitespace-only line (empty-line policy is \"fail\"; use \"skip\" to drop such pairs)",
        .path.display()
    )]
    EmptyLine {
        /// The file whose line is empty (the source file if both are).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },

    /// The gzip stream is corrupt or truncated.
    #[error("{}:{line}: corrupt or truncated gzip data: {source}", .path.display())]
    Gzip {
        /// File being read.
        path: PathBuf,
        /// 1-based number of the line being decoded when the error occurred.
        line: usize,
        /// Error reported by the decoder.
        #[source]
        source: io::Error,
    },
}

impl CorpusError {
    /// The file the error is about (the source file for a line count
    /// mismatch).
    pub fn path(&self) -> &Path {
        match self {
            CorpusError::Io { path, .. }
            | CorpusError::InvalidUtf8 { path, .. }
            | CorpusError::EmptyLine { path, .. }
            | CorpusError::Gzip { path, .. } => path,
            CorpusError::LineCountMismatch { src_path, .. } => src_path,
        }
    }

    /// The 1-based line the error is about, if it is tied to one.
    pub fn line(&self) -> Option<usize> {
        match self {
            CorpusError::InvalidUtf8 { line, .. }
            | CorpusError::EmptyLine { line, .. }
            | CorpusError::Gzip { line, .. } => Some(*line),
            CorpusError::Io { .. } | CorpusError::LineCountMismatch { .. } => None,
        }
    }
}

fn shorter_note(src: &Path, src_lines: usize, tgt: &Path, tgt_lines: usize) -> String {
    let (short, diff) = if src_lines < tgt_lines {
        (src, tgt_lines - src_lines)
    } else {
        (tgt, src_lines - tgt_lines)
    };
    format!(
        "{} is shorter by {diff} line{}",
        short.display(),
        if diff == 1 { "" } else { "s" }
    )
}

/// Line-by-line reader over a plain or gzip file (or any [`BufRead`], such as stdin), with
/// strict decoding: each line is returned without its terminator (and without a BOM on line
/// 1), and a line that is not UTF-8 is an error naming the input and the line. The reader
/// stays usable after such an error: the next call returns the next line.
pub struct LineReader {
    path: PathBuf,
    inner: Box<dyn BufRead>,
    gzip: bool,
    /// Number of lines returned so far (= 1-based number of the last line).
    line_no: usize,
    crlf_lines: usize,
}

impl LineReader {
    /// Opens a plain or gzip file (by extension or magic bytes).
    ///
    /// Errors: [`CorpusError::Io`] if it cannot be opened, [`CorpusError::Gzip`] for an empty
    /// `.gz` file.
    pub fn open(path: &Path) -> Result<Self, CorpusError> {
        let io_err = |source| CorpusError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let mut magic = [0u8; 2];
        let n_magic = read_up_to(&mut file, &mut magic).map_err(io_err)?;
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let has_gz_ext = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        let gzip = (n_magic == 2 && magic == GZIP_MAGIC) || has_gz_ext;
        if gzip && n_magic == 0 {
            // An empty `.gz` file is not a valid gzip stream; most likely a
            // failed download, so do not read it as an empty corpus.
            return Err(CorpusError::Gzip {
                path: path.to_path_buf(),
                line: 1,
                source: io::Error::new(io::ErrorKind::UnexpectedEof, "file is empty"),
            });
        }
        let inner: Box<dyn BufRead> = if gzip {
            Box::new(BufReader::with_capacity(
                1 << 16,
                MultiGzDecoder::new(BufReader::new(file)),
            ))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        Ok(LineReader {
            path: path.to_path_buf(),
            inner,
            gzip,
            line_no: 0,
            crlf_lines: 0,
        })
    }

    /// Reads uncompressed lines from `reader`; `name` (e.g. `<stdin>`) stands for the input in
    /// error messages.
    pub fn from_reader(name: impl Into<PathBuf>, reader: Box<dyn BufRead>) -> Self {
        LineReader {
            path: name.into(),
            inner: reader,
            gzip: false,
            line_no: 0,
            crlf_lines: 0,
        }
    }

    /// The 1-based number of the line returned last (0 before the first).
    pub fn line_number(&self) -> usize {
        self.line_no
    }

    /// The file (or name) being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_error(&self, source: io::Error) -> CorpusError {
        if self.gzip {
            CorpusError::Gzip {
                path: self.path.clone(),
                line: self.line_no + 1,
                source,
            }
        } else {
            CorpusError::Io {
                path: self.path.clone(),
                source,
            }
        }
    }

    /// Reads the raw bytes of the next line, terminator included.
    /// Returns `false` at end of file.
    fn next_raw(&mut self, buf: &mut Vec<u8>) -> Result<bool, CorpusError> {
        buf.clear();
        let n = self
            .inner
            .read_until(b'\n', buf)
            .map_err(|e| self.read_error(e))?;
        if n == 0 {
            return Ok(false);
        }
        self.line_no += 1;
        Ok(true)
    }

    /// Reads past the next line without decoding it (a line that is not UTF-8 is no error
    /// here); returns `false` at end of input.
    ///
    /// Errors: [`CorpusError::Io`] / [`CorpusError::Gzip`] for read errors.
    pub fn skip_line(&mut self) -> Result<bool, CorpusError> {
        let mut buf = Vec::new();
        self.next_raw(&mut buf)
    }

    /// Returns the next line, without its terminator, as a `String`; `None` at end of input.
    ///
    /// Errors: [`CorpusError::InvalidUtf8`] naming the line (the line is consumed, so reading
    /// can go on), [`CorpusError::Io`] / [`CorpusError::Gzip`] for read errors.
    pub fn next_line(&mut self) -> Result<Option<String>, CorpusError> {
        let mut buf = Vec::new();
        if !self.next_raw(&mut buf)? {
            return Ok(None);
        }
        self.decode(buf).map(Some)
    }

    /// Turns the raw bytes of the line just read by [`Self::next_raw`] into a
    /// `String`: removes the terminator (and a leading BOM on line 1) and
    /// checks UTF-8.
    fn decode(&mut self, mut buf: Vec<u8>) -> Result<String, CorpusError> {
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
                self.crlf_lines += 1;
            }
        }
        let mut bom_len = 0;
        if self.line_no == 1 && buf.starts_with(UTF8_BOM) {
            buf.drain(..UTF8_BOM.len());
            bom_len = UTF8_BOM.len();
        }
        String::from_utf8(buf).map_err(|e| CorpusError::InvalidUtf8 {
            path: self.path.clone(),
            line: self.line_no,
            byte_offset: bom_len + e.utf8_error().valid_up_to(),
        })
    }

    /// Reads (without decoding) the rest of the file and returns the total
    /// number of lines in it.
    fn count_to_end(&mut self) -> Result<usize, CorpusError> {
        let mut buf = Vec::new();
        while self.next_raw(&mut buf)? {}
        Ok(self.line_no)
    }
}

/// Reads up to `buf.len()` bytes, stopping early only at end of file.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Whether a sentence counts as empty: nothing but whitespace (Unicode
/// `White_Space`, so NBSP-only lines are empty too).
fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Reads a sentence-aligned parallel corpus from `src_path` and `tgt_path`.
///
/// Each file holds one sentence per line; `.gz` files (by extension or by
/// gzip magic bytes) are decompressed on the fly. Line terminators (`"\n"`,
/// `"\r\n"`) are removed and nothing else is changed. A pair counts as empty
/// if either side is empty after trimming whitespace; such pairs are dropped
/// or rejected according to `policy`. The kept pairs keep their original
/// 1-based line numbers in [`ParallelCorpus::line_numbers`].
///
/// The files are read in lockstep, so memory holds only the kept sentences.
///
/// # Errors
///
/// * [`CorpusError::Io`] if a file cannot be opened or read;
/// * [`CorpusError::Gzip`] if a compressed file is corrupt or truncated;
/// * [`CorpusError::InvalidUtf8`] for the first line that is not UTF-8;
/// * [`CorpusError::LineCountMismatch`] if the files differ in line count
///   (checked before empty lines, since an empty line in misaligned files is
///   a symptom rather than the cause);
/// * [`CorpusError::EmptyLine`] for the first empty pair under
///   [`EmptyLinePolicy::Fail`].
pub fn read_parallel(
    src_path: &Path,
    tgt_path: &Path,
    policy: EmptyLinePolicy,
) -> Result<ParallelCorpus, CorpusError> {
    read_pairs(src_path, tgt_path, policy, None)
}

/// [`read_parallel`] for training data: also drops each pair with a side that is not usable
/// text ([`crate::data::text_check::check_line`]: control characters other than TAB, more
/// than `max_line_chars` characters; 0 = no length limit), counted in
/// [`ReadStats::unusable_skipped`] with the first lines in [`ReadStats::first_unusable`].
///
/// # Errors
///
/// As [`read_parallel`].
pub fn read_training_pairs(
    src_path: &Path,
    tgt_path: &Path,
    policy: EmptyLinePolicy,
    max_line_chars: usize,
) -> Result<ParallelCorpus, CorpusError> {
    read_pairs(src_path, tgt_path, policy, Some(max_line_chars))
}

/// The reading loop of [`read_parallel`]; with `check`, [`read_training_pairs`]'s text check
/// with that character limit.
fn read_pairs(
    src_path: &Path,
    tgt_path: &Path,
    policy: EmptyLinePolicy,
    check: Option<usize>,
) -> Result<ParallelCorpus, CorpusError> {
    let mut reader = PairReader::open(src_path, tgt_path, policy, check)?;
    let mut corpus = ParallelCorpus::default();
    while let Some(pair) = reader.next_pair()? {
        corpus.src.push(pair.src);
        corpus.tgt.push(pair.tgt);
        corpus.line_numbers.push(pair.line);
    }
    corpus.stats = reader.into_stats();
    tracing::debug!(
        src = %src_path.display(),
        tgt = %tgt_path.display(),
        lines = corpus.stats.lines_read,
        kept = corpus.stats.kept,
        empty_skipped = corpus.stats.empty_skipped,
        "read parallel corpus"
    );
    Ok(corpus)
}

/// One pair of a parallel corpus as [`PairReader`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextPair {
    /// Source sentence, line terminator removed.
    pub src: String,
    /// Target sentence, line terminator removed.
    pub tgt: String,
    /// 1-based line number in both files.
    pub line: usize,
}

/// A parallel corpus read pair by pair, with the rules of [`read_parallel`] (and, given a
/// character limit, [`read_training_pairs`]), so that a corpus of any size streams through
/// in constant memory. [`ReadStats`] are complete once [`next_pair`](Self::next_pair)
/// returned `None`.
pub struct PairReader {
    src: LineReader,
    tgt: LineReader,
    policy: EmptyLinePolicy,
    check: Option<usize>,
    stats: ReadStats,
    first_empty_error: Option<CorpusError>,
    bufs: (Vec<u8>, Vec<u8>),
}

impl PairReader {
    /// Opens both files; `check` is [`read_training_pairs`]'s `max_line_chars` (`None`: no
    /// text check, as [`read_parallel`]).
    ///
    /// Errors: as [`LineReader::open`].
    pub fn open(
        src_path: &Path,
        tgt_path: &Path,
        policy: EmptyLinePolicy,
        check: Option<usize>,
    ) -> Result<Self, CorpusError> {
        Ok(Self {
            src: LineReader::open(src_path)?,
            tgt: LineReader::open(tgt_path)?,
            policy,
            check,
            stats: ReadStats::default(),
            first_empty_error: None,
            bufs: (Vec::new(), Vec::new()),
        })
    }

    /// The counters so far (complete at the end).
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// The counters, taking them.
    pub fn into_stats(self) -> ReadStats {
        self.stats
    }

    /// The next kept pair; `None` at the end of both files.
    ///
    /// Errors: as [`read_parallel`]. Under [`EmptyLinePolicy::Fail`] the first empty pair
    /// is reported at the end of the files, so that a line count mismatch wins over it.
    pub fn next_pair(&mut self) -> Result<Option<TextPair>, CorpusError> {
        loop {
            // Raw bytes of both lines are fetched before either is decoded, so that
            // a line count mismatch wins over a decoding error in the surplus lines.
            let (s_buf, t_buf) = &mut self.bufs;
            let s_more = self.src.next_raw(s_buf)?;
            let t_more = self.tgt.next_raw(t_buf)?;
            match (s_more, t_more) {
                (true, true) => {}
                (false, false) => return self.end().map(|()| None),
                (true, false) | (false, true) => {
                    return Err(CorpusError::LineCountMismatch {
                        src_path: self.src.path.clone(),
                        src_lines: self.src.count_to_end()?,
                        tgt_path: self.tgt.path.clone(),
                        tgt_lines: self.tgt.count_to_end()?,
                    });
                }
            }
            let s = self.src.decode(std::mem::take(s_buf))?;
            let t = self.tgt.decode(std::mem::take(t_buf))?;
            let line = self.src.line_no;
            if self.usable(&s, &t, line) {
                self.stats.kept += 1;
                return Ok(Some(TextPair {
                    src: s,
                    tgt: t,
                    line,
                }));
            }
        }
    }

    /// Applies the empty-line policy and the text check to one pair, counting what it drops.
    fn usable(&mut self, s: &str, t: &str, line: usize) -> bool {
        let (s_blank, t_blank) = (is_blank(s), is_blank(t));
        if s_blank || t_blank {
            match self.policy {
                EmptyLinePolicy::Skip => {
                    self.stats.empty_skipped += 1;
                    if self.stats.first_empty_lines.len() < MAX_REPORTED_EMPTY_LINES {
                        self.stats.first_empty_lines.push(line);
                    }
                }
                EmptyLinePolicy::Fail if self.first_empty_error.is_none() => {
                    let path = if s_blank {
                        &self.src.path
                    } else {
                        &self.tgt.path
                    };
                    self.first_empty_error = Some(CorpusError::EmptyLine {
                        path: path.clone(),
                        line,
                    });
                }
                EmptyLinePolicy::Fail => {}
            }
            return false;
        }
        let Some(max_chars) = self.check else {
            return true;
        };
        let unusable = [(&self.src.path, s), (&self.tgt.path, t)]
            .into_iter()
            .find_map(|(path, text)| Some((path, check_line(text, max_chars)?)));
        let Some((path, why)) = unusable else {
            return true;
        };
        self.stats.unusable_skipped += 1;
        if self.stats.first_unusable.len() < MAX_REPORTED_EMPTY_LINES {
            self.stats.first_unusable.push(UnusableLine {
                path: path.clone(),
                line,
                why,
            });
        }
        false
    }

    /// Completes the counters at the end of the files; the delayed empty-line error.
    fn end(&mut self) -> Result<(), CorpusError> {
        if let Some(err) = self.first_empty_error.take() {
            return Err(err);
        }
        self.stats.lines_read = self.src.line_no;
        self.stats.crlf_lines = self.src.crlf_lines + self.tgt.crlf_lines;
        self.stats.src_gzip = self.src.gzip;
        self.stats.tgt_gzip = self.tgt.gzip;
        Ok(())
    }
}

/// Reads a monolingual file, one sentence per line (e.g. input to translate).
///
/// Same decoding rules as [`read_parallel`] (gzip, strict UTF-8, `"\n"` /
/// `"\r\n"` removed, leading BOM dropped), but every line is kept, including
/// empty ones, so that output line *i* can correspond to input line *i*.
///
/// # Errors
///
/// [`CorpusError::Io`], [`CorpusError::Gzip`] or [`CorpusError::InvalidUtf8`]
/// (with the 1-based line number).
pub fn read_lines(path: &Path) -> Result<Vec<String>, CorpusError> {
    let mut reader = LineReader::open(path)?;
    let mut lines = Vec::new();
    while let Some(line) = reader.next_line()? {
        lines.push(line);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn policy_serde_and_parse() {
        assert_eq!(EmptyLinePolicy::default(), EmptyLinePolicy::Skip);
        assert_eq!(
            serde_json::to_string(&EmptyLinePolicy::Fail).unwrap(),
            "\"fail\""
        );
        let p: EmptyLinePolicy = serde_json::from_str("\"skip\"").unwrap();
        assert_eq!(p, EmptyLinePolicy::Skip);
        assert!(serde_json::from_str::<EmptyLinePolicy>("\"Skip\"").is_err());
        assert_eq!("FAIL".parse::<EmptyLinePolicy>(), Ok(EmptyLinePolicy::Fail));
        assert!("maybe".parse::<EmptyLinePolicy>().is_err());
        assert_eq!(EmptyLinePolicy::Fail.to_string(), "fail");
    }

    #[test]
    fn strips_only_terminators_and_bom() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(
            dir.path(),
            "x.txt",
            b"\xEF\xBB\xBF a\tb \r\n\xC2\xA0c\xC2\xA0\n\n\r\nlast\r",
        );
        let lines = read_lines(&p).unwrap();
        assert_eq!(lines, vec![" a\tb ", "\u{a0}c\u{a0}", "", "", "last\r"]);
    }

    #[test]
    fn bom_only_stripped_on_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "x.txt", b"a\n\xEF\xBB\xBFb\n");
        assert_eq!(read_lines(&p).unwrap(), vec!["a", "\u{feff}b"]);
    }

    #[test]
    fn utf8_offset_counts_stripped_bom() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "x.txt", b"\xEF\xBB\xBFab\xFF\n");
        match read_lines(&p).unwrap_err() {
            CorpusError::InvalidUtf8 {
                line, byte_offset, ..
            } => {
                assert_eq!(line, 1);
                assert_eq!(byte_offset, 5);
            }
            e => panic!("unexpected error {e}"),
        }
    }

    #[test]
    fn gzip_detected_by_magic_without_extension() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "plain-name.txt", &gzip(b"x\ny\n"));
        assert_eq!(read_lines(&p).unwrap(), vec!["x", "y"]);
    }

    #[test]
    fn concatenated_gzip_members() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = gzip(b"a\nb\n");
        bytes.extend(gzip(b"c\n"));
        let p = write_file(dir.path(), "x.gz", &bytes);
        assert_eq!(read_lines(&p).unwrap(), vec!["a", "b", "c"]);
    }

    #[test]
    fn gz_extension_with_plain_content_is_gzip_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "x.de.gz", b"not gzip\n");
        let err = read_lines(&p).unwrap_err();
        assert!(matches!(err, CorpusError::Gzip { line: 1, .. }), "{err:?}");
        assert!(err.to_string().contains("x.de.gz:1:"), "{err}");
    }

    #[test]
    fn empty_gz_file_is_gzip_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "x.gz", b"");
        assert!(matches!(
            read_lines(&p).unwrap_err(),
            CorpusError::Gzip { .. }
        ));
    }

    #[test]
    fn empty_plain_file_has_no_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "x.txt", b"");
        assert!(read_lines(&p).unwrap().is_empty());
    }

    #[test]
    fn missing_file_is_io_error_with_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope.txt");
        let err = read_lines(&p).unwrap_err();
        assert!(matches!(err, CorpusError::Io { .. }), "{err:?}");
        assert_eq!(err.path(), p.as_path());
        assert!(err.to_string().contains("nope.txt"), "{err}");
    }

    #[test]
    fn shorter_note_wording() {
        let a = Path::new("a.de");
        let b = Path::new("b.en");
        assert_eq!(shorter_note(a, 3, b, 5), "a.de is shorter by 2 lines");
        assert_eq!(shorter_note(a, 5, b, 4), "b.en is shorter by 1 line");
    }

    #[test]
    fn whitespace_only_counts_as_blank() {
        assert!(is_blank(""));
        assert!(is_blank(" \t"));
        assert!(is_blank("\u{a0}"));
        assert!(!is_blank(" x "));
    }
}
