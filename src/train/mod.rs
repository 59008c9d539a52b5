//! Training: label-smoothed loss, Adam with clipping, plateau schedule, the training state that
//! checkpoints ([`crate::artifacts::checkpoint`]) carry, and the loop that ties them together.

pub mod loss;
pub mod objective;
pub mod optimizer;
pub mod prepare;
pub mod schedule;
pub mod state;
pub mod trainer;
pub mod update;
pub mod validation;

pub use trainer::{train, TrainSummary};
