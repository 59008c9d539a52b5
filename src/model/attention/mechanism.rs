//! One attention mechanism = score function + scope + selection (+ coverage).

use tch::{nn, Tensor};

use super::{
    context, AdditiveScore, DotScore, GeneralScore, LocationScore, Scope, Score, Selection,
};
use crate::config::{AttentionType, ModelConfig, ScopeType, SelectionType};

/// What one attention step returns.
#[derive(Debug)]
pub struct AttentionOutput {
    /// Context c `[B, 2H]`.
    pub context: Tensor,
    /// Alignment weights α `[B, S]` (the distribution, also for hard attention); 0 on padding
    /// and outside a local window.
    pub weights: Tensor,
    /// Weights that formed the context `[B, S]` (α, or one-hot for hard/Gumbel); these are
    /// accumulated for coverage.
    pub context_weights: Tensor,
    /// Hard attention in training: log α of the sampled position `[B]`.
    pub log_prob: Option<Tensor>,
    /// Hard attention in training: entropy of α `[B]`.
    pub entropy: Option<Tensor>,
}

/// A complete attention mechanism.
#[derive(Debug)]
pub struct Attention {
    score: Box<dyn Score>,
    scope: Scope,
    selection: Selection,
    coverage: bool,
}

impl Attention {
    /// Assembles the mechanism of `cfg` under `vs`. `query_dim` is the decoder state size,
    /// `annotation_dim` 2H.
    ///
    /// Errors: dot-product scores with `query_dim != annotation_dim`.
    pub fn from_config(
        vs: nn::Path,
        cfg: &ModelConfig,
        query_dim: i64,
        annotation_dim: i64,
    ) -> anyhow::Result<Self> {
        let cov = cfg.coverage;
        let score: Box<dyn Score> = match cfg.attention {
            AttentionType::Additive => Box::new(AdditiveScore::new(
                vs.clone(),
                query_dim,
                annotation_dim,
                cfg.attention_dim as i64,
                cov,
            )),
            AttentionType::Dot | AttentionType::ScaledDot => {
                anyhow::ensure!(
                    query_dim == annotation_dim,
                    "dot-product attention needs the decoder state size ({query_dim}) to equal \
                     the annotation size 2 x encoder_hidden ({annotation_dim})"
                );
                Box::new(DotScore::new(
                    vs.clone(),
                    query_dim,
                    cfg.attention == AttentionType::ScaledDot,
                    cov,
                ))
            }
            AttentionType::General | AttentionType::ScaledGeneral => Box::new(GeneralScore::new(
                vs.clone(),
                query_dim,
                annotation_dim,
                cfg.attention == AttentionType::ScaledGeneral,
                cov,
            )),
            AttentionType::Location => Box::new(LocationScore::new(
                vs.clone(),
                query_dim,
                cfg.location_max_len as i64,
                cov,
            )),
        };
        let window = cfg.local_window as i64;
        let scope = match cfg.attention_scope {
            ScopeType::Global => Scope::Global,
            ScopeType::LocalM => Scope::LocalM { window },
            ScopeType::LocalP => Scope::local_p(&vs / "local_p", query_dim, window),
        };
        let selection = match cfg.attention_selection {
            SelectionType::Soft => Selection::Soft,
            SelectionType::Hard => Selection::Hard,
            SelectionType::Gumbel => Selection::Gumbel {
                temperature: cfg.gumbel_temperature,
            },
        };
        Ok(Self {
            score,
            scope,
            selection,
            coverage: cov,
        })
    }

    /// Builds a mechanism from its parts (tests, custom models).
    pub fn new(score: Box<dyn Score>, scope: Scope, selection: Selection, coverage: bool) -> Self {
        Self {
            score,
            scope,
            selection,
            coverage,
        }
    }

    /// The scope (global or local window).
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Whether the decoder must carry a coverage vector.
    pub fn uses_coverage(&self) -> bool {
        self.coverage
    }

    /// Keys precomputed once per batch from annotations `[B, S, 2H]`.
    pub fn keys(&self, annotations: &Tensor) -> Tensor {
        self.score.keys(annotations)
    }

    /// One attention step for `query` `[B, D]` at target step `step` (0-based).
    /// `coverage` `[B, S]` is required when [`Attention::uses_coverage`].
    #[allow(clippy::too_many_arguments)]
    pub fn attend(
        &self,
        query: &Tensor,
        keys: &Tensor,
        annotations: &Tensor,
        mask: &Tensor,
        step: i64,
        coverage: Option<&Tensor>,
        train: bool,
    ) -> AttentionOutput {
        let scores = self.score.score(query, keys, coverage);
        let weights = self.scope.weights(&scores, mask, query, step);
        let selected = self.selection.select(&weights, train);
        AttentionOutput {
            context: context(&selected.weights, annotations),
            context_weights: selected.weights,
            weights,
            log_prob: selected.log_prob,
            entropy: selected.entropy,
        }
    }
}
