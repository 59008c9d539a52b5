//! The vocabulary projection logits = W_o t + b, over the whole target vocabulary or over a
//! shortlist of it (decoding with [`crate::decode::shortlist::LexicalShortlist`]).

use tch::Tensor;

use super::quantized::Int8Weight;

/// W_o `[V, K]` and b `[V]`, or the rows of a shortlist of C token ids (logits column c is
/// then token `shortlist[c]`; search maps columns back, see
/// [`crate::decode::trace::Columns`]).
#[derive(Debug)]
pub struct VocabularyProjection {
    weight: Weight,
    bias: Tensor,
}

/// How W_o is held: as trained (fp32) or as a bf16 copy, both `[V, K]`, or int8 with scales.
#[derive(Debug)]
enum Weight {
    Dense(Tensor),
    Int8(Int8Weight),
}

impl Weight {
    fn shallow_clone(&self) -> Self {
        match self {
            Weight::Dense(w) => Weight::Dense(w.shallow_clone()),
            Weight::Int8(w) => Weight::Int8(w.shallow_clone()),
        }
    }
}

impl VocabularyProjection {
    /// A projection over the full vocabulary (the tensors are shared, not copied).
    pub fn new(weight: &Tensor, bias: &Tensor) -> Self {
        Self {
            weight: Weight::Dense(weight.shallow_clone()),
            bias: bias.shallow_clone(),
        }
    }

    /// `t` `[..., K]` → logits `[..., V]` (or `[..., C]` when restricted).
    pub fn forward(&self, t: &Tensor) -> Tensor {
        match &self.weight {
            // bf16 weights (see `to_bf16`) and fp32 input: the product in bf16, the bias in
            // fp32.
            Weight::Dense(w) if w.kind() == tch::Kind::BFloat16 && t.kind() != w.kind() => {
                t.to_kind(w.kind())
                    .linear::<&Tensor>(w, None)
                    .to_kind(t.kind())
                    + &self.bias
            }
            // Equal kinds, or fp32 weights under bf16 autocast (training), which casts.
            Weight::Dense(w) => t.linear(w, Some(&self.bias)),
            Weight::Int8(w) => {
                let size = t.size();
                let rows = t.reshape([-1, size[size.len() - 1]]);
                let logits = w.linear(&rows, &self.bias);
                let mut out_size = size;
                *out_size.last_mut().expect("t has a feature axis") = -1;
                logits.reshape(out_size.as_slice())
            }
        }
    }

    /// The same projection with bf16 weights for search: [`Self::forward`] then casts its input
    /// `[..., F]` to bf16, multiplies in bf16 (oneDNN: fp32 accumulation, output rounded to
    /// bf16), and adds the fp32 bias to the fp32 result `[..., V]`.
    pub fn to_bf16(&self) -> Self {
        Self {
            weight: Weight::Dense(self.dense().to_kind(tch::Kind::BFloat16)),
            bias: self.bias.shallow_clone(),
        }
    }

    /// The same projection with int8 weights for search ([`Int8Weight`]: per-token scales,
    /// each input row quantised with its own scale, int32 accumulation); the bias stays fp32.
    pub fn to_int8(&self) -> Self {
        Self {
            weight: Weight::Int8(Int8Weight::quantize(self.dense())),
            bias: self.bias.shallow_clone(),
        }
    }

    /// The weight as trained; the low-precision copies are made from full projections only.
    fn dense(&self) -> &Tensor {
        match &self.weight {
            Weight::Dense(w) => w,
            Weight::Int8(_) => panic!("the projection is already int8"),
        }
    }

    /// The projection onto the token ids `shortlist` only (sorted, distinct, < V): logits
    /// column c is token `shortlist[c]`. Copies C rows of W_o once, so build it once per batch.
    /// `None` gives the full projection (shared, not copied).
    pub fn restrict(&self, shortlist: Option<&[i64]>) -> Self {
        let Some(ids) = shortlist else {
            return self.shallow_clone();
        };
        let index = Tensor::from_slice(ids).to_device(self.bias.device());
        Self {
            weight: match &self.weight {
                Weight::Dense(w) => Weight::Dense(w.index_select(0, &index)),
                Weight::Int8(w) => Weight::Int8(w.select_outputs(&index)),
            },
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
