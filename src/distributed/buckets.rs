//! Gradient buckets: the parameters' gradients flattened into a few large tensors, so that a
//! data-parallel update costs a few all-reduce calls instead of one per parameter (PyTorch
//! DDP's `bucket_cap_mb`, Li et al. 2020, arXiv 2006.15704, §3.2.3).

use tch::Tensor;

use super::ProcessGroup;
use crate::error::Error;

/// A fixed partition of a parameter list into buckets of at most `cap_bytes` each (a parameter
/// larger than the cap is a bucket of its own). Every rank builds it from the same list in the
/// same order (the optimiser's name-sorted parameters), so bucket `k` means the same
/// parameters everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradientBuckets {
    /// Parameter indices of each bucket, in order.
    buckets: Vec<Vec<usize>>,
}

impl GradientBuckets {
    /// Partitions `params` in order into buckets of at most `cap_bytes` of gradient.
    pub fn new(params: &[Tensor], cap_bytes: usize) -> Self {
        let mut buckets: Vec<Vec<usize>> = Vec::new();
        let mut bytes = 0usize;
        for (i, p) in params.iter().enumerate() {
            let size = p.numel() * p.kind().elt_size_in_bytes();
            if buckets.is_empty() || (bytes + size > cap_bytes && bytes > 0) {
                buckets.push(Vec::new());
                bytes = 0;
            }
            buckets.last_mut().expect("pushed above").push(i);
            bytes += size;
        }
        Self { buckets }
    }

    /// Number of buckets (all-reduce calls per update).
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Replaces every parameter's gradient by its sum over the ranks of `group`: each bucket's
    /// gradients are copied into one flat tensor, all buckets are all-reduced, and the sums
    /// are copied back. A parameter without a gradient on this rank contributes zeros (and
    /// keeps no gradient).
    ///
    /// Errors: [`Error::Distributed`] when the all-reduce fails.
    pub fn all_reduce_gradients(
        &self,
        params: &[Tensor],
        group: &ProcessGroup,
    ) -> Result<(), Error> {
        tch::no_grad(|| {
            let flat: Vec<Tensor> = self
                .buckets
                .iter()
                .map(|bucket| {
                    let parts: Vec<Tensor> = bucket
                        .iter()
                        .map(|&i| {
                            let g = params[i].grad();
                            if g.defined() {
                                g.reshape([-1])
                            } else {
                                params[i].zeros_like().reshape([-1])
                            }
                        })
                        .collect();
                    Tensor::cat(&parts, 0)
                })
                .collect();
            group.all_reduce_sum(&flat)?;
            for (bucket, sum) in self.buckets.iter().zip(&flat) {
                let mut offset = 0i64;
                for &i in bucket {
                    let n = params[i].numel() as i64;
                    let mut g = params[i].grad();
                    if g.defined() {
                        g.copy_(&sum.narrow(0, offset, n).view_as(&g));
                    }
                    offset += n;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn buckets_respect_the_cap_and_keep_the_order() {
        let p = |n: i64| Tensor::zeros([n], (Kind::Float, Device::Cpu));
        // 4-byte floats: 10, 10, 30 and 5 elements under a 100-byte cap.
        let params = [p(10), p(10), p(30), p(5)];
        let b = GradientBuckets::new(&params, 100);
        assert_eq!(b.buckets, vec![vec![0, 1], vec![2], vec![3]]);
        assert_eq!(GradientBuckets::new(&params, 1 << 20).len(), 1);
        assert_eq!(GradientBuckets::new(&params, 1).len(), 4);
        assert!(GradientBuckets::new(&[], 100).is_empty());
    }
}
