//! Timing of training updates on the exported batches, through the trainer's own `train_step`.

use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use tch::{Device, Tensor};

use crate::common::*;
use crate::run::RunArgs;
use tolk::artifacts::LoadedModel;
use tolk::batch::Batch;
use tolk::precision::{PrecisionChoice, TrainingPrecision};
use tolk::train::objective::objective;
use tolk::train::optimizer::Adam;
use tolk::train::state::UpdateCarry;
use tolk::train::update::train_step;

pub fn time_training(a: &RunArgs, batches_json: &Value) -> Result<Value> {
    let batches = batches_json["batches"].as_array().context("batches")?;
    anyhow::ensure!(!batches.is_empty(), "no exported batches");
    let loaded = LoadedModel::load(&a.model, None, Device::Cpu)?;
    let mut tc = loaded.config.training.clone();
    // The levers of the run apply to training too: the fused kernels, and bf16 (autocast)
    // when the run's precision is bf16 (int8 is a decoding precision; training stays fp32).
    tc.fused_kernels = a.levers.fused_kernels;
    tc.precision = match a.levers.precision {
        PrecisionChoice::Bf16 => TrainingPrecision::Bf16,
        PrecisionChoice::Auto => TrainingPrecision::Auto,
        PrecisionChoice::Fp32 | PrecisionChoice::Int8 => TrainingPrecision::Fp32,
    };
    let model = &loaded.model;

    // Equivalence check: label-smoothed loss of batch 0 without dropout.
    let check_loss = tch::no_grad(|| {
        let b = &batches[0];
        let out = model.forward(
            &matrix_of(&b["src"]),
            &Tensor::from_slice(&ids_of(&b["src_lengths"])),
            &matrix_of(&b["tgt_in"]),
            false,
        );
        objective(&out, &matrix_of(&b["tgt_out"]), &tc, 0, &mut None).cross_entropy
    });

    // Host-side ids, parsed before timing (the trainer holds its examples as Vec<i64> too).
    struct HostBatch {
        src: (Vec<i64>, [i64; 2]),
        src_len: Vec<i64>,
        tgt_in: (Vec<i64>, [i64; 2]),
        tgt_out: (Vec<i64>, [i64; 2]),
        tokens: f64,
        flops: f64,
    }
    let flat = |v: &Value| -> (Vec<i64>, [i64; 2]) {
        let rows: Vec<Vec<i64>> = v
            .as_array()
            .map_or(vec![], |r| r.iter().map(ids_of).collect());
        let shape = [rows.len() as i64, rows.first().map_or(0, Vec::len) as i64];
        (rows.into_iter().flatten().collect(), shape)
    };
    let host: Vec<HostBatch> = batches
        .iter()
        .map(|b| HostBatch {
            src: flat(&b["src"]),
            src_len: ids_of(&b["src_lengths"]),
            tgt_in: flat(&b["tgt_in"]),
            tgt_out: flat(&b["tgt_out"]),
            tokens: b["target_tokens"].as_f64().unwrap_or(0.0),
            flops: b["train_flops"].as_f64().unwrap_or(0.0),
        })
        .collect();
    let tensor = |(ids, shape): &(Vec<i64>, [i64; 2])| Tensor::from_slice(ids).view(*shape);

    reset_peak_rss();
    let rss_start = rss_mib();
    let mut opt = Adam::new(
        loaded.vs.variables(),
        tc.learning_rate,
        tc.adam_betas,
        tc.adam_eps,
    );
    opt.lr = tc.learning_rate;
    let mut carry = UpdateCarry::default();
    let (mut secs, mut toks, mut flops, mut losses) = (vec![], vec![], vec![], vec![]);
    for step in 0..a.steps {
        let b = &host[step % host.len()];
        let t0 = Instant::now();
        // Tensors built from host ids inside the timed region, as the trainer does per batch.
        let batch = Batch {
            src: tensor(&b.src),
            src_lengths: Tensor::from_slice(&b.src_len),
            tgt_in: tensor(&b.tgt_in),
            tgt_out: tensor(&b.tgt_out),
            target_tokens: b.tokens as usize,
        };
        let report = train_step(
            model,
            &mut opt,
            &batch,
            &tc,
            step,
            tc.learning_rate,
            &mut carry,
        )
        .with_context(|| format!("benchmark step {step}"))?;
        secs.push(t0.elapsed().as_secs_f64());
        toks.push(b.tokens);
        flops.push(b.flops);
        losses.push(report.loss);
    }
    let rss = peak_rss_mib();
    let timed = a.warmup.min(a.steps.saturating_sub(1));
    let tps: Vec<f64> = (timed..a.steps).map(|i| toks[i] / secs[i]).collect();
    let gfs: Vec<f64> = (timed..a.steps).map(|i| flops[i] / secs[i] / 1e9).collect();
    let sum_t: f64 = secs[timed..].iter().sum();
    Ok(json!({
        "steps": a.steps,
        "warmup": timed,
        "step_seconds": secs,
        "target_tokens": toks,
        "losses": losses,
        "tokens_per_s_median": median(&tps),
        "tokens_per_s_overall": toks[timed..].iter().sum::<f64>() / sum_t,
        "gflops_median": median(&gfs),
        "gflops_overall": flops[timed..].iter().sum::<f64>() / sum_t / 1e9,
        "flops_per_step_mean": flops[timed..].iter().sum::<f64>() / (a.steps - timed) as f64,
        "check_loss_eval_batch0": check_loss,
        "rss_start_mib": rss_start,
        "peak_rss_mib": rss,
    }))
}
