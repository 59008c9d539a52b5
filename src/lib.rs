//! tolk: attention-based neural machine translation on libtorch.
//!
//! Layers point one way: data → batch → model → search → metrics, with the artifacts (model
//! directory, checkpoints) below training and decoding, and the CLI (`src/bin/tolk/`) as a thin
//! layer on top. One concept per module:
//! - [`data`]: reading parallel corpora and translation input, length filtering, token-based
//!   batching.
//! - [`subword`]: BPE segmentation (Hugging Face `tokenizers`).
//! - [`batch`]: padded id tensors of a batch of sentence pairs.
//! - [`model`]: encoder, attention, decoders, deep output (Bahdanau et al. 2015; Luong et al.
//!   2015).
//! - [`decode`]: the [`decode::StepModel`] interface, greedy and beam search, shortlist,
//!   alignments, the [`decode::Translator`] with its resolved options.
//! - [`artifacts`]: model directory, named checkpoints with checksums, metrics.csv, atomic
//!   writes.
//! - [`distributed`]: data-parallel training on c10d (Gloo): the world from `torchrun`'s
//!   variables, the process group, gradient buckets.
//! - [`train`]: loss, objective, optimiser, schedule, training state, one update, the loop.
//! - [`document`]: running text (paragraphs, lines, several sentences) split into sentences
//!   and put back in its layout.
//! - [`detect`]: language detection for `source = auto`.
//! - [`html`]: translating the text of an HTML fragment, markup kept.
//! - [`metrics`]: BLEU and chrF exactly as sacreBLEU 2.x computes them.
//! - [`plot`]: attention heatmaps and learning curves.
//! - [`serve`]: the HTTP server (LibreTranslate and native APIs, dynamic batching, metrics,
//!   web page), a thin layer over [`decode`] like the CLI.
//! - [`kernels`]: fused CPU kernels (attention energies, GRU gates, top-n with log-sum-exp,
//!   int8 dequantisation, label-smoothed cross entropy), each tested against its reference.
//! - [`precision`]: fp32 / bf16 / int8 decoding, chosen from the CPU's features.
//! - [`config`]: the experiment configuration file.
//! - [`runtime`]: device, threads, OpenMP wait policy.
//! - [`error`]: the typed errors at the library boundary.

pub mod artifacts;
pub mod batch;
pub mod config;
pub mod data;
pub mod decode;
pub mod detect;
pub mod distributed;
pub mod document;
pub mod error;
pub mod html;
pub mod kernels;
pub mod metrics;
pub mod model;
pub mod plot;
pub mod precision;
pub mod runtime;
pub mod serve;
pub mod subword;
pub mod train;
