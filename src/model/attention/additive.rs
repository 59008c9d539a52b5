//! Additive (MLP) attention of Bahdanau et al. 2015 (arXiv 1409.0473), eq. 6 and appendix
//! A.1.2: e_ij = v_a^T tanh(W_a s + U_a h_j); Luong et al. 2015 call it "concat". With coverage
//! (Tu et al. 2016, arXiv 1601.04811, eq. 7; See et al. 2017, eq. 11):
//! e_ij = v_a^T tanh(W_a s + U_a h_j + w_c cov_ij).

use tch::{nn, Tensor};

use super::Score;

/// Parameters: `query` W_a `[A, D]`, `key` U_a `[A, 2H]` with bias, `energy` v_a `[A]`,
/// `coverage` w_c `[A]` (only with coverage).
#[derive(Debug)]
pub struct AdditiveScore {
    query: nn::Linear,
    key: nn::Linear,
    energy: nn::Linear,
    coverage: Option<Tensor>,
}

impl AdditiveScore {
    /// `query_dim` D, `annotation_dim` 2H, `attention_dim` A.
    pub fn new(
        vs: nn::Path,
        query_dim: i64,
        annotation_dim: i64,
        attention_dim: i64,
        coverage: bool,
    ) -> Self {
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        Self {
            query: nn::linear(&vs / "query", query_dim, attention_dim, no_bias),
            key: nn::linear(
                &vs / "key",
                annotation_dim,
                attention_dim,
                Default::default(),
            ),
            energy: nn::linear(&vs / "energy", attention_dim, 1, no_bias),
            coverage: coverage.then(|| {
                vs.var(
                    "coverage",
                    &[attention_dim],
                    nn::Init::Uniform { lo: -0.1, up: 0.1 },
                )
            }),
        }
    }
}

impl Score for AdditiveScore {
    fn keys(&self, annotations: &Tensor) -> Tensor {
        let keys = annotations.apply(&self.key);
        if crate::kernels::fused_enabled() {
            // Once per sentence: under bf16 autocast the fused kernels read fp32 keys.
            return keys.to_kind(tch::Kind::Float);
        }
        keys
    }

    fn score(&self, query: &Tensor, keys: &Tensor, coverage: Option<&Tensor>) -> Tensor {
        let q = query.apply(&self.query); // [B,A]
        if coverage.is_none() && crate::kernels::fused_enabled() {
            let v = self.energy.ws.view([-1]);
            let fused = if q.requires_grad() || keys.requires_grad() {
                // Under bf16 autocast the query is bf16; the kernel runs in fp32.
                crate::kernels::additive_energy_train(&q.to_kind(tch::Kind::Float), keys, &v)
            } else {
                crate::kernels::additive_energy(&q, keys, &v)
            };
            if let Some(e) = fused {
                return e;
            }
        }
        // Keys shared by the hypotheses of a sentence (see `shares_keys`), for the reference.
        let group = q.size()[0] / keys.size()[0].max(1);
        let expanded;
        let keys = if group > 1 {
            expanded = keys.repeat_interleave_self_int(group, Some(0), None);
            &expanded
        } else {
            keys
        };
        let pre = keys + q.unsqueeze(1); // [B,S,A]
        let pre = match (&self.coverage, coverage) {
            (Some(w), Some(cov)) => pre + cov.unsqueeze(-1) * w, // [B,S,1]·[A]
            _ => pre,
        };
        pre.tanh().apply(&self.energy).squeeze_dim(-1)
    }

    fn shares_keys(&self) -> bool {
        self.coverage.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn::VarStore, Device, Kind};

    #[test]
    fn search_energies_go_through_the_fused_kernel_only_when_asked() {
        let vs = VarStore::new(Device::Cpu);
        let score = AdditiveScore::new(vs.root(), 24, 20, 48, false);
        let annotations = Tensor::randn([6, 9, 20], (Kind::Float, Device::Cpu));
        let query = Tensor::randn([6, 24], (Kind::Float, Device::Cpu));
        let (reference, fused) = tch::no_grad(|| {
            let keys = score.keys(&annotations);
            let reference = crate::kernels::with_fused(false, || score.score(&query, &keys, None));
            let fused = crate::kernels::with_fused(true, || score.score(&query, &keys, None));
            (reference, fused)
        });
        let err = (&fused - &reference).abs().max().double_value(&[]);
        assert!(err < 1e-5, "fused differs by {err}");
        // Not bit-identical: the kernel really ran (its tanh and summation order differ).
        assert!(!fused.equal(&reference), "the fused path was not taken");
        // With gradients (training) the training kernel runs: the search kernel's values, and
        // the reference's gradients towards every parameter.
        let weights: Vec<f32> = (0..54).map(|i| (i % 7) as f32 - 3.0).collect();
        let w = Tensor::from_slice(&weights).view([6, 9]);
        let run = |fused: bool| {
            crate::kernels::with_fused(fused, || {
                let e = score.score(&query, &score.keys(&annotations), None);
                let loss = (&e * &w).sum(Kind::Float);
                let params = vs.trainable_variables();
                (
                    e.detach(),
                    Tensor::run_backward(&[loss], &params, false, false),
                )
            })
        };
        let (fused_train, fused_grads) = run(true);
        let (reference_train, reference_grads) = run(false);
        assert!(
            fused_train.equal(&fused),
            "training and search kernels differ"
        );
        assert!(
            !reference_train.equal(&fused_train),
            "the training kernel did not run"
        );
        assert_eq!(
            fused_grads.len(),
            4,
            "query and energy weights, key weight and bias"
        );
        for (got, want) in fused_grads.iter().zip(&reference_grads) {
            let err = (got - want).abs().max().double_value(&[]);
            let scale = want.abs().max().double_value(&[]).max(1e-3);
            assert!(err / scale < 1e-5, "gradient differs: {err} of {scale}");
        }
    }
}
