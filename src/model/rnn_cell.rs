//! Recurrent cells for the decoder, written so that the part of the input transform that does
//! not depend on the recurrence (the embeddings of y_{i-1}) is computed for all steps at once.

use tch::{nn, Tensor};

use crate::config::RnnType;

/// Recurrent state: `h` `[B, D]` for a GRU, `(h, c)` for an LSTM.
#[derive(Debug)]
pub enum RnnState {
    /// GRU hidden state `[B, D]`.
    Gru(Tensor),
    /// LSTM hidden and cell state, each `[B, D]`.
    Lstm(Tensor, Tensor),
}

impl RnnState {
    /// The output state h (the attention query) `[B, D]`.
    pub fn h(&self) -> &Tensor {
        match self {
            RnnState::Gru(h) | RnnState::Lstm(h, _) => h,
        }
    }

    /// Reorders the batch (beam search): `index` `[B']` of rows to keep.
    pub fn index_select(&self, index: &Tensor) -> Self {
        match self {
            RnnState::Gru(h) => RnnState::Gru(h.index_select(0, index)),
            RnnState::Lstm(h, c) => {
                RnnState::Lstm(h.index_select(0, index), c.index_select(0, index))
            }
        }
    }

    /// Zero cell state for an LSTM, or just `h` for a GRU.
    pub fn from_h(kind: RnnType, h: Tensor) -> Self {
        match kind {
            RnnType::Gru => RnnState::Gru(h),
            RnnType::Lstm => {
                let c = h.zeros_like();
                RnnState::Lstm(h, c)
            }
        }
    }
}

/// A GRU (Cho et al. 2014, eq. 5-8, PyTorch gate order r, z, n) or LSTM cell (gate order i, f,
/// g, o) whose input is split in two parts: a precomputable part `x` (embeddings) and a
/// per-step part `u` (the attention context).
///
/// Parameters: `w_x` `[G·D, X]`, `w_u` `[G·D, U]`, `w_h` `[G·D, D]`, biases `[G·D]`, with
/// G = 3 (GRU) or 4 (LSTM).
#[derive(Debug)]
pub struct SplitInputCell {
    kind: RnnType,
    hidden: i64,
    w_x: Tensor,
    b_x: Tensor,
    w_u: Tensor,
    w_h: Tensor,
    b_h: Tensor,
}

impl SplitInputCell {
    /// `x_dim` precomputable input size, `u_dim` per-step input size, `hidden` D.
    pub fn new(vs: nn::Path, kind: RnnType, x_dim: i64, u_dim: i64, hidden: i64) -> Self {
        let gates = match kind {
            RnnType::Gru => 3,
            RnnType::Lstm => 4,
        };
        let bound = 1.0 / (hidden as f64).sqrt();
        let init = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        Self {
            kind,
            hidden,
            w_x: vs.var("w_x", &[gates * hidden, x_dim], init),
            b_x: vs.var("b_x", &[gates * hidden], init),
            w_u: vs.var("w_u", &[gates * hidden, u_dim], init),
            w_h: vs.var("w_h", &[gates * hidden, hidden], init),
            b_h: vs.var("b_h", &[gates * hidden], init),
        }
    }

    /// Input transform of the precomputable part for all steps: `x` `[B, T, X]` →
    /// `[B, T, G·D]`.
    pub fn precompute(&self, x: &Tensor) -> Tensor {
        x.linear(&self.w_x, Some(&self.b_x))
    }

    /// One step: `x_proj` `[B, G·D]` (a slice of [`Self::precompute`]), `u` `[B, U]`, state →
    /// new state. Inside [`crate::kernels::with_fused`] a GRU's gates run through a fused
    /// kernel: [`crate::kernels::gru_gates`] in search, [`crate::kernels::gru_gates_train`]
    /// (with its own backward) when gradients are needed.
    pub fn step(&self, x_proj: &Tensor, u: &Tensor, state: &RnnState) -> RnnState {
        let gi = x_proj + u.matmul(&self.w_u.tr());
        let gh = state.h().linear(&self.w_h, Some(&self.b_h));
        match (self.kind, state) {
            (RnnType::Gru, RnnState::Gru(h)) => {
                if crate::kernels::fused_enabled() {
                    // Under bf16 autocast the transforms are bf16; the gates run in fp32.
                    let f32 = |t: &Tensor| t.to_kind(tch::Kind::Float);
                    let (gi, gh, h) = (f32(&gi), f32(&gh), &f32(h));
                    let training = gi.requires_grad() || gh.requires_grad() || h.requires_grad();
                    let fused = if training {
                        crate::kernels::gru_gates_train(&gi, &gh, h)
                    } else {
                        crate::kernels::gru_gates(&gi, &gh, h)
                    };
                    if let Some(h_new) = fused {
                        return RnnState::Gru(h_new);
                    }
                }
                let gi = gi.chunk(3, 1);
                let gh = gh.chunk(3, 1);
                let r = (&gi[0] + &gh[0]).sigmoid();
                let z = (&gi[1] + &gh[1]).sigmoid();
                let n = (&gi[2] + r * &gh[2]).tanh();
                // h' = (1 - z) * n + z * h  =  n + z * (h - n)
                let h_new = &n + z * (h - &n);
                RnnState::Gru(h_new)
            }
            (RnnType::Lstm, RnnState::Lstm(_, c)) => {
                let g = (gi + gh).chunk(4, 1);
                let i = g[0].sigmoid();
                let f = g[1].sigmoid();
                let cand = g[2].tanh();
                let o = g[3].sigmoid();
                let c_new = f * c + i * cand;
                let h_new = o * c_new.tanh();
                RnnState::Lstm(h_new, c_new)
            }
            _ => panic!("state does not match the cell type {:?}", self.kind),
        }
    }

    /// Hidden size D.
    pub fn hidden(&self) -> i64 {
        self.hidden
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn::VarStore, Device, Kind};

    #[test]
    fn gru_gates_go_through_the_fused_kernels_only_inside_with_fused() {
        let vs = VarStore::new(Device::Cpu);
        let cell = SplitInputCell::new(vs.root(), RnnType::Gru, 8, 6, 16);
        let opts = (Kind::Float, Device::Cpu);
        let (x, u) = (Tensor::randn([5, 8], opts), Tensor::randn([5, 6], opts));
        let state = RnnState::Gru(Tensor::randn([5, 16], opts));
        let run = |fused: bool| {
            crate::kernels::with_fused(fused, || {
                let x_proj = cell.precompute(&x);
                match cell.step(&x_proj, &u, &state) {
                    RnnState::Gru(h) => h,
                    RnnState::Lstm(..) => unreachable!(),
                }
            })
        };
        let (reference, fused) = tch::no_grad(|| (run(false), run(true)));
        let err = (&fused - &reference).abs().max().double_value(&[]);
        assert!(err < 1e-5, "fused differs by {err}");
        // Not bit-identical: the kernel really ran (its σ and tanh round differently).
        assert!(!fused.equal(&reference), "the fused path was not taken");
        // With gradients (training) the training kernel runs: same values as search's kernel.
        let with_grad = run(true);
        assert!(with_grad.requires_grad());
        assert!(with_grad.detach().equal(&fused));
        // Outside `with_fused` the reference runs, with gradients too.
        assert!(run(false).detach().equal(&reference));
    }
}
