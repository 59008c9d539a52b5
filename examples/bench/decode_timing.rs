//! Timing of greedy and beam search on the exported test sentences.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use tch::Device;

use crate::common::*;
use tolk::artifacts::{LoadedModel, ModelDir};
use tolk::batch::source_tensors;
use tolk::decode::{beam_search, greedy_search, BeamConfig, Hypothesis, LexicalShortlist};
use tolk::kernels::with_fused;
use tolk::precision::PrecisionChoice;

/// tolk's search options that change its speed (and `shortlist` its vocabulary).
#[derive(Debug, Clone, Copy)]
pub struct SearchLevers {
    pub shortlist: bool,
    pub precision: PrecisionChoice,
    pub fused_kernels: bool,
}

pub fn time_translation(
    model_dir: &Path,
    test: &Value,
    beam: usize,
    levers: SearchLevers,
) -> Result<Value> {
    let mut loaded = LoadedModel::load(model_dir, None, Device::Cpu)?;
    loaded
        .model
        .set_search_precision(levers.precision.resolve());
    let shortlist = levers
        .shortlist
        .then(|| LexicalShortlist::load(&ModelDir::new(model_dir).shortlist()))
        .transpose()?;
    let ids: Vec<Vec<i64>> = test["ids"]
        .as_array()
        .context("ids")?
        .iter()
        .map(ids_of)
        .collect();
    let max_len: Vec<usize> = ids_of(&test["max_len"])
        .into_iter()
        .map(|x| x as usize)
        .collect();
    let plan: Vec<Vec<usize>> = test["batches"]
        .as_array()
        .context("batches")?
        .iter()
        .map(|b| ids_of(b).into_iter().map(|x| x as usize).collect())
        .collect();
    let alpha = loaded.config.decoding.length_penalty;
    let search_batch = |batch: &[usize]| -> Vec<Hypothesis> {
        let srcs: Vec<&[i64]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
        let (src, src_len) = source_tensors(&srcs, Device::Cpu);
        let ml: Vec<usize> = batch.iter().map(|&i| max_len[i]).collect();
        // Candidate lookup is part of the timed work, as in `Translator::translate`.
        let candidates = shortlist.as_ref().map(|s| s.candidates(&srcs));
        let candidates = candidates.as_deref();
        if beam <= 1 {
            greedy_search(&loaded.model, &src, &src_len, &ml, false, candidates)
        } else {
            let cfg = BeamConfig {
                beam_size: beam,
                length_penalty: alpha,
                nbest: 1,
            };
            beam_search(&loaded.model, &src, &src_len, &ml, cfg, false, candidates)
                .expect("valid beam settings")
                .into_iter()
                .map(|mut h| h.swap_remove(0))
                .collect()
        }
    };
    // As `Translator::translate_with` runs each search.
    let search = |batch: &[usize]| with_fused(levers.fused_kernels, || search_batch(batch));
    // Untimed warm-up on a few sentences (first-call allocations and kernel setup).
    if let Some(first) = plan.first() {
        let _ = search(&first[..first.len().min(8)]);
    }
    reset_peak_rss();
    let rss_start = rss_mib();
    let mut out: Vec<Vec<i64>> = vec![Vec::new(); ids.len()];
    let t0 = Instant::now();
    // The loop of Translator::translate on pre-encoded ids (BPE excluded in both
    // implementations).
    for batch in &plan {
        let hyps = search(batch);
        for (&i, h) in batch.iter().zip(hyps) {
            out[i] = h.tokens;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let rss = peak_rss_mib();
    let tokens: usize = out.iter().map(|t| t.len() + 1).sum();
    // Mean shortlist size per batch (0 = full vocabulary), outside the timed loop.
    let shortlist_mean = shortlist.as_ref().map_or(0.0, |s| {
        let sizes: Vec<f64> = plan
            .iter()
            .map(|b| {
                let srcs: Vec<&[i64]> = b.iter().map(|&i| ids[i].as_slice()).collect();
                s.candidates(&srcs).len() as f64
            })
            .collect();
        sizes.iter().sum::<f64>() / sizes.len().max(1) as f64
    });
    Ok(json!({
        "beam": beam,
        "shortlist_mean_size": shortlist_mean,
        "sentences": ids.len(),
        "seconds": secs,
        "output_tokens": tokens,
        "sentences_per_s": ids.len() as f64 / secs,
        "tokens_per_s": tokens as f64 / secs,
        "rss_start_mib": rss_start,
        "peak_rss_mib": rss,
        "ids": out,
    }))
}
