//! `tolk prepare`.

use std::path::PathBuf;

use tolk::config::Config;

/// Prepare a config's training data once, into its model directory: the subword model(s)
/// (BPE learned on at most `subword.sample_pairs` pairs, a seeded sample), the training corpus
/// as memory-mapped token ids (`MODEL_DIR/corpus/`, streamed and segmented in parallel
/// chunks, so memory does not grow with the corpus) and the lexical shortlist (counted in
/// parallel over at most `decoding.shortlist_pairs` pairs). Each is made only when missing or
/// stale (changed input files, subword or filter settings); `tolk train` does the same on its
/// first run, so this command is for preparing ahead (e.g. before several runs or ranks).
#[derive(clap::Args)]
pub struct Args {
    /// The experiment config.
    config: PathBuf,
    /// Override a config key, as `tolk train --set`.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    overrides: Vec<String>,
    /// Write the prepared corpus again even when it is up to date.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = Config::from_file_with_overrides(&args.config, &args.overrides)?;
    let report = tolk::train::prepare::prepare_model_dir(&cfg, args.force)?;
    tracing::info!(
        pairs = report.pairs,
        written = report.written,
        corpus = %tolk::artifacts::ModelDir::new(&cfg.training.model_dir).corpus().display(),
        "{}",
        if report.written {
            "training corpus prepared"
        } else {
            "training corpus up to date"
        }
    );
    Ok(())
}
