//! No attention: the fixed-length context of the plain RNN encoder-decoder (Cho et al. 2014,
//! arXiv 1406.1078, §2.2), the baseline that attention answers. The decoder is conditioned at
//! every step on one summary c of the whole source, the encoder's final states
//! c = [h→_{T_x}; h←_1], and nothing aligns target to source positions.

use tch::{Kind, Tensor};

/// The summary c `[M, 2H]` of `annotations` `[M, S, 2H]` (forward half, then backward half)
/// under `mask` `[M, S]` (true = a source position): the forward RNN's state at the last real
/// position and the backward RNN's state at position 0.
pub fn final_states(annotations: &Tensor, mask: &Tensor) -> Tensor {
    let h2 = annotations.size()[2];
    let h = h2 / 2;
    let last = (mask.sum_dim_intlist(1, false, Kind::Int64) - 1).clamp_min(0); // [M]
    let index = last.view([-1, 1, 1]).expand([-1, 1, h], false);
    let forward = annotations
        .narrow(2, 0, h)
        .gather(1, &index, false)
        .squeeze_dim(1);
    let backward = annotations.select(1, 0).narrow(1, h, h2 - h);
    Tensor::cat(&[forward, backward], 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn takes_the_forward_state_at_the_last_real_position_and_the_backward_at_the_first() {
        // Two sentences of lengths 3 and 1, S = 3, 2H = 4: value = 100·row + 10·position + unit.
        let values: Vec<f32> = (0..2)
            .flat_map(|b| {
                (0..3).flat_map(move |j| (0..4).map(move |u| (100 * b + 10 * j + u) as f32))
            })
            .collect();
        let annotations = Tensor::from_slice(&values).view([2, 3, 4]);
        let mask = Tensor::from_slice(&[true, true, true, true, false, false]).view([2, 3]);
        let c = final_states(&annotations, &mask);
        let want = Tensor::from_slice(&[20f32, 21., 2., 3., 100., 101., 102., 103.]).view([2, 4]);
        assert!(c.equal(&want), "{c}");
        assert_eq!(c.device(), Device::Cpu);
    }
}
