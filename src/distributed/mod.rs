//! Data-parallel training on PyTorch's distributed engine (c10d, Gloo backend) through tolk's
//! C++ shim (`csrc/tolk_distributed.cpp`): each rank runs a copy of the model on its share of
//! every update's batches, and the gradients are summed over ranks before each optimiser step,
//! as PyTorch's `DistributedDataParallel` does (Li et al. 2020, arXiv 2006.15704, §3).
//!
//! - [`world`]: who this process is (`RANK`, `WORLD_SIZE`, … as `torchrun` sets them).
//! - [`process_group`]: the c10d process group and its collectives.
//! - [`buckets`]: gradients flattened into buckets, one all-reduce each.

pub mod buckets;
pub mod process_group;
pub mod world;

pub use buckets::GradientBuckets;
pub use process_group::ProcessGroup;
pub use world::World;
