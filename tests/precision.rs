//! The precision switch of training (`training.precision`): fp32, bf16 and fp16 (with dynamic
//! loss scaling) on this CPU. Each must keep fp32 master weights and Adam state, each
//! low-precision run must differ from fp32 by rounding only, an fp16 update whose gradients
//! overflow must leave the weights alone and halve the scale, and the scale must survive a
//! checkpoint and `--resume`.

use std::path::Path;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tolk::batch::Batch;
use tolk::config::{ModelConfig, TrainingConfig};
use tolk::model::Seq2Seq;
use tolk::precision::TrainingPrecision;
use tolk::train::optimizer::Adam;
use tolk::train::state::{TrainingState, UpdateCarry};
use tolk::train::update::{train_step, UpdateReport};

mod common;

/// Four fixed batches of 16 random pairs over a vocabulary of 20 (ids 4..20).
fn batches() -> Vec<Batch> {
    let mut x = 99u64;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    (0..4)
        .map(|_| {
            let pairs: Vec<(Vec<i64>, Vec<i64>)> = (0..16)
                .map(|_| {
                    let len = 3 + (next() % 6) as usize;
                    let s: Vec<i64> = (0..len).map(|_| 4 + (next() % 16) as i64).collect();
                    let t = s.iter().rev().copied().collect();
                    (s, t)
                })
                .collect();
            let refs: Vec<(&[i64], &[i64])> = pairs
                .iter()
                .map(|(s, t)| (s.as_slice(), t.as_slice()))
                .collect();
            Batch::new(&refs, Device::Cpu)
        })
        .collect()
}

/// A tiny model, the same initial weights for every call.
fn model() -> (VarStore, Seq2Seq, Adam) {
    tch::manual_seed(3);
    let cfg = ModelConfig {
        src_embed_dim: 16,
        tgt_embed_dim: 16,
        encoder_hidden: 24,
        decoder_hidden: 32,
        attention_dim: 16,
        output_dim: 32,
        dropout: 0.0,
        ..Default::default()
    };
    let vs = VarStore::new(Device::Cpu);
    let model = Seq2Seq::new(&vs.root(), &cfg, 20, 20).unwrap();
    let opt = Adam::new(vs.variables(), 3e-3, (0.9, 0.999), 1e-8);
    (vs, model, opt)
}

/// Trains `updates` updates in `precision`; returns the weights (name-sorted), the optimizer,
/// the carry and the reports.
fn run(
    precision: TrainingPrecision,
    loss_scale_init: f64,
    updates: usize,
) -> (Vec<Tensor>, Adam, UpdateCarry, Vec<UpdateReport>) {
    tch::set_num_threads(1);
    let (_vs, model, mut opt) = model();
    let tc = TrainingConfig {
        precision,
        loss_scale_init,
        ..Default::default()
    };
    let data = batches();
    let mut carry = UpdateCarry::default();
    let reports = (0..updates)
        .map(|step| {
            let b = &data[step % data.len()];
            train_step(&model, &mut opt, b, &tc, step, 3e-3, &mut carry).unwrap()
        })
        .collect();
    let weights = opt.params().iter().map(|p| p.detach().copy()).collect();
    (weights, opt, carry, reports)
}

/// ‖a − b‖₂ over all tensors.
fn distance(a: &[Tensor], b: &[Tensor]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).square().sum(Kind::Double).double_value(&[]))
        .sum::<f64>()
        .sqrt()
}

fn max_abs_diff(a: &[Tensor], b: &[Tensor]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs().max().double_value(&[]))
        .fold(0.0, f64::max)
}

#[test]
fn each_precision_keeps_fp32_master_weights_and_differs_from_fp32_by_rounding_only() {
    let _rng = common::rng_lock();
    let updates = 8;
    let (initial, ..) = run(TrainingPrecision::Fp32, 65536.0, 0);
    let (fp32, _, fp32_carry, fp32_reports) = run(TrainingPrecision::Fp32, 65536.0, updates);
    let moved = distance(&fp32, &initial);
    assert_eq!(fp32_carry.loss_scale, None, "fp32 does not scale the loss");
    for precision in [TrainingPrecision::Bf16, TrainingPrecision::Fp16] {
        let (w, opt, carry, reports) = run(precision, 65536.0, updates);
        assert!(w.iter().all(|t| t.kind() == Kind::Float), "{precision:?}");
        assert!(opt.params().iter().all(|p| p.grad().kind() == Kind::Float));
        // How far from fp32's weights, relative to how far fp32's updates moved them.
        let d = distance(&w, &fp32) / moved;
        eprintln!("{precision:?}: |w - w_fp32| / |w_fp32 - w_0| after {updates} updates = {d:.3e}");
        assert!(
            d > 0.0,
            "{precision:?} trained bit-identically to fp32: no switch"
        );
        assert!(
            d < 0.2,
            "{precision:?} drifted from fp32 by {d} of the updates"
        );
        let first = reports[0].cross_entropy - fp32_reports[0].cross_entropy;
        assert!(
            first.abs() < 0.05,
            "{precision:?} first loss off by {first}"
        );
        let last = reports[updates - 1].cross_entropy;
        assert!(
            last < reports[0].cross_entropy,
            "{precision:?} did not learn"
        );
        let skipped = reports.iter().filter(|r| r.skipped).count();
        match precision {
            TrainingPrecision::Fp16 => {
                let ls = carry.loss_scale.expect("fp16 keeps a loss scale");
                assert_eq!(skipped, ls.skipped_updates);
                assert_eq!(ls.scale, 65536.0 / 2f64.powi(skipped as i32));
                assert_eq!(opt.step as usize, updates - skipped);
            }
            _ => {
                assert_eq!(carry.loss_scale, None);
                assert_eq!(skipped, 0);
            }
        }
    }
}

#[test]
fn an_fp16_update_whose_gradients_overflow_is_skipped_and_halves_the_scale() {
    let _rng = common::rng_lock();
    // S = 2^100: every scaled gradient overflows fp16 (max 65504) in the backward pass.
    let huge = 2f64.powi(100);
    let (initial, ..) = run(TrainingPrecision::Fp16, huge, 0);
    let (w, opt, carry, reports) = run(TrainingPrecision::Fp16, huge, 3);
    assert!(reports.iter().all(|r| r.skipped));
    assert_eq!(
        max_abs_diff(&w, &initial),
        0.0,
        "a skipped update moved weights"
    );
    assert_eq!(opt.step, 0, "Adam stepped on overflowed gradients");
    let ls = carry.loss_scale.unwrap();
    assert_eq!(
        (ls.scale, ls.skipped_updates, ls.good_updates),
        (huge / 8.0, 3, 0)
    );
    // The loss itself stayed finite and unscaled.
    assert!(reports.iter().all(|r| r.loss.is_finite() && r.loss < 10.0));
}

fn state(model_dir: &Path) -> TrainingState {
    tolk::artifacts::checkpoint::load_state(&model_dir.join("last")).unwrap()
}

#[test]
fn fp16_loss_scale_is_checkpointed_and_resumed() {
    let _rng = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let config = |steps| {
        let mut c = common::tiny_config(tmp.path(), "fp16", steps);
        c.training.precision = TrainingPrecision::Fp16;
        c.training.loss_scale_window = 5;
        c
    };
    let straight = tmp.path().join("fp16");
    tolk::train::train(&config(13), false).unwrap();
    let straight_scale = state(&straight).carry.loss_scale.unwrap();
    std::fs::rename(&straight, tmp.path().join("straight")).unwrap();
    tolk::train::train(&config(6), false).unwrap();
    let first = state(&straight).carry.loss_scale.unwrap();
    tolk::train::train(&config(13), true).unwrap();
    let resumed = state(&straight).carry.loss_scale.unwrap();
    eprintln!("straight 13: {straight_scale:?}; 6: {first:?}; resumed to 13: {resumed:?}");
    assert_ne!(first, straight_scale);
    assert_eq!(
        resumed, straight_scale,
        "the resumed run lost its loss scale"
    );
    // A window of 5 good updates doubles S: 13 updates saw it grow unless they overflowed.
    assert!(straight_scale.scale > 65536.0 || straight_scale.skipped_updates > 0);
}
