//! `tolk score`.

use std::path::PathBuf;

use tolk::data::corpus::read_lines;
use tolk::metrics::by_length::{score_by_length, DEFAULT_EDGES};
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
    /// Print JSON with numeric fields `bleu` and `chrf` (with --by-length: `buckets`, each
    /// with `min_words`, `max_words`, `sentences`, `bleu`, `chrf`).
    #[arg(long)]
    json: bool,
    /// Also score by source length: the source file line-aligned with --hyp; buckets of
    /// source words cut at --length-edges (Bahdanau et al. 2015, Figure 2).
    #[arg(long, value_name = "SRC_FILE")]
    by_length: Option<PathBuf>,
    /// Bucket edges in source words for --by-length (default 10,20,30,40: 0-9, 10-19, ...,
    /// 40+).
    #[arg(long, value_delimiter = ',')]
    length_edges: Option<Vec<usize>>,
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
    if let Some(src_path) = &args.by_length {
        let sources = read_lines(src_path)?;
        let edges = args.length_edges.clone().unwrap_or(DEFAULT_EDGES.to_vec());
        let buckets = score_by_length(&sources, &hyps, &refs, &edges)
            .map_err(|e| e.context(format!("scoring {} by length", src_path.display())))?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({"bleu": bleu.score, "chrf": chrf.score,
                                   "bleu_signature": bleu.signature(), "buckets": buckets})
            );
        } else {
            println!("source words\tsentences\tBLEU\tchrF");
            let show = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.2}"));
            for b in &buckets {
                println!(
                    "{}\t{}\t{}\t{}",
                    b.label(),
                    b.sentences,
                    show(b.bleu),
                    show(b.chrf)
                );
            }
            println!("all\t{}\t{:.2}\t{:.2}", hyps.len(), bleu.score, chrf.score);
        }
        return Ok(());
    }
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
