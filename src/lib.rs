//! tolk: attention-based neural machine translation on libtorch.
//!
//! Layout (one concept per module):
//! - [`data`]: reading parallel corpora, length filtering, token-based batching.
//! - [`subword`]: BPE segmentation (Hugging Face `tokenizers`).
//! - [`model`]: encoder, attention, decoder, deep output (Bahdanau et al. 2015).
//! - [`train`]: loss, optimiser, learning-rate schedule, checkpoints, the training loop.
//! - [`decode`]: greedy and beam search.
//! - [`metrics`]: BLEU and chrF exactly as sacreBLEU 2.x computes them.
//! - [`config`]: the experiment configuration file.

pub mod artifacts;
pub mod batch;
pub mod config;
pub mod data;
pub mod decode;
pub mod error;
pub mod metrics;
pub mod model;
pub mod plot;
pub mod runtime;
pub mod subword;
pub mod train;
