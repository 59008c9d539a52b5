//! `tolk score`.

use std::path::PathBuf;

use tolk::data::corpus::read_lines;
use tolk::metrics::{corpus_bleu, corpus_chrf};

/// Corpus BLEU and chrF of a hypothesis file against a reference file.
#[derive(clap::Args)]
pub struct Args {
    /// System output, one sentence per line.
    #[arg(long)]
    hyp: PathBuf,
    /// Reference translations, line-aligned with --hyp.
    #[arg(long = "ref")]
    reference: PathBuf,
    /// Print JSON with numeric fields `bleu` and `chrf`.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let hyps = read_lines(&args.hyp)?;
    let refs = read_lines(&args.reference)?;
    anyhow::ensure!(
        hyps.len() == refs.len(),
        "{} has {} lines but {} has {}",
        args.hyp.display(),
        hyps.len(),
        args.reference.display(),
        refs.len()
    );
    let bleu = corpus_bleu(&hyps, &[&refs]);
    let chrf = corpus_chrf(&hyps, &[&refs]);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "bleu": bleu.score,
                "chrf": chrf.score,
                "bleu_signature": bleu.signature(),
                "chrf_signature": chrf.signature(),
                "bleu_verbose": bleu.format(),
            })
        );
    } else {
        println!("{}", bleu.format_with_signature());
        println!("{}", chrf.format_with_signature());
    }
    Ok(())
}
