//! int8 weights with per-output-channel scales for search, multiplied by dynamically quantised
//! int8 activations (one scale per row) through libtorch's `_int_mm` (int8 × int8 → int32).
//!
//! The scheme is symmetric "dynamic quantisation", as `torch.ao.quantization.quantize_dynamic`
//! applies it to `Linear` layers, but with a scale per activation row instead of one per
//! tensor: for W `[N, K]`, s_n = max_k |W_nk| / 127 and W_nk ≈ s_n · q_nk; for a row x `[K]`,
//! t = max_k |x_k| / 127 and x_k ≈ t · p_k; then (x W^T)_n ≈ t · s_n · Σ_k p_k q_nk, the sum
//! exact in int32. Stored checkpoints stay fp32: the int8 copy is made at load time.

use tch::{Kind, Tensor};

/// Largest int8 magnitude used (symmetric range, -128 unused).
const QMAX: f64 = 127.0;

/// An fp32 weight W `[N, K]` stored as int8 `q^T` `[K, N]` (the layout `_int_mm` takes as its
/// second operand) with scales s `[N]` (fp32).
#[derive(Debug)]
pub struct Int8Weight {
    values: Tensor,
    scale: Tensor,
}

impl Int8Weight {
    /// Quantises W `[N, K]` (fp32) per output channel n. An all-zero channel gets scale 1 (its
    /// codes are 0).
    pub fn quantize(weight: &Tensor) -> Self {
        let weight = weight.detach().to_kind(Kind::Float);
        let scale = row_scales(&weight); // [N, 1]
        let values = (&weight / &scale)
            .round()
            .clamp(-QMAX, QMAX)
            .to_kind(Kind::Int8)
            .tr()
            .contiguous();
        Self {
            values,
            scale: scale.squeeze_dim(1),
        }
    }

    /// x `[R, K]` (fp32) → x W^T + b `[R, N]` (fp32), approximately (see the module docs): each
    /// row of x is quantised to int8 with its own scale, the product is exact in int32, and the
    /// result is scaled back and the bias b `[N]` added in one pass
    /// ([`crate::kernels::dequantize_rows`]). An all-zero row gives b.
    pub fn linear(&self, x: &Tensor, bias: &Tensor) -> Tensor {
        let row_scale = row_scales(x); // [R, 1]
        let codes = (x / &row_scale).round().to_kind(Kind::Int8);
        let acc = codes.internal_int_mm(&self.values); // [R, N] int32
        let row_scale = row_scale.squeeze_dim(1);
        crate::kernels::dequantize_rows(&acc, &row_scale, &self.scale, bias).unwrap_or_else(|| {
            acc.to_kind(Kind::Float) * row_scale.unsqueeze(1) * &self.scale + bias
        })
    }

    /// The weight of output channels `ids` only (W's rows `ids`), e.g. a shortlist.
    pub fn select_outputs(&self, ids: &Tensor) -> Self {
        Self {
            values: self.values.index_select(1, ids).contiguous(),
            scale: self.scale.index_select(0, ids),
        }
    }

    /// The fp32 weight `[N, K]` the codes stand for (s_n · q_nk).
    pub fn dequantize(&self) -> Tensor {
        self.values.tr().to_kind(Kind::Float) * self.scale.unsqueeze(1)
    }

    /// A second handle to the same tensors (no copy).
    pub fn shallow_clone(&self) -> Self {
        Self {
            values: self.values.shallow_clone(),
            scale: self.scale.shallow_clone(),
        }
    }
}

/// The symmetric int8 scale of each row of `t` `[R, C]`: max_c |t_rc| / 127 `[R, 1]`, or 1 for
/// an all-zero row (whose codes are then 0).
fn row_scales(t: &Tensor) -> Tensor {
    let amax = t.abs().amax([1], true);
    amax.where_scalarother(&amax.gt(0.0), QMAX) / QMAX
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Normal-ish values from a seeded generator (not libtorch's global RNG, which other
    /// tests in this process reseed concurrently).
    fn randn(seed: u64, shape: &[i64]) -> Tensor {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let n: i64 = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| (0..4).map(|_| rng.random::<f32>() - 0.5).sum::<f32>() * 1.7)
            .collect();
        Tensor::from_slice(&v).reshape(shape)
    }

    #[test]
    fn codes_reconstruct_the_weight_within_half_a_step_per_channel() {
        let w = randn(3, &[40, 24]);
        let q = Int8Weight::quantize(&w);
        let err = (q.dequantize() - &w).abs().amax([1], false); // [N]
        let step = w.abs().amax([1], false) / QMAX;
        let ratio = f64::try_from((err / step).max()).unwrap();
        assert!(ratio <= 0.5 + 1e-4, "max error {ratio} steps");
    }

    #[test]
    fn product_matches_fp32_within_the_quantisation_bound() {
        let (r, k, n) = (9, 64, 50);
        let w = randn(4, &[n, k]);
        let x = randn(5, &[r, k]);
        let _ = x.get(2).fill_(0.0); // an all-zero row must give zeros, not NaN
        let exact = x.matmul(&w.tr());
        let got = Int8Weight::quantize(&w)
            .linear(&x, &Tensor::zeros([n], (Kind::Float, tch::Device::Cpu)));
        assert_eq!(got.size(), [r, n]);
        assert_eq!(f64::try_from(got.get(2).abs().max()).unwrap(), 0.0);
        // |x·w - x̂·ŵ| ≤ Σ_k |x_k||δw_k| + |δx_k||w_k| + |δx_k||δw_k|, with |δ| ≤ step / 2.
        let sx = x.abs().amax([1], true) / QMAX; // [R, 1]
        let sw = w.abs().amax([1], true).tr() / QMAX; // [1, N]
        let l1x = x
            .abs()
            .sum_dim_intlist([1i64].as_slice(), true, Kind::Float); // [R, 1]
        let l1w = w
            .abs()
            .sum_dim_intlist([1i64].as_slice(), true, Kind::Float)
            .tr(); // [1, N]
        let bound = (&l1x * &sw + &sx * &l1w) * 0.5 + &sx * &sw * (k as f64 * 0.25) + 1e-5;
        let excess = f64::try_from(((got - &exact).abs() - bound).max()).unwrap();
        assert!(excess <= 0.0, "error above the bound by {excess}");
    }

    #[test]
    fn selected_outputs_equal_the_columns_of_the_full_product() {
        let w = randn(6, &[30, 16]);
        let x = randn(7, &[4, 16]);
        let q = Int8Weight::quantize(&w);
        let ids = Tensor::from_slice(&[0i64, 7, 29]);
        let bias = randn(8, &[30]);
        let full = q.linear(&x, &bias).index_select(1, &ids);
        let part = q
            .select_outputs(&ids)
            .linear(&x, &bias.index_select(0, &ids));
        assert!(full.equal(&part));
    }
}
