//! The vocabulary projection logits = W_o t + b, over the whole target vocabulary or over a
//! shortlist of it (decoding with [`crate::decode::shortlist::LexicalShortlist`]).

use tch::{Kind, Tensor};

/// W_o `[V, K]` and b `[V]`, or the rows of a shortlist of C token ids.
#[derive(Debug)]
pub struct VocabularyProjection {
    weight: Tensor,
    bias: Tensor,
    /// Token id of each row when restricted `[C]` int64; `None` = row v is token v.
    ids: Option<Tensor>,
}

impl VocabularyProjection {
    /// A projection over the full vocabulary (the tensors are shared, not copied).
    pub fn new(weight: &Tensor, bias: &Tensor) -> Self {
        Self {
            weight: weight.shallow_clone(),
            bias: bias.shallow_clone(),
            ids: None,
        }
    }

    /// `t` `[..., K]` → logits `[..., V]` (or `[..., C]` when restricted).
    pub fn forward(&self, t: &Tensor) -> Tensor {
        t.linear(&self.weight, Some(&self.bias))
    }

    /// The projection onto the token ids `shortlist` only (sorted, distinct, < V): logits
    /// column c is token `shortlist[c]`. Copies C rows of W_o once, so build it once per batch.
    /// `None` gives the full projection (shared, not copied).
    pub fn restrict(&self, shortlist: Option<&[i64]>) -> Self {
        debug_assert!(self.ids.is_none(), "restricting a restricted projection");
        let Some(ids) = shortlist else {
            return Self::new(&self.weight, &self.bias);
        };
        let index = Tensor::from_slice(ids).to_device(self.weight.device());
        Self {
            weight: self.weight.index_select(0, &index),
            bias: self.bias.index_select(0, &index),
            ids: Some(index),
        }
    }

    /// Token ids of logits columns `columns` (any shape, int64): the identity when not
    /// restricted.
    pub fn token_ids(&self, columns: &Tensor) -> Tensor {
        match &self.ids {
            Some(ids) => ids.index_select(0, &columns.reshape([-1])).view_as(columns),
            None => columns.to_kind(Kind::Int64),
        }
    }
}
