//! `tolk shortlist`.

use std::path::PathBuf;

use anyhow::Context;
use tolk::artifacts::ModelDir;
use tolk::config::Config;

/// (Re)build a model's lexical shortlist from its training corpus.
#[derive(clap::Args)]
pub struct Args {
    /// Model directory written by `tolk train`.
    #[arg(long)]
    model: PathBuf,
    /// Source side of the training corpus (plain or .gz).
    #[arg(long)]
    src: PathBuf,
    /// Target side of the training corpus.
    #[arg(long)]
    tgt: PathBuf,
    /// Most frequent target tokens always included; default from the model's config.
    #[arg(long)]
    frequent: Option<usize>,
    /// Target candidates per source token; default from the model's config.
    #[arg(long)]
    translations: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let md = ModelDir::new(&args.model);
    let mut config = Config::from_file(&md.config())
        .with_context(|| format!("{} is not a tolk model directory", args.model.display()))?;
    let dc = &mut config.decoding;
    dc.shortlist_frequent = args.frequent.unwrap_or(dc.shortlist_frequent);
    dc.shortlist_translations = args.translations.unwrap_or(dc.shortlist_translations);
    tolk::train::prepare::shortlist_from_corpus(&config, &md, &args.src, &args.tgt)
}
