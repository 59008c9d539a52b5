//! `tolk train`.

use std::path::PathBuf;

use tolk::config::Config;

/// Train a model from a TOML config.
#[derive(clap::Args)]
pub struct Args {
    /// The experiment config.
    config: PathBuf,
    /// Continue the run saved in the config's model_dir/last.
    #[arg(long)]
    resume: bool,
    /// Override a config key, e.g. `--set model.attention=dot --set training.max_minutes=15`.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    overrides: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = Config::from_file_with_overrides(&args.config, &args.overrides)?;
    let summary = tolk::train::train(&cfg, args.resume)?;
    tracing::info!(
        steps = summary.steps,
        best_valid_bleu = ?summary.best_valid_bleu,
        minutes = format!("{:.1}", summary.elapsed_seconds / 60.0),
        target_tokens = summary.target_tokens,
        model_dir = %cfg.training.model_dir.display(),
        "training finished"
    );
    Ok(())
}
