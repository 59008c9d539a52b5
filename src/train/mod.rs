//! Training: label-smoothed loss, Adam with clipping, plateau schedule, the training state that
//! checkpoints ([`crate::artifacts::checkpoint`]) carry, and the loop that ties them together,
//! on one process or as one rank of a data-parallel run ([`replication`]).

pub mod control;
pub mod loss;
pub mod loss_scale;
pub mod objective;
pub mod optimizer;
pub mod prepare;
pub mod replication;
pub mod schedule;
pub mod start;
pub mod state;
pub mod trainer;
pub mod update;
pub mod validation;

pub use control::TrainControl;
pub use loss_scale::LossScale;
pub use start::Start;
pub use trainer::{train, train_as, train_from, train_with, TrainSummary};
