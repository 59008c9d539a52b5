//! `tolk plot`.

use std::path::PathBuf;

/// Plot an attention heatmap or learning curves.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["alignments", "metrics"])))]
pub struct Args {
    /// JSON lines written by `tolk translate --alignments`.
    #[arg(long)]
    alignments: Option<PathBuf>,
    /// Which line of --alignments to plot (0-based) [default: 0].
    #[arg(long, conflicts_with = "metrics")]
    index: Option<usize>,
    /// metrics.csv of a model directory.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Output image; the extension (.png or .svg) picks the format.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(path) = &args.alignments {
        let matrix = tolk::plot::heatmap::read_alignment(path, args.index.unwrap_or(0))?;
        tolk::plot::heatmap::render(&matrix, &args.out)?;
    } else if let Some(path) = &args.metrics {
        tolk::plot::curves::render(path, &args.out)?;
    }
    tracing::info!(out = %args.out.display(), "plot written");
    Ok(())
}
