//! `tolk plot`.

use std::path::PathBuf;

/// Plot an attention heatmap or learning curves.
#[derive(clap::Args)]
#[command(group(
    clap::ArgGroup::new("input").required(true).args(["alignments", "metrics", "by_length"])
))]
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
    /// BLEU against source length (Bahdanau et al. 2015, Figure 2): one or more JSON files of
    /// `tolk score --by-length SRC --json`, one curve each.
    #[arg(long, num_args = 1..)]
    by_length: Vec<PathBuf>,
    /// Legend labels for --by-length, comma-separated (default: the file names).
    #[arg(long, value_delimiter = ',')]
    labels: Vec<String>,
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
    } else {
        anyhow::ensure!(
            args.labels.is_empty() || args.labels.len() == args.by_length.len(),
            "{} labels for {} --by-length files",
            args.labels.len(),
            args.by_length.len()
        );
        let curves = args
            .by_length
            .iter()
            .enumerate()
            .map(|(i, path)| {
                let default = path
                    .file_stem()
                    .map_or(String::new(), |s| s.to_string_lossy().into());
                let label = args.labels.get(i).cloned().unwrap_or(default);
                tolk::plot::by_length::read_curve(path, &label)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        tolk::plot::by_length::render(&curves, &args.out)?;
    }
    tracing::info!(out = %args.out.display(), "plot written");
    Ok(())
}
