//! `bench export`: training batches and test ids for both implementations.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use serde_json::json;
use tch::Device;

use crate::common::*;
use tolk::artifacts::ModelDir;
use tolk::batch::Batch;
use tolk::config::Config;
use tolk::data::batching::{padding_fraction, plan_epoch, plan_inference, BatchPlan};
use tolk::data::corpus::{read_lines, read_training_pairs};
use tolk::train::prepare::segment_and_filter;

pub fn export(
    model: &Path,
    n_batches: usize,
    sentences: usize,
    data: &Path,
    out: &Path,
) -> Result<()> {
    let md = ModelDir::new(model);
    let config = Config::from_file(&md.config())?;
    let (src_sw, tgt_sw) = load_subwords(model, &config)?;
    let dc = &config.data;
    let tc = &config.training;
    let train_src = resolve_data(&dc.train_src, data)?;
    let train_tgt = resolve_data(&dc.train_tgt, data)?;
    let started = Instant::now();

    // Exactly the trainer's data path (src/train/prepare.rs).
    let corpus = read_training_pairs(&train_src, &train_tgt, dc.empty_lines, dc.max_line_chars)?;
    let (pairs, _) = segment_and_filter(&config, &src_sw, &tgt_sw, &corpus)?;
    let examples: Vec<(&[i64], &[i64])> = pairs
        .iter()
        .map(|(s, t)| (s.as_slice(), t.as_slice()))
        .collect();
    let lengths: Vec<(usize, usize)> = examples
        .iter()
        .map(|(s, t)| (s.len() + 1, t.len() + 1))
        .collect();
    let plan = plan_epoch(&lengths, tc.batch_tokens, tc.seed, 0);
    let take = n_batches.min(plan.len());
    let tgt_vocab = tgt_sw.vocab_size() as i64;
    let mut batches = Vec::new();
    for idx in &plan[..take] {
        let pairs: Vec<(&[i64], &[i64])> = idx.iter().map(|&i| examples[i]).collect();
        let batch = Batch::new(&pairs, Device::Cpu);
        let (b, s) = batch.src.size2()?;
        let t = batch.tgt_in.size()[1];
        batches.push(json!({
            "src": rows_of(&batch.src),
            "src_lengths": Vec::<i64>::try_from(&batch.src_lengths)?,
            "tgt_in": rows_of(&batch.tgt_in),
            "tgt_out": rows_of(&batch.tgt_out),
            "target_tokens": batch.target_tokens,
            "shape": [b, s, t],
            "train_flops": 3.0 * forward_flops(&config.model, tgt_vocab, b, s, t),
        }));
    }
    let batches_json = json!({
        "model": model.display().to_string(),
        "batch_tokens": tc.batch_tokens,
        "seed": tc.seed,
        "epoch": 0,
        "examples": examples.len(),
        "epoch_batches": plan.len(),
        "padding_fraction_epoch": padding_fraction(&lengths, &plan),
        "padding_fraction_exported": padding_fraction(&lengths, &plan[..take]),
        // The bucketing lever: pools of one expected batch (almost no sorting) and the
        // whole corpus sorted as one pool.
        "padding_fraction_pool1": padding_fraction(
            &lengths,
            &BatchPlan::new(tc.batch_tokens, tc.seed).with_pool_factor(1).epoch(&lengths, 0)
        ),
        "padding_fraction_sorted": padding_fraction(
            &lengths,
            &BatchPlan::new(tc.batch_tokens, tc.seed)
                .with_pool_factor(usize::MAX)
                .epoch(&lengths, 0)
        ),
        "src_vocab": src_sw.vocab_size(),
        "tgt_vocab": tgt_vocab,
        "batches": batches,
    });
    write_json(&out.join("batches.json"), &batches_json)?;

    // Test set: subword ids, inference batches and length limits exactly as Translator.
    let (test_src, _) = test_paths(&config, data)?;
    let mut lines = read_lines(&test_src)?;
    if sentences > 0 {
        lines.truncate(sentences);
    }
    let ids = src_sw.encode_batch(&lines)?;
    let lens: Vec<usize> = ids.iter().map(|s| s.len() + 1).collect();
    let inf_batches = plan_inference(&lens, config.decoding.batch_tokens);
    let max_len: Vec<usize> = ids
        .iter()
        .map(|s| (config.decoding.max_len_ratio * s.len() as f64) as usize + 5)
        .collect();
    write_json(
        &out.join("test.json"),
        &json!({
            "file": test_src.display().to_string(),
            "n": ids.len(),
            "ids": ids,
            "batches": inf_batches,
            "max_len": max_len,
            "length_penalty": config.decoding.length_penalty,
            "batch_tokens": config.decoding.batch_tokens,
        }),
    )?;
    eprintln!(
        "exported {take} of {} training batches (padding {:.1}% over epoch 0) and {} test \
         sentences in {:.1}s",
        plan.len(),
        100.0 * padding_fraction(&lengths, &plan),
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
