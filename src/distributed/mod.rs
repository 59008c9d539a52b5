//! Data-parallel training on PyTorch's distributed engine (c10d, Gloo or NCCL backend) through
//! tolk's C++ shim (`csrc/tolk_distributed.cpp`, `csrc/tolk_nccl.cpp`): each rank runs a copy
//! of the model on its share of every update's batches, and the gradients are summed over ranks
//! before each optimiser step, as PyTorch's `DistributedDataParallel` does (Li et al. 2020,
//! arXiv 2006.15704, §3).
//!
//! - [`world`]: who this process is (`RANK`, `WORLD_SIZE`, … as `torchrun` sets them).
//! - [`backend`]: Gloo or NCCL, from the config and the device.
//! - [`process_group`]: the c10d process group and its collectives.
//! - [`buckets`]: gradients flattened into buckets, one all-reduce each.

pub mod backend;
pub mod buckets;
pub mod process_group;
pub mod world;

pub use backend::Backend;
pub use buckets::GradientBuckets;
pub use process_group::ProcessGroup;
pub use world::World;
