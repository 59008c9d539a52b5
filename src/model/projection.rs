//! The vocabulary projection logits = W_o t + b, over the whole target vocabulary or over a
//! shortlist of it (decoding with [`crate::decode::shortlist::LexicalShortlist`]).

use tch::Tensor;

/// W_o `[V, K]` and b `[V]`, or the rows of a shortlist of C token ids (logits column c is
/// then token `shortlist[c]`; search maps columns back, see
/// [`crate::decode::trace::Columns`]).
#[derive(Debug)]
pub struct VocabularyProjection {
    weight: Tensor,
    bias: Tensor,
}

impl VocabularyProjection {
    /// A projection over the full vocabulary (the tensors are shared, not copied).
    pub fn new(weight: &Tensor, bias: &Tensor) -> Self {
        Self {
            weight: weight.shallow_clone(),
            bias: bias.shallow_clone(),
        }
    }

    /// `t` `[..., K]` → logits `[..., V]` (or `[..., C]` when restricted).
    pub fn forward(&self, t: &Tensor) -> Tensor {
        if self.weight.kind() == t.kind() {
            return t.linear(&self.weight, Some(&self.bias));
        }
        // Low-precision weights (see `to_bf16`): the product in their kind, the bias in fp32.
        t.to_kind(self.weight.kind())
            .linear::<&Tensor>(&self.weight, None)
            .to_kind(t.kind())
            + &self.bias
    }

    /// The same projection with bf16 weights for search: [`Self::forward`] then casts its input
    /// `[..., F]` to bf16, multiplies in bf16 (oneDNN: fp32 accumulation, output rounded to
    /// bf16), and adds the fp32 bias to the fp32 result `[..., V]`.
    pub fn to_bf16(&self) -> Self {
        Self {
            weight: self.weight.to_kind(tch::Kind::BFloat16),
            bias: self.bias.shallow_clone(),
        }
    }

    /// The projection onto the token ids `shortlist` only (sorted, distinct, < V): logits
    /// column c is token `shortlist[c]`. Copies C rows of W_o once, so build it once per batch.
    /// `None` gives the full projection (shared, not copied).
    pub fn restrict(&self, shortlist: Option<&[i64]>) -> Self {
        let Some(ids) = shortlist else {
            return Self::new(&self.weight, &self.bias);
        };
        let index = Tensor::from_slice(ids).to_device(self.weight.device());
        Self {
            weight: self.weight.index_select(0, &index),
            bias: self.bias.index_select(0, &index),
        }
    }

    /// A second handle to the same tensors (no copy).
    pub fn shallow_clone(&self) -> Self {
        Self {
            weight: self.weight.shallow_clone(),
            bias: self.bias.shallow_clone(),
        }
    }
}
