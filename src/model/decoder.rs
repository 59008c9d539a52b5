//! What every attention decoder shares: target embeddings, the bridge to s_0, an attention
//! mechanism, a recurrent cell, and the loop that runs them over the target sequence (teacher
//! forcing) or one step at a time (search). [`BahdanauDecoder`] (Bahdanau) and
//! [`LuongDecoder`] differ only in [`Decoder::advance`] and [`Decoder::output`].
//!
//! [`BahdanauDecoder`]: super::bahdanau::BahdanauDecoder
//! [`LuongDecoder`]: super::luong::LuongDecoder

use tch::{nn, Tensor};

use super::attention::{Attention, AttentionOutput};
use super::bridge::Bridge;
use super::encoder::EncoderOutput;
use super::projection::VocabularyProjection;
use super::rnn_cell::{RnnState, SplitInputCell};
use crate::config::{ModelConfig, RnnType};
use crate::subword::PAD_ID;

/// Decoder state carried between steps of greedy or beam search.
#[derive(Debug)]
pub struct DecoderState {
    /// Recurrent state `[B, D]` (plus the LSTM cell).
    pub rnn: RnnState,
    /// Luong with input feeding: previous attentional state h~_{t-1} `[B, D]`.
    pub attentional: Option<Tensor>,
    /// Coverage: Σ of earlier attention weights `[B, S]`.
    pub coverage: Option<Tensor>,
    /// Target steps taken (t of the next step, 0-based).
    pub step: i64,
}

impl DecoderState {
    /// The state after one step that produced recurrent state `rnn`, attention `att` and (Luong
    /// with input feeding) attentional state `attentional`: coverage adds the attention used,
    /// the step count advances.
    pub fn advanced(
        &self,
        rnn: RnnState,
        attentional: Option<Tensor>,
        att: &AttentionOutput,
    ) -> Self {
        Self {
            rnn,
            attentional,
            coverage: self.coverage.as_ref().map(|c| c + &att.context_weights),
            step: self.step + 1,
        }
    }

    /// Reorders the batch (beam search): `index` `[B']`.
    pub fn index_select(&self, index: &Tensor) -> Self {
        Self {
            rnn: self.rnn.index_select(index),
            attentional: self.attentional.as_ref().map(|t| t.index_select(0, index)),
            coverage: self.coverage.as_ref().map(|t| t.index_select(0, index)),
            step: self.step,
        }
    }
}

/// Output of one search step.
#[derive(Debug)]
pub struct StepOutput {
    /// Unnormalised scores over the target vocabulary `[B, V]` (or its shortlist `[B, C]`).
    pub logits: Tensor,
    /// Attention weights α `[B, S]`.
    pub attention: Tensor,
    /// State after the step.
    pub state: DecoderState,
}

/// Output of teacher forcing over a batch.
///
/// The output layer runs only on the N non-padding target positions (padding has no loss), so
/// `logits` is packed: row n belongs to flat position `positions[n]` = b·T + t of `[B, T]`.
#[derive(Debug)]
pub struct DecoderOutput {
    /// Logits of the non-padding positions `[N, V]`, in (batch, step) order.
    pub logits: Tensor,
    /// Flat index b·T + t of each row of `logits` `[N]` int64.
    pub positions: Tensor,
    /// Target steps T of the batch.
    pub steps: i64,
    /// α `[B, T, S]`.
    pub attention: Tensor,
    /// Hard attention in training: log α of the sampled positions `[B, T]`.
    pub selected_log_prob: Option<Tensor>,
    /// Hard attention in training: entropy of α `[B, T]`.
    pub entropy: Option<Tensor>,
    /// Coverage: Σ_j min(α_tj, cov_tj) `[B, T]` (See et al. 2017, eq. 12).
    pub coverage_penalty: Option<Tensor>,
}

impl DecoderOutput {
    /// The entries of a `[B, T]` tensor (e.g. the targets y_1 … EOS) at the rows of `logits`:
    /// `[N]`.
    pub fn packed(&self, per_position: &Tensor) -> Tensor {
        per_position.reshape([-1]).index_select(0, &self.positions)
    }

    /// Sentence b of each row of `logits` `[N]` int64.
    pub fn sentence_of_rows(&self) -> Tensor {
        self.positions.divide_scalar_mode(self.steps, "floor")
    }
}

/// Parts shared by all decoders; parameter names are `embed`, `bridge`, `attention`, `rnn`.
#[derive(Debug)]
pub struct DecoderParts {
    /// Target embeddings E `[V, E]`.
    pub embed: nn::Embedding,
    /// s_0 from the encoder.
    pub bridge: Bridge,
    /// The attention mechanism.
    pub attention: Attention,
    /// Recurrent cell; its precomputable input is E y_{t-1}.
    pub cell: SplitInputCell,
    /// GRU or LSTM.
    pub rnn_kind: RnnType,
    /// Dropout on embeddings and before the output projection.
    pub dropout: f64,
    /// Size of the attentional state carried for input feeding (0 = none).
    pub attentional_dim: i64,
}

impl DecoderParts {
    /// Builds the shared parts under `vs`: the cell's per-step input has `step_input_dim`
    /// features (2H for Bahdanau's context, D for Luong's input feeding, 0 for none), and
    /// `attentional_dim` is the size of the fed-back attentional state (0 = none).
    pub fn new(
        vs: &nn::Path,
        cfg: &ModelConfig,
        vocab: i64,
        step_input_dim: i64,
        attentional_dim: i64,
    ) -> anyhow::Result<Self> {
        let e = cfg.tgt_embed_dim as i64;
        let d = cfg.decoder_hidden as i64;
        let ann = 2 * cfg.encoder_hidden as i64;
        Ok(Self {
            embed: nn::embedding(vs / "embed", vocab, e, super::embedding_config()),
            bridge: Bridge::new(vs / "bridge", cfg.encoder_hidden as i64, d),
            attention: Attention::from_config(vs / "attention", cfg, d, ann)?,
            cell: SplitInputCell::new(vs / "rnn", cfg.rnn, e, step_input_dim, d),
            rnn_kind: cfg.rnn,
            dropout: cfg.dropout,
            attentional_dim,
        })
    }

    /// Attention for `query` `[B, D]` at the state's step, with its coverage.
    pub fn attend(
        &self,
        query: &Tensor,
        enc: &EncoderOutput,
        keys: &Tensor,
        state: &DecoderState,
        train: bool,
    ) -> AttentionOutput {
        self.attention.attend(
            query,
            keys,
            &enc.annotations,
            &enc.mask,
            state.step,
            state.coverage.as_ref(),
            train,
        )
    }
}

/// An attention decoder. Implementors provide one recurrence step and the output layer; the
/// loops are shared.
pub trait Decoder: std::fmt::Debug + Send {
    /// The shared parts.
    fn parts(&self) -> &DecoderParts;

    /// One step: `x_proj` `[B, G·D]` is the cell's transform of E y_{t-1}. Returns the
    /// features that [`Decoder::output`] turns into logits, the new state and the attention.
    fn advance(
        &self,
        enc: &EncoderOutput,
        keys: &Tensor,
        x_proj: &Tensor,
        state: &DecoderState,
        train: bool,
    ) -> (Tensor, DecoderState, AttentionOutput);

    /// The output layer's last hidden layer `[..., K]` (Bahdanau's t_i, Luong's h~_t, after
    /// dropout) from the step features `[..., F]` and the embeddings of y_{t-1} `[..., E]`.
    fn output_features(&self, features: &Tensor, prev_embedding: &Tensor, train: bool) -> Tensor;

    /// The vocabulary projection that turns [`Decoder::output_features`] into logits.
    fn projection(&self) -> &VocabularyProjection;

    /// Logits over the full vocabulary `[..., V]` from features `[..., F]` and the embeddings
    /// of y_{t-1} `[..., E]`.
    fn output(&self, features: &Tensor, prev_embedding: &Tensor, train: bool) -> Tensor {
        self.projection()
            .forward(&self.output_features(features, prev_embedding, train))
    }

    /// Attention keys for the batch, computed once.
    fn attention_keys(&self, enc: &EncoderOutput) -> Tensor {
        self.parts().attention.keys(&enc.annotations)
    }

    /// Initial state: s_0 from the bridge, zero attentional state and coverage.
    fn init_state(&self, enc: &EncoderOutput) -> DecoderState {
        let p = self.parts();
        let s0 = p.bridge.forward(&enc.backward_first);
        let b = s0.size()[0];
        DecoderState {
            attentional: (p.attentional_dim > 0)
                .then(|| s0.new_zeros([b, p.attentional_dim], (s0.kind(), s0.device()))),
            coverage: p
                .attention
                .uses_coverage()
                .then(|| enc.mask.zeros_like().to_kind(s0.kind())),
            rnn: RnnState::from_h(p.rnn_kind, s0),
            step: 0,
        }
    }

    /// Teacher forcing: `tgt_in` `[B, T]` holds y_0 = BOS, y_1 … y_{T-1}. The recurrence runs
    /// step by step; embedding transform and output layer run once for all steps.
    fn forward(
        &self,
        enc: &EncoderOutput,
        keys: &Tensor,
        tgt_in: &Tensor,
        train: bool,
    ) -> DecoderOutput {
        let p = self.parts();
        let emb = tgt_in.apply(&p.embed).dropout(p.dropout, train); // [B,T,E]
                                                                    // One `unbind` instead of a `select(1, t)` per step: the backward of `select` builds a
                                                                    // zero-filled [B, T, G·D] gradient per step (T of them to add up), `unbind`'s is one stack.
        let x_proj = p.cell.precompute(&emb).unbind(1);
        let mut state = self.init_state(enc);
        let (mut feats, mut alphas) = (Vec::new(), Vec::new());
        let (mut logp, mut ent, mut cov) = (Vec::new(), Vec::new(), Vec::new());
        for x_t in &x_proj {
            let (f, next, att) = self.advance(enc, keys, x_t, &state, train);
            if let Some(c) = &state.coverage {
                cov.push(att.weights.minimum(c).sum_dim_intlist(-1, false, c.kind()));
            }
            logp.extend(att.log_prob);
            ent.extend(att.entropy);
            feats.push(f);
            alphas.push(att.weights);
            state = next;
        }
        let stack = |v: Vec<Tensor>| (!v.is_empty()).then(|| Tensor::stack(&v, 1));
        // Pack: deep output, vocabulary projection and loss only where the target is not PAD
        // (tgt_in is PAD exactly where tgt_out is).
        let steps = tgt_in.size()[1];
        let positions = tgt_in.reshape([-1]).ne(PAD_ID).nonzero().squeeze_dim(1); // [N]
        let feats = Tensor::stack(&feats, 1); // [B,T,F]
        let pack = |x: &Tensor| x.reshape([-1, x.size()[2]]).index_select(0, &positions);
        DecoderOutput {
            logits: self.output(&pack(&feats), &pack(&emb), train),
            positions,
            steps,
            attention: Tensor::stack(&alphas, 1),
            selected_log_prob: stack(logp),
            entropy: stack(ent),
            coverage_penalty: stack(cov),
        }
    }

    /// One step of search: `prev` `[B]` int64 are y_{t-1}; no dropout, arg-max selection.
    /// `projection` is [`Decoder::projection`] or a shortlist of it
    /// ([`VocabularyProjection::restrict`]); the logits have one column per row of it.
    fn step(
        &self,
        enc: &EncoderOutput,
        keys: &Tensor,
        prev: &Tensor,
        state: &DecoderState,
        projection: &VocabularyProjection,
    ) -> StepOutput {
        let p = self.parts();
        let emb = prev.apply(&p.embed);
        let (f, state, att) = self.advance(enc, keys, &p.cell.precompute(&emb), state, false);
        StepOutput {
            logits: projection.forward(&self.output_features(&f, &emb, false)),
            attention: att.weights,
            state,
        }
    }
}
