//! Decoder initial state from the encoder (Bahdanau et al. 2015, appendix A.2.2):
//! s_0 = tanh(W_s h←_1).

use tch::{nn, Tensor};

/// The bridge W_s `[D, H]` (with bias) from the first backward annotation to s_0.
#[derive(Debug)]
pub struct Bridge {
    proj: nn::Linear,
}

impl Bridge {
    /// `encoder_hidden` H, `decoder_hidden` D.
    pub fn new(vs: nn::Path, encoder_hidden: i64, decoder_hidden: i64) -> Self {
        Self {
            proj: nn::linear(vs, encoder_hidden, decoder_hidden, Default::default()),
        }
    }

    /// `backward_first` h←_1 `[B, H]` → s_0 `[B, D]`.
    pub fn forward(&self, backward_first: &Tensor) -> Tensor {
        backward_first.apply(&self.proj).tanh()
    }
}
