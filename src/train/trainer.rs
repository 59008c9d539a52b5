//! The training loop, as named steps (cf. Joey NMT's `TrainManager`): open the model
//! directory, prepare the data, build or resume the model, then epochs of updates with
//! periodic validation and checkpoints.

use std::fs;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tch::nn::VarStore;
use tracing::info;

use super::control::TrainControl;
use super::loss_scale::LossScale;
use super::optimizer::Adam;
use super::prepare::{prepare_as, PreparedData, Role, ValidSet};
use super::replication::{rank_updates, Replication};
use super::schedule::Decision;
use super::start::{open_model_dir, Start};
use super::state::{LossWindow, TrainingState};
use super::update::{train_update, Replicas, UpdatePlan};
use super::validation::validate;
use crate::artifacts::metrics_log::{self, MetricsRow};
use crate::artifacts::{checkpoint, ModelDir};
use crate::batch::Batch;
use crate::config::Config;
use crate::data::batching::{BatchPlan, PairLengths};
use crate::data::prepared::PreparedCorpus;
use crate::decode::{TranslateOptions, Translator};
use crate::distributed::World;
use crate::error::Error;
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
    /// Whether the run stopped because its caller asked it to ([`TrainControl::request_stop`]),
    /// with `last/` saved, before its budget or early stopping ended it.
    pub stopped_on_request: bool,
}

/// Trains the model described by `config`; with `resume`, continues from `model_dir/last`.
/// Launched by `torchrun` (or anything that sets `WORLD_SIZE` and `RANK`), this process is one
/// rank of a data-parallel run: see [`train_as`].
///
/// Errors: unreadable or malformed data (naming file and line), a model directory holding a
/// different model, I/O errors while checkpointing, a diverged loss, bad `WORLD_SIZE` / `RANK`
/// variables, a failed rendezvous or collective.
pub fn train(config: &Config, resume: bool) -> anyhow::Result<TrainSummary> {
    let start = if resume { Start::Resume } else { Start::Fresh };
    train_from(config, start)
}

/// [`train`] with the way the run starts in its model directory given as a [`Start`]
/// (`tolk train`, `--resume`, `--overwrite`).
///
/// Errors: as [`train`]; the refusals of [`super::start::open_model_dir`].
pub fn train_from(config: &Config, start: Start) -> anyhow::Result<TrainSummary> {
    train_with(config, start, &TrainControl::default())
}

/// [`train_from`] with a [`TrainControl`] through which the caller receives the validation
/// rows and can ask the run to stop (the Python binding's `tolk.train`).
///
/// Errors: as [`train_from`].
pub fn train_with(
    config: &Config,
    start: Start,
    control: &TrainControl,
) -> anyhow::Result<TrainSummary> {
    train_as(config, start, &World::from_env()?, control)
}

/// Trains as rank `world.rank` of `world.size` data-parallel processes (one process when
/// `world.size` is 1). Every update takes `size × accumulate_batches` consecutive batches of
/// the shared data order, this rank its [`super::replication::rank_slice`] of them, and sums
/// the gradients over ranks ([`crate::distributed`]); the weights stay equal on all ranks.
/// Rank 0 alone writes the model directory (config, subword models, prepared corpus,
/// checkpoints, metrics) and validates; the others map the subword models and prepared corpus
/// it wrote (a shared filesystem, or their own identical copy made by `tolk prepare`) and
/// take rank 0's schedule after each validation. On GPUs rank r uses `cuda:LOCAL_RANK`.
///
/// `control` sees the validation rows; its stop request is heeded by a single process only.
///
/// Errors: as [`train`].
pub fn train_as(
    config: &Config,
    start: Start,
    world: &World,
    control: &TrainControl,
) -> anyhow::Result<TrainSummary> {
    let started = Instant::now();
    let tc = &config.training;
    set_threads(tc.threads);
    if !(tc.loss_scale_init.is_finite() && tc.loss_scale_init > 0.0) {
        anyhow::bail!(Error::Input(format!(
            "training.loss_scale_init must be a positive number, not {}",
            tc.loss_scale_init
        )));
    }
    let device = match device_from(&tc.device).context("training.device")? {
        tch::Device::Cuda(_) => tch::Device::Cuda(world.local_rank),
        d => d,
    };
    let mut replication = Replication::join(world, config, device)?;
    if let Some(r) = &replication {
        r.check_same_setup(config)?;
    }
    // Rank 0 creates the model directory and the subword models before the others read them.
    let (md, resume_from, data) = if world.is_main() {
        let (md, from) = open_model_dir(config, start)?;
        let data = prepare_as(config, &md, Role::Writer)?;
        if let Some(r) = &replication {
            r.group.barrier()?;
        }
        (md, from, data)
    } else {
        replication.as_ref().expect("size > 1").group.barrier()?;
        let md = ModelDir::new(&config.training.model_dir);
        let from = checkpoint::resolve(&md.last())?.filter(|_| start == Start::Resume);
        let data = prepare_as(config, &md, Role::Reader)?;
        (md, from, data)
    };
    tch::manual_seed(tc.seed as i64);
    let mut vs = VarStore::new(device);
    let model = Seq2Seq::new(
        &vs.root(),
        &config.model,
        data.src_subwords.vocab_size() as i64,
        data.tgt_subwords.vocab_size() as i64,
    )?;
    let n_params: i64 = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    info!(parameters = n_params, ?device, "model built");
    let mut opt = Adam::new(vs.variables(), tc.learning_rate, tc.adam_betas, tc.adam_eps);
    let state = match resume_from {
        Some(dir) => resume_state(&md, &dir, &mut vs, &mut opt, world.is_main())?,
        None => {
            if world.is_main() {
                // A run killed before its first checkpoint may have logged a validation row.
                metrics_log::truncate_after(&md.metrics(), 0)?;
            }
            TrainingState::fresh(tc.learning_rate)
        }
    };
    if let Some(r) = &mut replication {
        r.share_parameters(opt.params(), tc.gradient_bucket_mb)?;
    }
    let PreparedData {
        src_subwords,
        tgt_subwords,
        corpus,
        lengths,
        valid,
    } = data;
    // Validation scores the model greedily, over its full vocabulary.
    let dc = &config.decoding;
    let greedy = TranslateOptions::greedy(dc.max_len_ratio, dc.batch_tokens);
    let mut trainer = Trainer {
        config,
        md,
        vs: &vs,
        translator: Translator::new(&model, src_subwords, tgt_subwords, device, None, greedy),
        valid,
        opt,
        throughput: Throughput::starting_at(state.target_tokens),
        elapsed_before: state.elapsed_seconds,
        session_start: Instant::now(),
        time_up: wall_budget_used(tc, state.elapsed_seconds),
        state,
        last_loss: f64::NAN,
        replication,
        started,
        first_update_logged: false,
        control,
        stopped_on_request: false,
    };
    trainer.run(&corpus, &lengths)
}

/// The batch of the prepared corpus's pairs `indices`, on `device`.
fn batch_of(corpus: &PreparedCorpus, indices: &[u32], device: tch::Device) -> Batch {
    let pairs: Vec<(Vec<i64>, Vec<i64>)> = indices
        .iter()
        .map(|&i| (corpus.src(i as usize), corpus.tgt(i as usize)))
        .collect();
    let views: Vec<(&[i64], &[i64])> = pairs
        .iter()
        .map(|(s, t)| (s.as_slice(), t.as_slice()))
        .collect();
    Batch::new(&views, device)
}

/// Loads weights, optimizer moments and state from the checkpoint `dir` (`last/`, or
/// `last.old/` after a crash between its renames), and (when this process `writes` the model
/// directory) drops metrics rows logged after its last validation (the lost part of a killed
/// run).
fn resume_state(
    md: &ModelDir,
    dir: &std::path::Path,
    vs: &mut VarStore,
    opt: &mut Adam,
    writes: bool,
) -> anyhow::Result<TrainingState> {
    checkpoint::load_weights(dir, vs, Some(opt))?;
    let state: TrainingState = checkpoint::load_state(dir)?;
    opt.step = state.step as i64;
    // Rows after the checkpoint's last validation belong to the lost part of the run; that
    // includes a row of the checkpoint's own step logged after the checkpoint was written.
    if writes {
        metrics_log::truncate_after(&md.metrics(), state.validated_at.unwrap_or(0))?;
    }
    info!(
        step = state.step,
        epoch = state.epoch,
        "resumed from {}",
        dir.display()
    );
    Ok(state)
}

/// Wall-clock throughput since a moment of this session (not saved: a resumed run measures
/// its own).
struct Throughput {
    started: Instant,
    target_tokens_at_start: u64,
}

impl Throughput {
    fn starting_at(target_tokens: u64) -> Self {
        Self {
            started: Instant::now(),
            target_tokens_at_start: target_tokens,
        }
    }
}

/// A run in progress.
struct Trainer<'a> {
    config: &'a Config,
    md: ModelDir,
    vs: &'a VarStore,
    translator: Translator<&'a Seq2Seq>,
    valid: ValidSet,
    opt: Adam,
    state: TrainingState,
    /// Tokens/s since the last validation (or this session's start).
    throughput: Throughput,
    /// Training seconds of earlier sessions of this run (before a resume).
    elapsed_before: f64,
    session_start: Instant,
    /// Whether the wall-clock budget is used up (on any rank).
    time_up: bool,
    last_loss: f64,
    /// The other ranks of a data-parallel run; `None` on a single process.
    replication: Option<Replication>,
    /// When this session's `train_as` was called.
    started: Instant,
    /// Whether this session's first update was logged.
    first_update_logged: bool,
    /// The caller's view of the run and its stop request.
    control: &'a TrainControl,
    /// Whether the run stopped at the caller's request.
    stopped_on_request: bool,
}

impl Trainer<'_> {
    /// Epochs until a budget or early stopping ends the run, then a last validation if the
    /// final weights have not been validated.
    fn run(
        &mut self,
        corpus: &PreparedCorpus,
        lengths: &[PairLengths],
    ) -> anyhow::Result<TrainSummary> {
        let tc = &self.config.training;
        if self.state.stopped_early {
            info!(step = self.state.step, "the run had already stopped early");
            return Ok(self.summary());
        }
        while self.state.epoch < tc.max_epochs && !self.out_of_budget() {
            if self.run_epoch(corpus, lengths)? {
                break;
            }
            self.state.epoch += 1;
            self.state.batch_in_epoch = 0;
            if tc.validate_every == 0 && self.validate_and_checkpoint()? == Decision::Stop {
                break;
            }
        }
        if self.state.validated_at != Some(self.state.step) && !self.stopped_on_request {
            self.validate_and_checkpoint()?;
        }
        Ok(self.summary())
    }

    fn summary(&self) -> TrainSummary {
        TrainSummary {
            steps: self.state.step,
            last_loss: self.last_loss,
            best_valid_bleu: self.state.schedule.best,
            elapsed_seconds: self.state.elapsed_seconds,
            target_tokens: self.state.target_tokens,
            stopped_on_request: self.stopped_on_request,
        }
    }

    /// Whether `max_steps` or `max_minutes` is used up.
    fn out_of_budget(&self) -> bool {
        let tc = &self.config.training;
        (tc.max_steps > 0 && self.state.step >= tc.max_steps) || self.time_up
    }

    /// Whether this process's wall-clock budget is used up.
    fn own_time_up(&self) -> bool {
        wall_budget_used(&self.config.training, self.state.elapsed_seconds)
    }

    /// This rank's place: (rank, processes).
    fn rank_and_size(&self) -> (usize, usize) {
        self.replication
            .as_ref()
            .map_or((0, 1), |r| (r.world.rank, r.world.size))
    }

    /// The rest of the current epoch; returns whether the run stops (budget or early stopping).
    fn run_epoch(
        &mut self,
        corpus: &PreparedCorpus,
        lengths: &[PairLengths],
    ) -> anyhow::Result<bool> {
        let tc = &self.config.training;
        let plan = BatchPlan::new(tc.batch_tokens, tc.seed).epoch_plan(lengths, self.state.epoch);
        let bar = progress_bar(plan.len(), self.state.epoch, self.state.batch_in_epoch);
        let (rank, size) = self.rank_and_size();
        if rank > 0 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let accumulate = tc.accumulate_batches.max(1);
        let epoch_start = (Instant::now(), self.state.target_tokens);
        let device = self.translator.device();
        let per_update = size * accumulate;
        for mine in rank_updates(
            plan.len(),
            self.state.batch_in_epoch,
            rank,
            size,
            accumulate,
        ) {
            let batches: Vec<Batch> = mine
                .map(|b| batch_of(corpus, plan.batch(b), device))
                .collect();
            // The batches own their ids now. The pages the kernel mapped around them (it maps
            // 16 pages around each fault of a cached file) would otherwise pile up in the
            // resident set at random places of the corpus: ~400 MB after 15 updates at 16 M pairs.
            corpus.release_pages();
            self.update(&batches, per_update)?;
            self.log_first_update();
            bar.inc(per_update as u64);
            let step = self.state.step;
            if step.is_multiple_of(tc.log_every.max(1)) {
                let tps = (self.state.target_tokens - epoch_start.1) as f64
                    / epoch_start.0.elapsed().as_secs_f64().max(1e-9);
                log_progress(&bar, step, self.last_loss, tps, self.state.carry.loss_scale);
            }
            let mut stop = false;
            if tc.validate_every > 0 && step.is_multiple_of(tc.validate_every) {
                if self.validate_and_checkpoint()? == Decision::Stop {
                    info!(step, "early stopping");
                    stop = true;
                }
            } else if tc.checkpoint_every > 0 && step.is_multiple_of(tc.checkpoint_every) {
                self.save_last()?;
            }
            if self.out_of_budget() {
                info!(step, "training budget reached");
                stop = true;
            } else if self.replication.is_none() && self.control.stop_requested() {
                self.save_last()?;
                info!(
                    step,
                    "stopped on request; last/ saved (resume continues from there)"
                );
                self.stopped_on_request = true;
                stop = true;
            }
            if stop {
                bar.finish_and_clear();
                return Ok(true);
            }
        }
        bar.finish_and_clear();
        Ok(false)
    }

    /// Logs, once per session, how long it took from the start of `train_as` to the end of
    /// the first update (the cost of starting or resuming a run; `bench/data_scale.sh` reads
    /// it).
    fn log_first_update(&mut self) {
        if !self.first_update_logged {
            self.first_update_logged = true;
            info!(
                step = self.state.step,
                since_start_s = self.started.elapsed().as_secs_f64(),
                "first update of this session"
            );
        }
    }

    /// One update over this rank's `batches` (of `consumed` batches over all ranks) and the
    /// counters it advances ([`train_update`] reseeds dropout from the seed, the update number
    /// and the batch's place in it, so a resumed run draws what an uninterrupted one would).
    fn update(&mut self, batches: &[Batch], consumed: usize) -> anyhow::Result<()> {
        let tc = &self.config.training;
        let model = *self.translator.model();
        let (rank, _) = self.rank_and_size();
        let plan = UpdatePlan {
            step: self.state.step,
            lr: self.state.schedule.lr,
            first_micro_batch: rank * tc.accumulate_batches.max(1),
            out_of_time: self.own_time_up(),
        };
        let replicas = self.replication.as_ref().map(|r| Replicas {
            group: &r.group,
            buckets: r.buckets.as_ref().expect("buckets are set before training"),
        });
        let s = &mut self.state;
        let report = train_update(
            model,
            &mut self.opt,
            batches,
            tc,
            &plan,
            &mut s.carry,
            replicas.as_ref(),
        )?;
        self.last_loss = report.cross_entropy;
        s.step += 1;
        s.batch_in_epoch += consumed;
        s.target_tokens += report.target_tokens as u64;
        s.elapsed_seconds = self.elapsed_before + self.session_start.elapsed().as_secs_f64();
        s.window.loss_sum += report.cross_entropy * report.local_target_tokens as f64;
        s.window.tokens += report.local_target_tokens;
        // One process checks its clock after the update; ranks stop on the all-reduced vote.
        self.time_up = if self.replication.is_some() {
            report.out_of_time
        } else {
            self.own_time_up()
        };
        Ok(())
    }

    /// Rank 0 validates and checkpoints ([`Self::validate_as_main`]); in a data-parallel run
    /// the other ranks wait, then take its schedule and decision and do the same bookkeeping.
    fn validate_and_checkpoint(&mut self) -> anyhow::Result<Decision> {
        let (rank, _) = self.rank_and_size();
        let own = if rank == 0 {
            Some(self.validate_as_main()?)
        } else {
            None
        };
        let Some(r) = &self.replication else {
            return Ok(own.expect("a single process is rank 0"));
        };
        let decision = r.share_schedule(&mut self.state.schedule, own)?;
        if rank > 0 {
            self.close_validation(decision);
        }
        Ok(decision)
    }

    /// The bookkeeping after a validation with `decision`, the same on every rank: marks the
    /// step validated (and stopped early on `Stop`), starts a new loss window and throughput
    /// interval.
    fn close_validation(&mut self, decision: Decision) {
        let state = &mut self.state;
        state.validated_at = Some(state.step);
        state.stopped_early |= decision == Decision::Stop;
        state.window = LossWindow::default();
        self.throughput = Throughput::starting_at(state.target_tokens);
    }

    /// Validates, logs a metrics row, advances the schedule, saves `best/` on a new best and
    /// `last/` always (marked `stopped_early` on early stopping).
    fn validate_as_main(&mut self) -> anyhow::Result<Decision> {
        let (tc, dc) = (&self.config.training, &self.config.decoding);
        let started = Instant::now();
        let scores = validate(
            &self.translator,
            &self.valid,
            dc.max_len_ratio,
            dc.batch_tokens,
        )?;
        let state = &mut self.state;
        let secs =
            self.throughput.started.elapsed().as_secs_f64() - started.elapsed().as_secs_f64();
        let row = MetricsRow {
            step: state.step,
            epoch: state.epoch,
            train_loss: state.window.loss_sum / state.window.tokens.max(1) as f64,
            valid_loss: scores.loss,
            valid_ppl: scores.loss.exp(),
            valid_bleu: scores.bleu,
            valid_chrf: scores.chrf,
            learning_rate: state.schedule.lr,
            elapsed_s: state.elapsed_seconds,
            target_tokens: state.target_tokens,
            train_tokens_per_s: (state.target_tokens - self.throughput.target_tokens_at_start)
                as f64
                / secs.max(1e-9),
        };
        metrics_log::append(&self.md.metrics(), &row)?;
        self.control.report(&row);
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
        self.close_validation(decision);
        if decision == Decision::NewBest {
            let best_state = TrainingState {
                valid_bleu: Some(scores.bleu),
                ..self.state.clone()
            };
            checkpoint::save(&self.md.best(), self.vs, None, &best_state)?;
        }
        self.save_last()?;
        Ok(decision)
    }

    /// Writes `last/` (weights, optimizer moments, state); with `keep_checkpoints` K > 1 also
    /// `step-N/`, keeping the newest K of those.
    /// Only rank 0 writes; on other ranks this does nothing.
    fn save_last(&self) -> anyhow::Result<()> {
        if self.rank_and_size().0 > 0 {
            return Ok(());
        }
        checkpoint::save(&self.md.last(), self.vs, Some(&self.opt), &self.state)?;
        let keep = self.config.training.keep_checkpoints;
        if keep > 1 {
            let step = self.state.step;
            checkpoint::save(&self.md.step_checkpoint(step), self.vs, None, &self.state)?;
            for (_, old) in self.md.step_checkpoints()?.iter().rev().skip(keep) {
                fs::remove_dir_all(old)
                    .with_context(|| format!("removing old checkpoint {}", old.display()))?;
            }
        }
        Ok(())
    }
}

/// Whether `elapsed_seconds` of training use up `max_minutes` (never when it is 0).
fn wall_budget_used(tc: &crate::config::TrainingConfig, elapsed_seconds: f64) -> bool {
    tc.max_minutes > 0.0 && elapsed_seconds >= tc.max_minutes * 60.0
}

fn progress_bar(batches: usize, epoch: usize, done: usize) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "epoch {prefix} [{bar:30}] {pos}/{len} batches {msg} (ETA {eta})",
    )
    .expect("valid template")
    .progress_chars("=> ");
    let bar = ProgressBar::new(batches as u64).with_style(style);
    bar.set_prefix(format!("{}", epoch + 1));
    bar.set_position(done as u64);
    bar
}

fn log_progress(
    bar: &ProgressBar,
    step: usize,
    loss: f64,
    tokens_per_s: f64,
    loss_scale: Option<LossScale>,
) {
    let scale = loss_scale.map_or(String::new(), |ls| {
        format!(" scale {} ({} skipped)", ls.scale, ls.skipped_updates)
    });
    bar.set_message(format!(
        "step {step} loss {loss:.3} {tokens_per_s:.0} tok/s{scale}"
    ));
    if bar.is_hidden() {
        info!(
            step,
            loss = format!("{loss:.4}"),
            tokens_per_s = format!("{tokens_per_s:.0}"),
            loss_scale = loss_scale.map(|ls| ls.scale),
            skipped_updates = loss_scale.map(|ls| ls.skipped_updates),
            "train"
        );
    }
}
