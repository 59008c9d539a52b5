//! What keeps the ranks of a data-parallel run in step besides the gradients: the same
//! starting weights and setup, the schedule decided by rank 0's validations, and where a
//! rank's batches lie among an update's.

use std::time::Duration;

use tch::{Device, Tensor};

use super::schedule::{Decision, PlateauSchedule};
use crate::config::Config;
use crate::distributed::{Backend, GradientBuckets, ProcessGroup, World};
use crate::error::Error;

/// A rank's share of a data-parallel run: its place in the world, the joined group and the
/// gradient bucket layout.
#[derive(Debug)]
pub struct Replication {
    /// This process's place.
    pub world: World,
    /// The joined process group.
    pub group: ProcessGroup,
    /// Buckets of the optimiser's parameters (set once the model exists).
    pub buckets: Option<GradientBuckets>,
}

impl Replication {
    /// Joins the process group of `world` with the config's backend (for the model's
    /// `device`) and timeout; `None` for a single process.
    ///
    /// Errors: [`Error::Input`] for a backend that cannot run here, [`Error::Distributed`]
    /// when the rendezvous fails.
    pub fn join(world: &World, config: &Config, device: Device) -> Result<Option<Self>, Error> {
        if world.size <= 1 {
            return Ok(None);
        }
        let backend = Backend::resolve(config.training.distributed_backend, device)?;
        let timeout = Duration::from_secs_f64(config.training.distributed_timeout_s.max(1.0));
        let group = ProcessGroup::join(world, backend, timeout)?;
        tracing::info!(
            rank = world.rank,
            size = world.size,
            ?backend,
            "joined the process group"
        );
        Ok(Some(Self {
            world: world.clone(),
            group,
            buckets: None,
        }))
    }

    /// Fails unless every rank trains the same model and data order: compares a fingerprint
    /// of the `[model]` and `[subword]` sections, the seed and the batching with rank 0's.
    ///
    /// Errors: [`Error::Input`] on a mismatch, [`Error::Distributed`] when the broadcast fails.
    pub fn check_same_setup(&self, config: &Config) -> Result<(), Error> {
        let tc = &config.training;
        let text = format!(
            "{:?}|{:?}|{}|{}|{}",
            config.model, config.subword, tc.seed, tc.batch_tokens, tc.accumulate_batches
        );
        // FNV-1a: the same on every machine (std's hasher is randomly keyed).
        let mut hash: u32 = 0x811C_9DC5;
        for b in text.bytes() {
            hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        let mine = f64::from(hash);
        let t = Tensor::from_slice(&[mine]);
        self.group.broadcast(std::slice::from_ref(&t), 0)?;
        if t.double_value(&[0]) != mine {
            return Err(Error::Input(format!(
                "rank {}: its model, subword, seed or batching settings differ from rank 0's; every rank must run the same config",
                self.world.rank
            )));
        }
        Ok(())
    }

    /// Gives every rank rank 0's parameter values, and sets up the gradient buckets of
    /// `params` (the optimiser's order) with `bucket_mb` MiB each.
    ///
    /// Errors: [`Error::Distributed`].
    pub fn share_parameters(&mut self, params: &[Tensor], bucket_mb: f64) -> Result<(), Error> {
        tch::no_grad(|| {
            let copies: Vec<Tensor> = params.iter().map(|p| p.detach().contiguous()).collect();
            self.group.broadcast(&copies, 0)?;
            for (p, c) in params.iter().zip(&copies) {
                p.detach().copy_(c);
            }
            Ok::<(), Error>(())
        })?;
        let cap = (bucket_mb.max(0.0) * 1024.0 * 1024.0) as usize;
        self.buckets = Some(GradientBuckets::new(params, cap.max(1)));
        Ok(())
    }

    /// After a validation: rank 0 passes its schedule and decision (`Some`), the others `None`;
    /// every rank returns with rank 0's schedule in `schedule` and rank 0's decision.
    ///
    /// Errors: [`Error::Distributed`].
    pub fn share_schedule(
        &self,
        schedule: &mut PlateauSchedule,
        decision: Option<Decision>,
    ) -> Result<Decision, Error> {
        let code = |d: Decision| match d {
            Decision::NewBest => 0.0,
            Decision::Continue => 1.0,
            Decision::Stop => 2.0,
        };
        let t = Tensor::from_slice(&[
            schedule.best.unwrap_or(f64::NAN),
            schedule.bad_for_lr as f64,
            schedule.bad_for_stop as f64,
            schedule.lr,
            decision.map_or(1.0, code),
        ]);
        self.group.broadcast(std::slice::from_ref(&t), 0)?;
        let v: Vec<f64> = Vec::<f64>::try_from(&t).map_err(|e| Error::Internal(e.to_string()))?;
        *schedule = PlateauSchedule {
            best: Some(v[0]).filter(|b| !b.is_nan()),
            bad_for_lr: v[1] as usize,
            bad_for_stop: v[2] as usize,
            lr: v[3],
        };
        Ok(match v[4] as u8 {
            0 => Decision::NewBest,
            2 => Decision::Stop,
            _ => Decision::Continue,
        })
    }
}

/// The positions, among an update's `size × accumulate` batches, of rank `rank`'s batches:
/// rank r takes `r·accumulate .. (r+1)·accumulate`, so the update's batches in rank order are
/// the plan's batches in order.
pub fn rank_slice(rank: usize, accumulate: usize) -> std::ops::Range<usize> {
    rank * accumulate..(rank + 1) * accumulate
}

/// The updates of an epoch of `n_batches` planned batches from batch `start` on, as the batch
/// numbers rank `rank` of `size` trains in each: an update takes the next `size × accumulate`
/// batches (a shorter remainder ends the epoch) and the rank its [`rank_slice`] of them. All
/// ranks map the same prepared corpus and plan the same order from the seed, so their shares
/// are disjoint and together are the epoch's batches.
pub fn rank_updates(
    n_batches: usize,
    start: usize,
    rank: usize,
    size: usize,
    accumulate: usize,
) -> impl Iterator<Item = std::ops::Range<usize>> {
    let per_update = size * accumulate;
    let updates = n_batches.saturating_sub(start) / per_update;
    (0..updates).map(move |u| {
        let first = start + u * per_update;
        let mine = rank_slice(rank, accumulate);
        first + mine.start..first + mine.end
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::batching::{BatchPlan, PairLengths};

    #[test]
    fn ranks_read_disjoint_slices_whose_union_is_the_epoch() {
        let lengths: Vec<PairLengths> = (0..3000)
            .map(|i| PairLengths::new((i % 23 + 1, i % 29 + 1)))
            .collect();
        let plan = BatchPlan::new(200, 5).epoch_plan(&lengths, 2);
        for (size, accumulate, start) in [(2, 1, 0), (2, 2, 3), (3, 1, 1)] {
            let per_update = size * accumulate;
            let full = (plan.len() - start) / per_update * per_update;
            let mut seen: Vec<u32> = Vec::new();
            for rank in 0..size {
                for update in rank_updates(plan.len(), start, rank, size, accumulate) {
                    assert_eq!(update.len(), accumulate);
                    seen.extend(update.flat_map(|b| plan.batch(b).iter().copied()));
                }
            }
            let mut epoch: Vec<u32> = (start..start + full)
                .flat_map(|b| plan.batch(b).iter().copied())
                .collect();
            let n = seen.len();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), n, "a pair read by two ranks ({size} ranks)");
            epoch.sort_unstable();
            assert_eq!(
                seen, epoch,
                "{size} ranks x {accumulate}, from batch {start}"
            );
        }
    }

    #[test]
    fn ranks_take_consecutive_shares_of_an_update() {
        assert_eq!(rank_slice(0, 1), 0..1);
        assert_eq!(rank_slice(1, 1), 1..2);
        assert_eq!(rank_slice(1, 3), 3..6);
    }
}
