//! The prepared (binary) training corpus of issue 29: segmented sentence pairs stored as token
//! ids, written once by [`PreparedWriter`] and memory-mapped by [`PreparedCorpus`], so that
//! training on millions of pairs holds neither their text nor a `Vec<i64>` per sentence.
//!
//! # On-disk layout (format version 1)
//!
//! A prepared corpus is a directory `DIR/` with these files; every number is little-endian.
//!
//! | file | contents |
//! |---|---|
//! | `header.json` | `{"format": "tolk-prepared-corpus", "version": 1, "id_width": 2, "src_vocab": …, "tgt_vocab": …, "pairs": P, "src_tokens": S, "tgt_tokens": T}` ([`Header`]) |
//! | `src.ids` | the source ids of all pairs, concatenated in pair order: `S × id_width` bytes, each id a u16 (`id_width` 2) or u32 (4) |
//! | `src.offsets` | `P + 1` u64: entry `i` is the index in `src.ids` (in ids, not bytes) where pair `i` starts; entry 0 is 0, entry `P` is `S`, never decreasing |
//! | `tgt.ids`, `tgt.offsets` | the same for the target side (`T` tokens) |
//! | `lines.u64` | `P` u64: the 1-based input line number of each pair kept |
//! | `checksums.json` | SHA-256 of each file above ([`crate::artifacts::checksum`]) |
//!
//! * Ids are the segmenter's ids as given to [`PreparedWriter::push`], without BOS/EOS;
//!   every source id is below `src_vocab`, every target id below `tgt_vocab` (the writer
//!   checks). One width for both sides: u16 when both vocabularies have at most 65,536
//!   entries, else u32.
//! * Pair `i`'s source ids are `src.ids[src.offsets[i] .. src.offsets[i + 1]]`; its length is
//!   the difference of the two offsets, so lengths (for batching) never read the ids.
//! * A side may be empty (equal consecutive offsets): whether empty sentences are kept is the
//!   policy of the code that reads the text, not of the format.
//! * Line numbers are stored as given, in pair order; they need not increase (a joined pair
//!   carries the line of its first pair).
//! * The data files have no header of their own, so a page-aligned mapping of one is aligned
//!   for its element type; the JSON header is small, readable and checksummed like the rest.
//!
//! # Atomicity
//!
//! The writer fills `DIR.tmp/` (beside `DIR`), fsyncs every file, records the checksums, then
//! renames `DIR` to `DIR.old`, `DIR.tmp` to `DIR` and removes `DIR.old`, as checkpoints are
//! saved (`crate::artifacts::checkpoint`). A reader sees the previous corpus or the new one;
//! files are never written in place, so a mapping of the previous corpus stays valid.

mod error;
mod header;
mod reader;
mod writer;

pub use error::{PreparedError, Side};
pub use header::{Header, IdWidth, FORMAT, HEADER_FILE, VERSION};
pub use reader::PreparedCorpus;
pub use writer::PreparedWriter;

/// Source ids file.
pub const SRC_IDS: &str = "src.ids";
/// Source offsets index.
pub const SRC_OFFSETS: &str = "src.offsets";
/// Target ids file.
pub const TGT_IDS: &str = "tgt.ids";
/// Target offsets index.
pub const TGT_OFFSETS: &str = "tgt.offsets";
/// Input line numbers of the pairs.
pub const LINES: &str = "lines.u64";

/// Every file the checksum manifest lists, header first.
pub const FILES: [&str; 6] = [
    HEADER_FILE,
    SRC_IDS,
    SRC_OFFSETS,
    TGT_IDS,
    TGT_OFFSETS,
    LINES,
];
