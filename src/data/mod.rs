//! Data layer: reading parallel corpora, length filtering and batching.
//!
//! Nothing in this module depends on a tensor library; it works on strings,
//! token counts and example indices only, so it can be tested and benchmarked
//! without libtorch.
//!
//! * [`corpus`] reads sentence-aligned plain-text files (one sentence per
//!   line, optionally gzip-compressed) strictly: invalid UTF-8, mismatched
//!   line counts and (optionally) empty lines are reported with the file name
//!   and the 1-based line number.
//! * [`input`] reads translation input (a file or stdin) line by line with a policy for
//!   lines that are not UTF-8.
//! * [`shard`] splits an input into N contiguous line ranges, for translating a corpus as N
//!   independent jobs.
//! * [`length_filter`] drops training pairs whose tokenized source or target
//!   is longer than a limit, remembering which ones were dropped.
//! * [`prepared`] writes and memory-maps the binary training corpus (token ids, offsets,
//!   line numbers) that `tolk prepare` will produce (issue 29).
//! * [`batching`] groups examples into batches under a padded-token budget,
//!   with length bucketing and a deterministic per-epoch shuffle for training,
//!   and length-sorted batches for inference.
//!
//! Typical flow for training data:
//!
//! 1. [`read_parallel`] → [`ParallelCorpus`] (text plus original line numbers);
//! 2. tokenize each side (elsewhere) and call [`filter_by_length`];
//! 3. every epoch, call [`plan_epoch`] with the `(src_len, tgt_len)` token
//!    counts of the kept examples to get the batches of that epoch.

pub mod batching;
pub mod concat;
pub mod corpus;
pub mod input;
pub mod length_filter;
pub mod prepared;
pub mod shard;
pub mod text_check;

pub use batching::{
    batch_cost, padding_fraction, plan_epoch, plan_inference, BatchPlan, EpochPlan, PairLengths,
    DEFAULT_POOL_FACTOR,
};
pub use corpus::{
    read_lines, read_parallel, CorpusError, EmptyLinePolicy, ParallelCorpus, ReadStats,
};
pub use input::{BadLinePolicy, InputLines};
pub use length_filter::{filter_by_length, LengthFilter};
pub use shard::Shard;
