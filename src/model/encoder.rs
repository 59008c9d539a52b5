//! Bidirectional recurrent encoder (Bahdanau et al. 2015, §3.2): annotations
//! h_j = [h→_j; h←_j].

use tch::nn::{self, RNN};
use tch::{Kind, Tensor};

use crate::config::{ModelConfig, RnnType};

/// What the decoder needs from the encoder for one batch.
#[derive(Debug)]
pub struct EncoderOutput {
    /// Annotations h_j = [h→_j; h←_j] `[B, S, 2H]` (zero at padding).
    pub annotations: Tensor,
    /// `[B, S]` bool, `true` at real source tokens.
    pub mask: Tensor,
    /// Backward state at the first position, h←_1 `[B, H]`, input of the bridge.
    pub backward_first: Tensor,
}

impl EncoderOutput {
    /// Reorders/expands the batch (beam search): `index` `[B']`.
    pub fn index_select(&self, index: &Tensor) -> Self {
        Self {
            annotations: self.annotations.index_select(0, index),
            mask: self.mask.index_select(0, index),
            backward_first: self.backward_first.index_select(0, index),
        }
    }

    /// A second handle to the same tensors (no copy).
    pub fn shallow_clone(&self) -> Self {
        Self {
            annotations: self.annotations.shallow_clone(),
            mask: self.mask.shallow_clone(),
            backward_first: self.backward_first.shallow_clone(),
        }
    }
}

#[derive(Debug)]
enum Rnn {
    Gru(nn::GRU),
    Lstm(nn::LSTM),
}

impl Rnn {
    fn new(vs: nn::Path, kind: RnnType, input: i64, hidden: i64) -> Self {
        let cfg = nn::RNNConfig {
            batch_first: true,
            ..Default::default()
        };
        match kind {
            RnnType::Gru => Rnn::Gru(nn::gru(vs, input, hidden, cfg)),
            RnnType::Lstm => Rnn::Lstm(nn::lstm(vs, input, hidden, cfg)),
        }
    }

    /// `[B, S, in]` → `[B, S, H]` (libtorch's fused RNN kernel).
    fn seq(&self, x: &Tensor) -> Tensor {
        match self {
            Rnn::Gru(r) => r.seq(x).0,
            Rnn::Lstm(r) => r.seq(x).0,
        }
    }
}

/// Embeddings plus a stack of bidirectional GRU/LSTM layers.
///
/// Padding is handled exactly without packing: the backward direction runs over each
/// sentence reversed within its own length, so padding never enters a real position's state.
#[derive(Debug)]
pub struct Encoder {
    embed: nn::Embedding,
    layers: Vec<(Rnn, Rnn)>,
    dropout: f64,
}

/// Reverses each row of `x` `[B, S, F]` within its length (`lengths` `[B]` int64); padding
/// positions stay where they are.
pub fn reverse_padded(x: &Tensor, lengths: &Tensor) -> Tensor {
    let (b, s, f) = x.size3().expect("[B,S,F]");
    let t = Tensor::arange(s, (Kind::Int64, x.device())).unsqueeze(0); // [1,S]
    let len = lengths.unsqueeze(1); // [B,1]
    let rev = (&len - 1 - &t).where_self(&t.lt_tensor(&len), &t.expand([b, s], false));
    x.gather(1, &rev.unsqueeze(-1).expand([b, s, f], false), false)
}

impl Encoder {
    /// Builds the encoder from the model config; `vocab` is the source vocabulary size.
    pub fn new(vs: nn::Path, cfg: &ModelConfig, vocab: i64) -> Self {
        let embed = nn::embedding(
            &vs / "embed",
            vocab,
            cfg.src_embed_dim as i64,
            super::embedding_config(),
        );
        let h = cfg.encoder_hidden as i64;
        let mut layers = Vec::new();
        let mut input = cfg.src_embed_dim as i64;
        for l in 0..cfg.encoder_layers {
            let fwd = Rnn::new(&vs / format!("layer{l}_forward"), cfg.rnn, input, h);
            let bwd = Rnn::new(&vs / format!("layer{l}_backward"), cfg.rnn, input, h);
            layers.push((fwd, bwd));
            input = 2 * h;
        }
        Self {
            embed,
            layers,
            dropout: cfg.dropout,
        }
    }

    /// Encodes `src` `[B, S]` int64 with `lengths` `[B]` int64 (`mask` is derived from them).
    pub fn forward(&self, src: &Tensor, lengths: &Tensor, train: bool) -> EncoderOutput {
        let s = src.size()[1];
        let t = Tensor::arange(s, (Kind::Int64, src.device())).unsqueeze(0);
        let mask = t.lt_tensor(&lengths.unsqueeze(1)); // [B,S]
        let mut x = src.apply(&self.embed).dropout(self.dropout, train);
        let mut backward_first = Tensor::new();
        for (i, (fwd, bwd)) in self.layers.iter().enumerate() {
            if i > 0 {
                x = x.dropout(self.dropout, train);
            }
            let out_f = fwd.seq(&x);
            let out_b_rev = bwd.seq(&reverse_padded(&x, lengths));
            let out_b = reverse_padded(&out_b_rev, lengths);
            backward_first = out_b.select(1, 0);
            x = Tensor::cat(&[out_f, out_b], 2);
        }
        let annotations = x * mask.unsqueeze(-1);
        EncoderOutput {
            annotations,
            mask,
            backward_first,
        }
    }
}
