//! The conditional decoder of Bahdanau et al. 2015 (§3.1, appendix A.2.2): attention is
//! computed from the previous state s_{i-1}, and the context c_i is fed into the RNN together
//! with the previous target embedding: s_i = RNN([E y_{i-1}; c_i], s_{i-1}).

use tch::{nn, Tensor};

use super::attention::{AdditiveAttention, Attention};
use super::bridge::Bridge;
use super::encoder::EncoderOutput;
use super::output::DeepOutput;
use super::rnn_cell::{RnnState, SplitInputCell};
use crate::config::ModelConfig;

/// Decoder state carried between steps of greedy or beam search.
#[derive(Debug)]
pub struct DecoderState {
    /// Recurrent state s_{i-1}, `[B, D]` (plus the LSTM cell).
    pub rnn: RnnState,
}

impl DecoderState {
    /// Reorders the batch (beam search): `index` `[B']`.
    pub fn index_select(&self, index: &Tensor) -> Self {
        Self {
            rnn: self.rnn.index_select(index),
        }
    }
}

/// Output of one search step.
#[derive(Debug)]
pub struct StepOutput {
    /// Unnormalised scores over the target vocabulary `[B, V]`.
    pub logits: Tensor,
    /// Attention weights α_i `[B, S]`.
    pub attention: Tensor,
    /// State after the step.
    pub state: DecoderState,
}

/// Bahdanau's decoder: target embeddings, bridge, attention, recurrent cell, deep output.
#[derive(Debug)]
pub struct ConditionalDecoder {
    embed: nn::Embedding,
    bridge: Bridge,
    attention: Box<dyn Attention>,
    cell: SplitInputCell,
    output: DeepOutput,
    rnn_kind: crate::config::RnnType,
    dropout: f64,
}

impl ConditionalDecoder {
    /// Builds the decoder; `vocab` is the target vocabulary size.
    pub fn new(vs: nn::Path, cfg: &ModelConfig, vocab: i64) -> Self {
        let e = cfg.tgt_embed_dim as i64;
        let d = cfg.decoder_hidden as i64;
        let ann = 2 * cfg.encoder_hidden as i64;
        let embed = nn::embedding(&vs / "embed", vocab, e, super::embedding_config());
        let tied = cfg.tie_target_embeddings.then(|| embed.ws.shallow_clone());
        Self {
            bridge: Bridge::new(&vs / "bridge", cfg.encoder_hidden as i64, d),
            attention: Box::new(AdditiveAttention::new(
                &vs / "attention",
                d,
                ann,
                cfg.attention_dim as i64,
            )),
            cell: SplitInputCell::new(&vs / "rnn", cfg.rnn, e, ann, d),
            output: DeepOutput::new(
                &vs / "output",
                d + ann + e,
                cfg.output_dim as i64,
                cfg.output_layer,
                vocab,
                cfg.dropout,
                tied,
            ),
            embed,
            rnn_kind: cfg.rnn,
            dropout: cfg.dropout,
        }
    }

    /// Attention keys for the batch, computed once: `[B, S, A]`.
    pub fn attention_keys(&self, enc: &EncoderOutput) -> Tensor {
        self.attention.keys(&enc.annotations)
    }

    /// Initial state s_0 from the encoder.
    pub fn init_state(&self, enc: &EncoderOutput) -> DecoderState {
        DecoderState {
            rnn: RnnState::from_h(self.rnn_kind, self.bridge.forward(&enc.backward_first)),
        }
    }

    /// Teacher forcing over a whole batch. `tgt_in` `[B, T]` holds y_0 = BOS, y_1 … y_{T-1}.
    /// Returns `(logits [B, T, V], attention [B, T, S])`. The recurrence runs step by step;
    /// the embedding transform and the deep output run once for all steps.
    pub fn forward(
        &self,
        enc: &EncoderOutput,
        keys: &Tensor,
        tgt_in: &Tensor,
        train: bool,
    ) -> (Tensor, Tensor) {
        let steps = tgt_in.size()[1];
        let emb = tgt_in.apply(&self.embed).dropout(self.dropout, train); // [B,T,E]
        let x_proj = self.cell.precompute(&emb); // [B,T,G·D]
        let mut state = self.init_state(enc).rnn;
        let mut states = Vec::with_capacity(steps as usize);
        let mut contexts = Vec::with_capacity(steps as usize);
        let mut weights = Vec::with_capacity(steps as usize);
        for i in 0..steps {
            let (ctx, alpha) = self
                .attention
                .attend(state.h(), keys, &enc.annotations, &enc.mask);
            state = self.cell.step(&x_proj.select(1, i), &ctx, &state);
            states.push(state.h().shallow_clone());
            contexts.push(ctx);
            weights.push(alpha);
        }
        let s = Tensor::stack(&states, 1); // [B,T,D]
        let c = Tensor::stack(&contexts, 1); // [B,T,2H]
        let features = Tensor::cat(&[s, c, emb], 2);
        let logits = self.output.forward(&features, train);
        (logits, Tensor::stack(&weights, 1))
    }

    /// One step of search: `prev` `[B]` int64 are y_{i-1}; no dropout.
    pub fn step(
        &self,
        enc: &EncoderOutput,
        keys: &Tensor,
        prev: &Tensor,
        state: &DecoderState,
    ) -> StepOutput {
        let emb = prev.apply(&self.embed); // [B,E]
        let (ctx, alpha) = self
            .attention
            .attend(state.rnn.h(), keys, &enc.annotations, &enc.mask);
        let rnn = self
            .cell
            .step(&self.cell.precompute(&emb), &ctx, &state.rnn);
        let features = Tensor::cat(&[rnn.h(), &ctx, &emb], 1);
        StepOutput {
            logits: self.output.forward(&features, false),
            attention: alpha,
            state: DecoderState { rnn },
        }
    }
}
