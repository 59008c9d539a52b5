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
use tolk::model::Seq2Seq;
use tolk::precision::PrecisionChoice;

/// tolk's search options that change its speed (and `shortlist` its vocabulary).
#[derive(Debug, Clone, Copy)]
pub struct SearchLevers {
    pub shortlist: bool,
    pub precision: PrecisionChoice,
    pub fused_kernels: bool,
    /// Search workers (`tolk translate --workers`): model copies on their own threads with
    /// `threads / workers` libtorch threads each, each given a contiguous share of the batches.
    pub workers: usize,
}

pub fn time_translation(
    model_dir: &Path,
    test: &Value,
    beam: usize,
    levers: SearchLevers,
) -> Result<Value> {
    let workers = levers.workers.max(1);
    let mut copies = Vec::with_capacity(workers);
    for _ in 0..workers {
        let mut loaded = LoadedModel::load(model_dir, None, Device::Cpu)?;
        loaded
            .model
            .set_search_precision(levers.precision.resolve());
        copies.push(loaded);
    }
    let threads_per_worker = (tch::get_num_threads().max(1) as usize / workers).max(1);
    let shortlist = levers
        .shortlist
        .then(|| {
            let vocab = copies[0].tgt_subwords.vocab_size();
            LexicalShortlist::load(&ModelDir::new(model_dir).shortlist(), vocab)
        })
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
    let alpha = copies[0].config.decoding.length_penalty;
    let search_batch = |model: &Seq2Seq, batch: &[usize]| -> Vec<Hypothesis> {
        let srcs: Vec<&[i64]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
        let (src, src_len) = source_tensors(&srcs, Device::Cpu);
        let ml: Vec<usize> = batch.iter().map(|&i| max_len[i]).collect();
        // Candidate lookup is part of the timed work, as in `Translator::translate`.
        let candidates = shortlist.as_ref().map(|s| s.candidates(&srcs));
        let candidates = candidates.as_deref();
        if beam <= 1 {
            greedy_search(model, &src, &src_len, &ml, false, candidates)
        } else {
            let cfg = BeamConfig {
                beam_size: beam,
                length_penalty: alpha,
                nbest: 1,
            };
            beam_search(model, &src, &src_len, &ml, cfg, false, candidates)
                .expect("valid beam settings")
                .into_iter()
                .map(|mut h| h.swap_remove(0))
                .collect()
        }
    };
    // As `Translator::translate_with` runs each search.
    let search = |model: &Seq2Seq, batch: &[usize]| {
        with_fused(levers.fused_kernels, || search_batch(model, batch))
    };
    // Untimed warm-up on a few sentences (first-call allocations and kernel setup).
    if let Some(first) = plan.first() {
        for c in &copies {
            let _ = search(&c.model, &first[..first.len().min(8)]);
        }
    }
    reset_peak_rss();
    let rss_start = rss_mib();
    let mut out: Vec<Vec<i64>> = vec![Vec::new(); ids.len()];
    let t0 = Instant::now();
    // The loop of Translator::translate on pre-encoded ids (BPE excluded in both
    // implementations), over contiguous shares of the batches with several workers.
    let share = plan.len().div_ceil(workers).max(1);
    let results: Vec<Vec<(usize, Vec<i64>)>> = if workers == 1 {
        vec![run_share(&copies[0].model, &plan, &search)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = copies
                .iter_mut()
                .zip(plan.chunks(share))
                .map(|(c, part)| {
                    let search = &search;
                    scope.spawn(move || {
                        tch::set_num_threads(threads_per_worker as i32);
                        run_share(&c.model, part, search)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("search worker panicked"))
                .collect()
        })
    };
    for (i, tokens) in results.into_iter().flatten() {
        out[i] = tokens;
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
        "workers": workers,
        "ids": out,
    }))
}

/// Searches each batch of `plan` with `model`: (sentence index, output ids) pairs.
fn run_share(
    model: &Seq2Seq,
    plan: &[Vec<usize>],
    search: &(impl Fn(&Seq2Seq, &[usize]) -> Vec<Hypothesis> + ?Sized),
) -> Vec<(usize, Vec<i64>)> {
    plan.iter()
        .flat_map(|batch| {
            batch
                .iter()
                .copied()
                .zip(search(model, batch).into_iter().map(|h| h.tokens))
        })
        .collect()
}
