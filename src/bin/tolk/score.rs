//! `tolk score`.

use std::path::PathBuf;

use tolk::data::corpus::read_lines;
use tolk::metrics::by_length::{score_by_length, DEFAULT_EDGES};
use tolk::metrics::significance::{
    paired_bleu_chrf, PairedResult, DEFAULT_SAMPLES, SACREBLEU_SEED,
};
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
    /// Paired bootstrap resampling against --hyp as the baseline, as sacreBLEU's
    /// `--paired-bs` (1000 resamples, seed 12345: the same p-values): one or more system
    /// outputs, line-aligned with --ref.
    #[arg(long, num_args = 1.., value_name = "SYSTEM_FILE")]
    paired_bs: Vec<PathBuf>,
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
    if !args.paired_bs.is_empty() {
        return paired(&args, &hyps, &refs);
    }
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

/// `--paired-bs`: BLEU and chrF of the baseline (--hyp) and each system, with resampled mean,
/// 95 % confidence interval and the p-value of the difference to the baseline.
fn paired(args: &Args, baseline: &[String], refs: &[String]) -> anyhow::Result<()> {
    anyhow::ensure!(
        !refs.is_empty(),
        "{}: no lines to resample for --paired-bs",
        args.reference.display()
    );
    let mut outputs = vec![(args.hyp.clone(), baseline.to_vec())];
    for path in &args.paired_bs {
        let lines = read_lines(path)?;
        anyhow::ensure!(
            lines.len() == refs.len(),
            "{} has {} lines but {} has {}",
            path.display(),
            lines.len(),
            args.reference.display(),
            refs.len()
        );
        outputs.push((path.clone(), lines));
    }
    let lines: Vec<&[String]> = outputs.iter().map(|(_, l)| l.as_slice()).collect();
    let (b, c) = paired_bleu_chrf(&lines, refs);
    if args.json {
        let rows: Vec<_> = outputs
            .iter()
            .zip(b.iter().zip(&c))
            .map(|((path, _), (b, c))| {
                serde_json::json!({"system": path.display().to_string(), "bleu": b, "chrf": c})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"test": "paired bootstrap", "resamples": DEFAULT_SAMPLES,
                               "seed": SACREBLEU_SEED, "systems": rows})
        );
        return Ok(());
    }
    let cell = |r: &PairedResult| {
        let p = r.p_value.map_or("".to_string(), |p| format!(" p = {p:.4}"));
        format!("{:.2} ({:.2} ± {:.2}){p}", r.score, r.mean, r.ci)
    };
    println!(
        "paired bootstrap, {DEFAULT_SAMPLES} resamples, seed {SACREBLEU_SEED}; baseline first"
    );
    println!("system\tBLEU (μ ± 95% CI)\tchrF2 (μ ± 95% CI)");
    for ((path, _), (b, c)) in outputs.iter().zip(b.iter().zip(&c)) {
        println!("{}\t{}\t{}", path.display(), cell(b), cell(c));
    }
    Ok(())
}
