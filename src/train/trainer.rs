//! The training loop: data preparation, teacher-forced updates, periodic validation,
//! checkpoints, and resumption of a killed run.

use std::fs;
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use tch::nn::VarStore;
use tch::Device;
use tracing::{info, warn};

use super::checkpoint::{self, TrainingState};
use super::loss::label_smoothed_loss;
use super::metrics_log::{self, MetricsRow};
use super::objective::objective;
use super::optimizer::Adam;
use super::schedule::{Decision, PlateauSchedule};
use crate::batch::Batch;
use crate::config::Config;
use crate::data::batching::{plan_epoch, plan_inference};
use crate::data::corpus::read_parallel;
use crate::data::length_filter::filter_by_length;
use crate::decode::{TranslateOptions, Translator};
use crate::metrics::{corpus_bleu, corpus_chrf};
use crate::model::Seq2Seq;
use crate::model_dir::ModelDir;
use crate::subword::{train_bpe, SubwordModel, PAD_ID};

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

/// Validation set as subword ids plus raw references.
struct ValidSet {
    src_text: Vec<String>,
    ref_text: Vec<String>,
    src: Vec<Vec<i64>>,
    tgt: Vec<Vec<i64>>,
}

/// Resolves the `device` config key.
pub fn device_from(name: &str) -> Device {
    match name {
        "cuda" | "gpu" => Device::cuda_if_available(),
        _ => Device::Cpu,
    }
}

/// Sets libtorch's intra-op threads (`0` = all cores).
pub fn set_threads(n: usize) {
    let n = if n == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        n
    };
    tch::set_num_threads(n as i32);
}

fn load_or_train_subwords(
    config: &Config,
    md: &ModelDir,
    src: &[String],
    tgt: &[String],
) -> anyhow::Result<(SubwordModel, SubwordModel)> {
    let sw = &config.subword;
    let (src_path, tgt_path) = md.tokenizers(sw.joint);
    if src_path.exists() && tgt_path.exists() {
        info!(path = %src_path.display(), "using existing subword model(s)");
        return Ok((
            SubwordModel::load(&src_path)?,
            SubwordModel::load(&tgt_path)?,
        ));
    }
    let started = Instant::now();
    let models = if sw.joint {
        let m = train_bpe(src.iter().chain(tgt), sw.vocab_size, sw.min_frequency)?;
        m.save(&src_path)?;
        (m.clone(), m)
    } else {
        let s = train_bpe(src.iter(), sw.vocab_size, sw.min_frequency)?;
        let t = train_bpe(tgt.iter(), sw.vocab_size, sw.min_frequency)?;
        s.save(&src_path)?;
        t.save(&tgt_path)?;
        (s, t)
    };
    info!(
        seconds = started.elapsed().as_secs_f64(),
        vocab = models.0.vocab_size(),
        joint = sw.joint,
        "BPE trained"
    );
    Ok(models)
}

/// Mean NLL per target token (nats) over the validation set, teacher forced, no dropout.
fn valid_loss(model: &Seq2Seq, set: &ValidSet, batch_tokens: usize, device: Device) -> f64 {
    tch::no_grad(|| {
        let lengths: Vec<usize> = set
            .src
            .iter()
            .zip(&set.tgt)
            .map(|(s, t)| s.len().max(t.len()) + 1)
            .collect();
        let (mut nll, mut tokens) = (0.0, 0usize);
        for idx in plan_inference(&lengths, batch_tokens) {
            let pairs: Vec<(&[i64], &[i64])> = idx
                .iter()
                .map(|&i| (set.src[i].as_slice(), set.tgt[i].as_slice()))
                .collect();
            let batch = Batch::new(&pairs, device);
            let logits = model
                .forward(&batch.src, &batch.src_lengths, &batch.tgt_in, false)
                .logits;
            let v = logits.size()[2];
            let (_, n) = label_smoothed_loss(
                &logits.view([-1, v]),
                &batch.tgt_out.view([-1]),
                0.0,
                PAD_ID,
            );
            nll += n.double_value(&[]);
            tokens += batch.target_tokens;
        }
        nll / tokens.max(1) as f64
    })
}

/// Trains the model described by `config`; with `resume`, continues from `model_dir/last`.
///
/// Errors: unreadable or malformed data (naming file and line), a model directory holding a
/// different model, I/O errors while checkpointing.
pub fn train(config: &Config, resume: bool) -> anyhow::Result<TrainSummary> {
    let tc = &config.training;
    set_threads(tc.threads);
    let device = device_from(&tc.device);
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
    checkpoint::write_file_atomic(&md.config(), config.to_toml().as_bytes())?;

    // Data.
    let dc = &config.data;
    let train_corpus = read_parallel(&dc.train_src, &dc.train_tgt, dc.empty_lines)?;
    info!(
        pairs = train_corpus.len(),
        empty_skipped = train_corpus.stats.empty_skipped,
        file = %dc.train_src.display(),
        "training data read"
    );
    let valid_corpus = read_parallel(&dc.valid_src, &dc.valid_tgt, dc.empty_lines)?;
    let (src_sw, tgt_sw) =
        load_or_train_subwords(config, &md, &train_corpus.src, &train_corpus.tgt)?;
    let src_ids = src_sw.encode_batch(&train_corpus.src);
    let tgt_ids = tgt_sw.encode_batch(&train_corpus.tgt);
    let src_lens: Vec<usize> = src_ids.iter().map(Vec::len).collect();
    let tgt_lens: Vec<usize> = tgt_ids.iter().map(Vec::len).collect();
    let filter = filter_by_length(&src_lens, &tgt_lens, dc.max_src_len, dc.max_tgt_len);
    if filter.n_dropped() > 0 {
        warn!(
            dropped = filter.n_dropped(),
            first_lines = ?filter.first_dropped_lines(&train_corpus.line_numbers, 5),
            max_src_len = dc.max_src_len,
            max_tgt_len = dc.max_tgt_len,
            "over-long training pairs dropped (line numbers of {})",
            dc.train_src.display()
        );
    }
    let examples: Vec<(Vec<i64>, Vec<i64>)> = filter
        .kept
        .iter()
        .map(|&i| (src_ids[i].clone(), tgt_ids[i].clone()))
        .collect();
    let lengths: Vec<(usize, usize)> = examples
        .iter()
        .map(|(s, t)| (s.len() + 1, t.len() + 1))
        .collect();
    let valid = ValidSet {
        src: src_sw.encode_batch(&valid_corpus.src),
        tgt: tgt_sw.encode_batch(&valid_corpus.tgt),
        src_text: valid_corpus.src,
        ref_text: valid_corpus.tgt,
    };

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

    let translator = Translator {
        model: &model,
        src_subwords: &src_sw,
        tgt_subwords: &tgt_sw,
        device,
    };
    let greedy = TranslateOptions {
        beam_size: 1,
        length_penalty: 0.0,
        nbest: 1,
        max_len_ratio: config.decoding.max_len_ratio,
        batch_tokens: config.decoding.batch_tokens,
        keep_attention: false,
    };

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
        let loss = valid_loss(&model, &valid, config.decoding.batch_tokens, device);
        let hyps: Vec<String> = translator
            .translate(&valid.src_text, &greedy)
            .into_iter()
            .map(|mut h| h.swap_remove(0).text)
            .collect();
        let bleu = corpus_bleu(&hyps, &[&valid.ref_text]);
        let chrf = corpus_chrf(&hyps, &[&valid.ref_text]);
        let secs = window_start.0.elapsed().as_secs_f64() - started.elapsed().as_secs_f64();
        let row = MetricsRow {
            step: state.step,
            epoch: state.epoch,
            train_loss: window_loss.0 / window_loss.1.max(1) as f64,
            valid_loss: loss,
            valid_ppl: loss.exp(),
            valid_bleu: bleu.score,
            valid_chrf: chrf.score,
            learning_rate: state.schedule.lr,
            elapsed_s: state.elapsed_seconds,
            target_tokens: state.target_tokens,
            train_tokens_per_s: (state.target_tokens - window_start.1) as f64 / secs.max(1e-9),
        };
        metrics_log::append(&md.metrics(), &row)?;
        let decision = state.schedule.observe(
            bleu.score,
            tc.lr_patience,
            tc.lr_decay_factor,
            tc.min_learning_rate,
            tc.early_stopping_patience,
        );
        info!(
            step = state.step,
            valid_ppl = format!("{:.3}", row.valid_ppl),
            valid_bleu = format!("{:.2}", bleu.score),
            valid_chrf = format!("{:.2}", chrf.score),
            lr = state.schedule.lr,
            best = decision == Decision::NewBest,
            seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
            "validation"
        );
        if decision == Decision::NewBest {
            let best_state = TrainingState {
                valid_bleu: Some(bleu.score),
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
            let obj = objective(&out, &batch.tgt_out, tc, &mut state.reinforce_baseline);
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
