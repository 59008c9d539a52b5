//! One attention mechanism = score function + scope + selection (+ coverage).

use tch::{nn, Tensor};

use super::{
    context, fixed, AdditiveScore, DotScore, GeneralScore, LocationScore, Scope, Score, Selection,
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

/// A complete attention mechanism, or none (`score` absent: the fixed context of
/// [`fixed::final_states`]).
#[derive(Debug)]
pub struct Attention {
    score: Option<Box<dyn Score>>,
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
        if cfg.attention == AttentionType::None {
            anyhow::ensure!(
                !cov && cfg.attention_scope == ScopeType::Global
                    && cfg.attention_selection == SelectionType::Soft,
                "attention = \"none\" (a fixed context, no alignment) takes no coverage, \
                 local scope or hard selection"
            );
            return Ok(Self {
                score: None,
                scope: Scope::Global,
                selection: Selection::Soft,
                coverage: false,
            });
        }
        let score: Box<dyn Score> = match cfg.attention {
            AttentionType::None => unreachable!("handled above"),
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
            score: Some(score),
            scope,
            selection,
            coverage: cov,
        })
    }

    /// Builds a mechanism from its parts (tests, custom models).
    pub fn new(score: Box<dyn Score>, scope: Scope, selection: Selection, coverage: bool) -> Self {
        Self {
            score: Some(score),
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

    /// Whether [`Attention::attend`] takes memory (keys, annotations, mask) with one row per
    /// sentence for several query rows per sentence (beam search's hypotheses): the score
    /// supports shared keys and there is no coverage (which is per hypothesis).
    pub fn shares_memory(&self) -> bool {
        self.score.as_ref().is_some_and(|s| s.shares_keys()) && !self.coverage
    }

    /// Keys precomputed once per batch from annotations `[B, S, 2H]` (`[B, S, 0]` without
    /// attention).
    pub fn keys(&self, annotations: &Tensor) -> Tensor {
        match &self.score {
            Some(score) => score.keys(annotations),
            // No keys: an empty `[B, S, 0]` view that reorders like real ones.
            None => annotations.narrow(2, 0, 0),
        }
    }

    /// One attention step for `query` `[R, D]` at target step `step` (0-based), over `keys`
    /// `[M, S, A]`, `annotations` `[M, S, 2H]` and `mask` `[M, S]`: M = R, or with
    /// [`Attention::shares_memory`] M dividing R, query row r attending memory row r / (R / M).
    /// `coverage` `[R, S]` is required when [`Attention::uses_coverage`].
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
        let Some(score) = &self.score else {
            return fixed_context(query, annotations, mask);
        };
        let scores = score.score(query, keys, coverage);
        let group = query.size()[0] / mask.size()[0].max(1);
        let mask = &if group > 1 {
            mask.repeat_interleave_self_int(group, Some(0), None)
        } else {
            mask.shallow_clone()
        };
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

/// `attention = "none"`: the encoder's final states as the context of every query row, and
/// all-zero alignment weights `[R, S]`.
fn fixed_context(query: &Tensor, annotations: &Tensor, mask: &Tensor) -> AttentionOutput {
    let context = fixed::final_states(annotations, mask);
    let zeros = mask.zeros_like().to_kind(query.kind());
    AttentionOutput {
        context,
        context_weights: zeros.shallow_clone(),
        weights: zeros,
        log_prob: None,
        entropy: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelConfig;
    use crate::model::attention::AdditiveScore;
    use tch::{nn::VarStore, Device, Kind};

    /// Beam search's shared memory: M sentences' keys, annotations and mask serve their R = M·K
    /// query rows and give exactly what a copy per row gives, for the global and the
    /// predictive local scope (which reads the per-row mask).
    #[test]
    fn shared_memory_equals_memory_copied_per_hypothesis() {
        let vs = VarStore::new(Device::Cpu);
        let (m, k, s, d, h2) = (3, 5, 7, 24, 20);
        for scope in [Scope::Global, Scope::local_p(vs.root() / "p", d, 2)] {
            let score = AdditiveScore::new(vs.root() / "score", d, h2, 16, false);
            let attention = Attention::new(Box::new(score), scope, Selection::Soft, false);
            assert!(attention.shares_memory());
            let opts = (Kind::Float, Device::Cpu);
            let annotations = Tensor::randn([m, s, h2], opts);
            let lengths = Tensor::from_slice(&[7i64, 3, 5]);
            let mask = Tensor::arange(s, (Kind::Int64, Device::Cpu))
                .unsqueeze(0)
                .lt_tensor(&lengths.unsqueeze(1));
            let query = Tensor::randn([m * k, d], opts);
            let rows = Tensor::arange(m, (Kind::Int64, Device::Cpu)).repeat_interleave_self_int(
                k,
                Some(0),
                None,
            );
            let (shared, copied) = tch::no_grad(|| {
                crate::kernels::with_fused(true, || {
                    let keys = attention.keys(&annotations);
                    let shared =
                        attention.attend(&query, &keys, &annotations, &mask, 2, None, false);
                    let copied = attention.attend(
                        &query,
                        &keys.index_select(0, &rows),
                        &annotations.index_select(0, &rows),
                        &mask.index_select(0, &rows),
                        2,
                        None,
                        false,
                    );
                    (shared, copied)
                })
            });
            assert!(shared.weights.equal(&copied.weights));
            let err = (&shared.context - &copied.context)
                .abs()
                .max()
                .double_value(&[]);
            assert!(err < 1e-6, "context differs by {err}");
            // Outside the fused kernels the reference expands the shared keys itself.
            let reference = tch::no_grad(|| {
                let keys = attention.keys(&annotations);
                attention.attend(&query, &keys, &annotations, &mask, 2, None, false)
            });
            let err = (&reference.weights - &shared.weights)
                .abs()
                .max()
                .double_value(&[]);
            assert!(err < 1e-5, "reference weights differ by {err}");
        }
    }

    #[test]
    fn no_attention_gives_the_final_states_for_every_query_and_no_alignment() {
        let vs = VarStore::new(Device::Cpu);
        let cfg = ModelConfig {
            attention: AttentionType::None,
            ..Default::default()
        };
        let attention = Attention::from_config(vs.root(), &cfg, 8, 6).unwrap();
        assert!(!attention.shares_memory());
        let annotations = Tensor::randn([2, 4, 6], (Kind::Float, Device::Cpu));
        let mask =
            Tensor::from_slice(&[true, true, true, false, true, false, false, false]).view([2, 4]);
        let keys = attention.keys(&annotations);
        let attend = |q: &Tensor| attention.attend(q, &keys, &annotations, &mask, 0, None, false);
        let a = attend(&Tensor::randn([2, 8], (Kind::Float, Device::Cpu)));
        let b = attend(&Tensor::randn([2, 8], (Kind::Float, Device::Cpu)));
        assert!(
            a.context.equal(&b.context),
            "the context depends on the query"
        );
        assert!(a.context.equal(&fixed::final_states(&annotations, &mask)));
        assert_eq!(a.weights.abs().sum(Kind::Float).double_value(&[]), 0.0);
        assert_eq!(vs.trainable_variables().len(), 0, "no attention parameters");
        let with_coverage = ModelConfig {
            coverage: true,
            ..cfg
        };
        let err = Attention::from_config(vs.root(), &with_coverage, 8, 6).unwrap_err();
        assert!(err.to_string().contains("takes no coverage"), "{err}");
    }
}
