//! The interface search runs against: a model that scores the next target token given the
//! previous ones, one step at a time.
//!
//! Greedy and beam search ([`super::greedy`], [`super::beam`]) only see this trait, so any
//! model that can encode a batch, take a step and reorder its rows can be searched: the
//! encoder-decoder [`Seq2Seq`] implements it, and an ensemble can implement it by combining
//! its members' steps.

use tch::{Kind, Tensor};

use crate::model::decoder::DecoderState;
use crate::model::seq2seq::Encoded;
use crate::model::{Seq2Seq, VocabularyProjection};

/// The result of one search step for `R` rows (hypotheses).
#[derive(Debug)]
pub struct Step<S> {
    /// Next-token scores `[R, C]`: log-probabilities up to a per-row constant, i.e.
    /// `log_softmax(scores) = log p(y_t | y_<t, x)`. Column c is target token c, or the c-th
    /// id of the shortlist passed to [`StepModel::start`].
    pub scores: Tensor,
    /// Attention weights α `[R, S]` over the source positions (EOS included).
    pub attention: Tensor,
    /// State after the step.
    pub state: S,
}

/// A model that search can drive.
pub trait StepModel {
    /// Everything carried between steps for the rows of a batch: encoder memory, recurrent
    /// state, the (possibly restricted) output layer.
    type State;

    /// Encodes a batch and returns the state before the first target token.
    ///
    /// * `src` `[B, S]` int64, `lengths` `[B]` int64: source ids with EOS
    ///   ([`crate::batch::source_tensors`]).
    /// * `copies`: rows per sentence (the beam size K, 1 for greedy): row `b·copies + k` is a
    ///   copy of sentence b, so the state holds `B·copies` rows.
    /// * `shortlist`: sorted, distinct target ids that the scores are restricted to; `None` =
    ///   the full vocabulary.
    fn start(
        &self,
        src: &Tensor,
        lengths: &Tensor,
        copies: usize,
        shortlist: Option<&[i64]>,
    ) -> Self::State;

    /// One decoder step: `prev` `[R]` int64 are the previous tokens y_{t-1} of the `R` rows.
    fn step(&self, state: &Self::State, prev: &Tensor) -> Step<Self::State>;

    /// The state of the rows `rows` `[R']` int64 (indices into the current `R` rows), in that
    /// order. Search reorders only within a source sentence and drops whole sentences, so the
    /// source memory needs re-indexing only when the number of rows changes.
    fn reorder(&self, state: &Self::State, rows: &Tensor) -> Self::State;
}

impl<M: StepModel + ?Sized> StepModel for &M {
    type State = M::State;

    fn start(&self, src: &Tensor, lengths: &Tensor, copies: usize, sl: Option<&[i64]>) -> M::State {
        (**self).start(src, lengths, copies, sl)
    }
    fn step(&self, state: &M::State, prev: &Tensor) -> Step<M::State> {
        (**self).step(state, prev)
    }
    fn reorder(&self, state: &M::State, rows: &Tensor) -> M::State {
        (**self).reorder(state, rows)
    }
}

/// Search state of a [`Seq2Seq`] batch.
#[derive(Debug)]
pub struct Seq2SeqState {
    /// Encoder annotations and attention keys: one row per search row, or one per sentence
    /// shared by its `group` rows (beam search with an attention that
    /// [`crate::model::attention::Attention::shares_memory`], inside the fused kernels).
    memory: Encoded,
    /// Search rows per memory row (1, or the beam size with shared memory).
    group: i64,
    /// Recurrent state, attentional state, coverage, step.
    decoder: DecoderState,
    /// The output layer over the full vocabulary or the batch's shortlist.
    projection: VocabularyProjection,
}

impl StepModel for Seq2Seq {
    type State = Seq2SeqState;

    fn start(
        &self,
        src: &Tensor,
        lengths: &Tensor,
        copies: usize,
        shortlist: Option<&[i64]>,
    ) -> Seq2SeqState {
        let projection = self.search_projection().restrict(shortlist);
        let mut memory = self.encode(src, lengths, false);
        if copies <= 1 {
            let decoder = self.decoder.init_state(&memory.enc);
            return Seq2SeqState {
                memory,
                group: 1,
                decoder,
                projection,
            };
        }
        let b = src.size()[0];
        let rows = Tensor::arange(b, (Kind::Int64, src.device())).repeat_interleave_self_int(
            copies as i64,
            Some(0),
            None,
        );
        // Shared memory: the keys are read once per sentence (and not copied K times, nor
        // again whenever sentences finish); otherwise each hypothesis gets its own copy.
        let shared =
            crate::kernels::fused_enabled() && self.decoder.parts().attention.shares_memory();
        let group = if shared {
            copies as i64
        } else {
            memory = memory.index_select(&rows);
            1
        };
        let mut decoder = self.decoder.init_state(&memory.enc);
        if shared {
            decoder = decoder.index_select(&rows);
        }
        Seq2SeqState {
            memory,
            group,
            decoder,
            projection,
        }
    }

    fn step(&self, state: &Seq2SeqState, prev: &Tensor) -> Step<Seq2SeqState> {
        let m = &state.memory;
        let out = self
            .decoder
            .step(&m.enc, &m.keys, prev, &state.decoder, &state.projection);
        Step {
            scores: out.logits,
            attention: out.attention,
            state: Seq2SeqState {
                memory: m.shallow_clone(),
                group: state.group,
                decoder: out.state,
                projection: state.projection.shallow_clone(),
            },
        }
    }

    fn reorder(&self, state: &Seq2SeqState, rows: &Tensor) -> Seq2SeqState {
        // Beam search keeps each live sentence's rows together and in order, so memory
        // changes only when sentences leave; with shared memory, memory row = search row / group.
        let g = state.group;
        let same_rows = rows.size()[0] == g * state.memory.keys.size()[0];
        Seq2SeqState {
            memory: if same_rows {
                state.memory.shallow_clone()
            } else if g > 1 {
                let firsts = rows.reshape([-1, g]).select(1, 0);
                state
                    .memory
                    .index_select(&firsts.divide_scalar_mode(g, "floor"))
            } else {
                state.memory.index_select(rows)
            },
            group: g,
            decoder: state.decoder.index_select(rows),
            projection: state.projection.shallow_clone(),
        }
    }
}
