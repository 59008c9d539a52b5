//! `tolk average`.

use std::path::PathBuf;

use tolk::artifacts::average::{checkpoints_to_average, write_averaged_model};
use tolk::artifacts::ModelDir;

/// Average the weights of several checkpoints of one run into a new model directory.
#[derive(clap::Args)]
pub struct Args {
    /// Model directory written by `tolk train`.
    #[arg(long)]
    model: PathBuf,
    /// Average the newest N `step-N/` checkpoints (kept with `training.keep_checkpoints`).
    #[arg(long, conflicts_with = "checkpoints")]
    last: Option<usize>,
    /// Checkpoints to average, by name in the model directory (e.g. step-4000 best last).
    #[arg(conflicts_with = "last")]
    checkpoints: Vec<String>,
    /// The new model directory (must not exist, or be empty); `tolk translate --model OUT`
    /// reads its `best/`.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let md = ModelDir::new(&args.model);
    let dirs = checkpoints_to_average(&md, args.last, &args.checkpoints)?;
    write_averaged_model(&args.model, &dirs, &args.out)?;
    let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    tracing::info!(out = %args.out.display(), checkpoints = ?names, "averaged");
    Ok(())
}
