//! The attention-based encoder-decoder of Bahdanau et al. (2015, arXiv 1409.0473).
//!
//! Data flow, with the shapes used throughout (`B` batch, `S` source length, `T` target
//! length, `H` encoder hidden size per direction, `D` decoder hidden size, `V` vocabulary):
//!
//! ```text
//! source ids [B,S] ─ Encoder ─▶ annotations h_j [B,S,2H] ─┬─ Bridge ─▶ s_0 [B,D]
//!                                                          └─ Attention keys U h_j [B,S,A]
//! for i in 1..=T:  c_i = Σ_j α_ij h_j,  α_i = softmax(v^T tanh(W s_{i-1} + U h_j))
//!                  s_i = RNN([E y_{i-1}; c_i], s_{i-1})
//! DeepOutput([s_i; c_i; E y_{i-1}]) ─▶ logits [B,T,V]   (one batched matmul for all steps)
//! ```

pub mod attention;
pub mod bahdanau;
pub mod bridge;
pub mod decoder;
pub mod encoder;
pub mod luong;
pub mod output;
pub mod projection;
pub mod quantized;
pub mod rnn_cell;
pub mod seq2seq;

pub use attention::Attention;
pub use bahdanau::BahdanauDecoder;
pub use decoder::{Decoder, DecoderOutput, DecoderState};
pub use encoder::{Encoder, EncoderOutput};
pub use luong::LuongDecoder;
pub use projection::VocabularyProjection;
pub use seq2seq::Seq2Seq;

/// Embedding initialisation: uniform in [-0.1, 0.1] (OpenNMT's `param_init`), small enough for
/// embeddings tied with the output projection (N(0, 1), libtorch's default, gives huge logits).
pub fn embedding_config() -> tch::nn::EmbeddingConfig {
    tch::nn::EmbeddingConfig {
        ws_init: tch::nn::Init::Uniform { lo: -0.1, up: 0.1 },
        ..Default::default()
    }
}
