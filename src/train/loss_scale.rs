//! Dynamic loss scaling for fp16 training (Micikevicius et al. 2018, "Mixed Precision
//! Training", arXiv 1710.03740, §3.2). fp16 flushes magnitudes below 6e-8 to zero, and many
//! activation gradients are that small, so the loss is multiplied by a scale S before the
//! backward pass and the gradients by 1/S after it. S is found as training goes, by the rule of
//! PyTorch's `GradScaler` (its `_amp_update_scale_`): an update whose gradients hold an inf or
//! NaN is skipped and S halved; after `window` updates in a row without one, S doubles.
//! The check and the unscaling are libtorch's `_amp_foreach_non_finite_check_and_unscale_`.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// The dynamic loss scale and its counters; saved in `state.json`, so a resumed run goes on
/// with the scale it had.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossScale {
    /// S: the loss is multiplied by this before the backward pass.
    pub scale: f64,
    /// Updates in a row with finite gradients since S last changed.
    pub good_updates: usize,
    /// Updates skipped so far because a gradient overflowed.
    pub skipped_updates: usize,
}

impl LossScale {
    /// Factor S grows by after `window` good updates (`GradScaler`'s `growth_factor`).
    pub const GROWTH: f64 = 2.0;
    /// Factor S shrinks by on an overflow (`GradScaler`'s `backoff_factor`).
    pub const BACKOFF: f64 = 0.5;

    /// A scale starting at `initial` (`training.loss_scale_init`; `GradScaler`'s default is
    /// 2^16).
    pub fn new(initial: f64) -> Self {
        Self {
            scale: initial,
            good_updates: 0,
            skipped_updates: 0,
        }
    }

    /// Multiplies every defined gradient of `params` by `factor / S` in place and returns
    /// whether any element was inf or NaN (then the gradients are not to be used). `factor` is
    /// what the gradients needed anyway (1 / target tokens of the update); folding it in
    /// touches each gradient once.
    pub fn unscale(&self, params: &[Tensor], factor: f64) -> bool {
        let mut found: Option<Tensor> = None;
        tch::no_grad(|| {
            for p in params {
                let mut g = p.grad();
                if !g.defined() {
                    continue;
                }
                let opts = (Kind::Float, g.device());
                let inv_scale = Tensor::from(factor / self.scale).to_kind(Kind::Float);
                let inv_scale = inv_scale.to_device(g.device());
                let found_inf = found.get_or_insert_with(|| Tensor::zeros([1], opts));
                g.internal_amp_non_finite_check_and_unscale(found_inf, &inv_scale);
            }
        });
        found.is_some_and(|f| f.double_value(&[0]) > 0.0)
    }

    /// Advances the rule after an update: on `overflowed` S halves, the update counts as
    /// skipped and the run of good updates restarts; otherwise the run grows, and S doubles
    /// when it reaches `window` (then the run restarts).
    pub fn update(&mut self, overflowed: bool, window: usize) {
        if overflowed {
            self.scale *= Self::BACKOFF;
            self.good_updates = 0;
            self.skipped_updates += 1;
            return;
        }
        self.good_updates += 1;
        if self.good_updates >= window.max(1) {
            self.scale *= Self::GROWTH;
            self.good_updates = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn param_with_grad(grad: &[f32]) -> Tensor {
        let p =
            Tensor::zeros([grad.len() as i64], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        (&p * Tensor::from_slice(grad)).sum(Kind::Float).backward();
        p
    }

    #[test]
    fn unscale_divides_by_the_scale_and_reports_overflow() {
        let ls = LossScale::new(1024.0);
        let params = [
            param_with_grad(&[2048.0, -512.0]),
            param_with_grad(&[256.0]),
        ];
        assert!(!ls.unscale(&params, 0.5));
        assert_eq!(
            Vec::<f32>::try_from(params[0].grad()).unwrap(),
            [1.0, -0.25]
        );
        assert_eq!(Vec::<f32>::try_from(params[1].grad()).unwrap(), [0.125]);
        let bad = [
            param_with_grad(&[1.0]),
            param_with_grad(&[f32::INFINITY, 3.0]),
        ];
        assert!(ls.unscale(&bad, 1.0));
        let nan = [param_with_grad(&[f32::NAN])];
        assert!(ls.unscale(&nan, 1.0));
    }

    #[test]
    fn scale_backs_off_on_overflow_and_grows_after_a_window_of_good_updates() {
        let mut ls = LossScale::new(65536.0);
        ls.update(true, 3);
        assert_eq!(
            (ls.scale, ls.good_updates, ls.skipped_updates),
            (32768.0, 0, 1)
        );
        ls.update(false, 3);
        ls.update(false, 3);
        assert_eq!(ls.scale, 32768.0);
        ls.update(false, 3);
        assert_eq!((ls.scale, ls.good_updates), (65536.0, 0));
        ls.update(false, 3);
        ls.update(true, 3);
        assert_eq!(
            (ls.scale, ls.good_updates, ls.skipped_updates),
            (32768.0, 0, 2)
        );
        let json = serde_json::to_string(&ls).unwrap();
        assert_eq!(serde_json::from_str::<LossScale>(&json).unwrap(), ls);
    }
}
