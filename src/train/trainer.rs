//! The training loop: teacher-forced updates, periodic validation, checkpoints, and
//! resumption of a killed run.

use std::fs;
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use tch::nn::VarStore;
use tracing::info;

use super::metrics_log::{self, MetricsRow};
use super::objective::objective;
use super::optimizer::Adam;
use super::prepare::{prepare, PreparedData};
use super::schedule::{Decision, PlateauSchedule};
use super::state::TrainingState;
use super::validation::validate;
use crate::artifacts::{checkpoint, write_file_atomic, ModelDir};
use crate::batch::Batch;
use crate::config::Config;
use crate::data::batching::plan_epoch;
use crate::decode::{TranslateOptions, Translator};
use crate::model::Seq2Seq;
use crate::runtime::{device_from, set_threads};

/// What a finished `train` call reports.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// Updates done in total (including those before a resume).
    pub steps: usize,
    /// Label-smoothed cross entropy per target token of the last update (without the
    /// coverage and REINFORCE terms).
    pub last_loss: f64,
    /// Best validation BLEU (greedy).
    pub best_valid_bleu: Option<f64>,
    /// Training wall time in seconds (all sessions of the run).
    pub elapsed_seconds: f64,
    /// Target tokens seen.
    pub target_tokens: u64,
}

/// Trains the model described by `config`; with `resume`, continues from `model_dir/last`.
///
/// Errors: unreadable or malformed data (naming file and line), a model directory holding a
/// different model, I/O errors while checkpointing.
pub fn train(config: &Config, resume: bool) -> anyhow::Result<TrainSummary> {
    let tc = &config.training;
    set_threads(tc.threads);
    let device = device_from(&tc.device).context("training.device")?;
    let md = ModelDir::new(&tc.model_dir);
    fs::create_dir_all(&md.root)
        .with_context(|| format!("creating model directory {}", md.root.display()))?;
    let last = checkpoint::locate(&md.last());
    if resume {
        if last.is_none() {
            bail!("--resume: no checkpoint in {}", md.last().display());
        }
        let saved = Config::from_file(&md.config())?;
        if saved.model != config.model || saved.subword != config.subword {
            bail!(
                "--resume: {} holds a different model or subword setup than this config",
                md.config().display()
            );
        }
    } else if last.is_some() {
        bail!(
            "{} already holds a checkpoint: pass --resume to continue it, or choose another model_dir",
            md.root.display()
        );
    }
    write_file_atomic(&md.config(), config.to_toml().as_bytes())?;

    let PreparedData {
        src_subwords: src_sw,
        tgt_subwords: tgt_sw,
        examples,
        lengths,
        valid,
    } = prepare(config, &md)?;

    // Model and optimiser.
    tch::manual_seed(tc.seed as i64);
    let mut vs = VarStore::new(device);
    let model = Seq2Seq::new(
        &vs.root(),
        &config.model,
        src_sw.vocab_size() as i64,
        tgt_sw.vocab_size() as i64,
    )?;
    let n_params: i64 = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    info!(parameters = n_params, ?device, "model built");
    let mut opt = Adam::new(vs.variables(), tc.learning_rate, tc.adam_betas, tc.adam_eps);
    let mut state = TrainingState {
        step: 0,
        epoch: 0,
        batch_in_epoch: 0,
        schedule: PlateauSchedule::new(tc.learning_rate),
        elapsed_seconds: 0.0,
        target_tokens: 0,
        valid_bleu: None,
        reinforce_baseline: None,
    };
    if let Some(dir) = &last {
        if resume {
            checkpoint::load_weights(dir, &mut vs, Some(&mut opt))?;
            state = checkpoint::load_state(dir)?;
            opt.step = state.step as i64;
            metrics_log::truncate_after(&md.metrics(), state.step)?;
            info!(
                step = state.step,
                epoch = state.epoch,
                "resumed from {}",
                dir.display()
            );
        }
    }

    // Validation scores the model greedily, over its full vocabulary.
    let greedy =
        TranslateOptions::greedy(config.decoding.max_len_ratio, config.decoding.batch_tokens);
    let translator = Translator::new(&model, src_sw, tgt_sw, device, None, greedy);
    let session_start = Instant::now();
    let elapsed_before = state.elapsed_seconds;
    let mut window_loss = (0.0f64, 0usize); // (loss sum, tokens) since last validation
    let mut window_start = (Instant::now(), state.target_tokens);
    let mut last_loss = f64::NAN;
    let mut stop = false;

    let validate = |state: &mut TrainingState,
                    vs: &VarStore,
                    opt: &Adam,
                    window_loss: &mut (f64, usize),
                    window_start: &mut (Instant, u64)|
     -> anyhow::Result<Decision> {
        let started = Instant::now();
        let scores = validate(
            &translator,
            &valid,
            config.decoding.max_len_ratio,
            config.decoding.batch_tokens,
        )?;
        let secs = window_start.0.elapsed().as_secs_f64() - started.elapsed().as_secs_f64();
        let row = MetricsRow {
            step: state.step,
            epoch: state.epoch,
            train_loss: window_loss.0 / window_loss.1.max(1) as f64,
            valid_loss: scores.loss,
            valid_ppl: scores.loss.exp(),
            valid_bleu: scores.bleu,
            valid_chrf: scores.chrf,
            learning_rate: state.schedule.lr,
            elapsed_s: state.elapsed_seconds,
            target_tokens: state.target_tokens,
            train_tokens_per_s: (state.target_tokens - window_start.1) as f64 / secs.max(1e-9),
        };
        metrics_log::append(&md.metrics(), &row)?;
        let decision = state.schedule.observe(
            scores.bleu,
            tc.lr_patience,
            tc.lr_decay_factor,
            tc.min_learning_rate,
            tc.early_stopping_patience,
        );
        info!(
            step = state.step,
            valid_ppl = format!("{:.3}", row.valid_ppl),
            valid_bleu = format!("{:.2}", scores.bleu),
            valid_chrf = format!("{:.2}", scores.chrf),
            lr = state.schedule.lr,
            best = decision == Decision::NewBest,
            seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
            "validation"
        );
        if decision == Decision::NewBest {
            let best_state = TrainingState {
                valid_bleu: Some(scores.bleu),
                ..state.clone()
            };
            checkpoint::save(&md.best(), vs, None, &best_state)?;
        }
        checkpoint::save(&md.last(), vs, Some(opt), state)?;
        *window_loss = (0.0, 0);
        *window_start = (Instant::now(), state.target_tokens);
        Ok(decision)
    };

    let style = ProgressStyle::with_template(
        "epoch {prefix} [{bar:30}] {pos}/{len} batches {msg} (ETA {eta})",
    )
    .expect("valid template")
    .progress_chars("=> ");
    let mut validated_at = usize::MAX;
    while state.epoch < tc.max_epochs && !stop {
        let plan = plan_epoch(&lengths, tc.batch_tokens, tc.seed, state.epoch);
        let bar = ProgressBar::new(plan.len() as u64).with_style(style.clone());
        bar.set_prefix(format!("{}", state.epoch + 1));
        bar.set_position(state.batch_in_epoch as u64);
        let epoch_start = (Instant::now(), state.target_tokens);
        for idx in plan.iter().skip(state.batch_in_epoch) {
            tch::manual_seed(tc.seed as i64 ^ (state.step as i64 + 1).wrapping_mul(0x9E37_79B9));
            let pairs: Vec<(&[i64], &[i64])> = idx
                .iter()
                .map(|&i| (examples[i].0.as_slice(), examples[i].1.as_slice()))
                .collect();
            let batch = Batch::new(&pairs, device);
            let out = model.forward(&batch.src, &batch.src_lengths, &batch.tgt_in, true);
            let obj = objective(
                &out,
                &batch.tgt_out,
                tc,
                state.step,
                &mut state.reinforce_baseline,
            );
            let loss = obj.loss;
            opt.zero_grad();
            loss.backward();
            opt.lr = state.schedule.lr;
            opt.clip_and_step(tc.clip_grad_norm);
            last_loss = obj.cross_entropy;
            if !last_loss.is_finite() || !loss.double_value(&[]).is_finite() {
                bail!(
                    "training diverged at step {}: loss {last_loss}",
                    state.step + 1
                );
            }
            state.step += 1;
            state.batch_in_epoch += 1;
            state.target_tokens += batch.target_tokens as u64;
            state.elapsed_seconds = elapsed_before + session_start.elapsed().as_secs_f64();
            window_loss.0 += last_loss * batch.target_tokens as f64;
            window_loss.1 += batch.target_tokens;
            bar.inc(1);
            if state.step.is_multiple_of(tc.log_every.max(1)) {
                let tps = (state.target_tokens - epoch_start.1) as f64
                    / epoch_start.0.elapsed().as_secs_f64().max(1e-9);
                bar.set_message(format!(
                    "step {} loss {:.3} {:.0} tok/s",
                    state.step, last_loss, tps
                ));
                if bar.is_hidden() {
                    info!(
                        step = state.step,
                        loss = format!("{last_loss:.4}"),
                        tokens_per_s = format!("{tps:.0}"),
                        "train"
                    );
                }
            }
            let out_of_budget = (tc.max_steps > 0 && state.step >= tc.max_steps)
                || (tc.max_minutes > 0.0 && state.elapsed_seconds >= tc.max_minutes * 60.0);
            if tc.validate_every > 0 && state.step.is_multiple_of(tc.validate_every) {
                validated_at = state.step;
                if validate(&mut state, &vs, &opt, &mut window_loss, &mut window_start)?
                    == Decision::Stop
                {
                    info!(step = state.step, "early stopping");
                    stop = true;
                }
            }
            if out_of_budget {
                info!(step = state.step, "training budget reached");
                stop = true;
            }
            if stop {
                break;
            }
        }
        bar.finish_and_clear();
        if !stop {
            state.epoch += 1;
            state.batch_in_epoch = 0;
            if tc.validate_every == 0 {
                validated_at = state.step;
                if validate(&mut state, &vs, &opt, &mut window_loss, &mut window_start)?
                    == Decision::Stop
                {
                    stop = true;
                }
            }
        }
    }
    if validated_at != state.step {
        validate(&mut state, &vs, &opt, &mut window_loss, &mut window_start)?;
    }
    Ok(TrainSummary {
        steps: state.step,
        last_loss,
        best_valid_bleu: state.schedule.best,
        elapsed_seconds: state.elapsed_seconds,
        target_tokens: state.target_tokens,
    })
}
