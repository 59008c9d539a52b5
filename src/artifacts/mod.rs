//! What training leaves on disk and decoding reads back: the model directory, its named
//! checkpoints, the atomic writes that keep both whole when a run is killed, and checkpoint
//! averaging.
//!
//! This layer sits below training and decoding: it knows the model, its config and subword
//! models, never the training loop or search.

pub mod atomic;
pub mod average;
pub mod checkpoint;
pub mod checksum;
pub mod metrics_log;
pub mod model_dir;

pub use atomic::write_file_atomic;
pub use model_dir::{LoadedModel, ModelDir};
