//! Model-level tests: gradients against finite differences (f64), padding invariance of the
//! encoder, attention masking, and a tiny model that must learn to copy and to reverse.

mod common;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tolk::batch::{source_tensors, Batch};
use tolk::config::{AttentionType, DecoderType, ModelConfig, RnnType, TrainingConfig};
use tolk::decode::{beam_search, greedy_search, BeamConfig};
use tolk::kernels::shim::{Autocast, AutocastDevice};
use tolk::model::attention::{
    AdditiveScore, Attention, DotScore, GeneralScore, LocationScore, Scope, Score, Selection,
};
use tolk::model::rnn_cell::{RnnState, SplitInputCell};
use tolk::model::Seq2Seq;
use tolk::subword::PAD_ID;
use tolk::train::loss::label_smoothed_loss;
use tolk::train::objective::objective;
use tolk::train::optimizer::Adam;
use tolk::train::state::UpdateCarry;
use tolk::train::update::train_step;

/// Max relative error between the autograd gradient of `f` w.r.t. `x` and central finite
/// differences.
fn grad_check(x: &Tensor, f: &dyn Fn() -> Tensor) -> f64 {
    let out = f();
    let analytic = Tensor::run_backward(&[out], &[x], false, false)
        .pop()
        .unwrap();
    let n = x.numel();
    let eps = 1e-6;
    let mut worst: f64 = 0.0;
    for i in 0..n as i64 {
        let orig = tch::no_grad(|| x.view([-1]).double_value(&[i]));
        let set = |v: f64| {
            let _ = tch::no_grad(|| x.view([-1]).get(i).fill_(v));
        };
        set(orig + eps);
        let plus = tch::no_grad(|| f().double_value(&[]));
        set(orig - eps);
        let minus = tch::no_grad(|| f().double_value(&[]));
        set(orig);
        let numeric = (plus - minus) / (2.0 * eps);
        let a = analytic.view([-1]).double_value(&[i]);
        // Relative error, with an absolute floor for tiny gradients where the finite-difference
        // round-off (~1e-10) dominates.
        let err = (a - numeric).abs() / (1e-3 + a.abs().max(numeric.abs()));
        worst = worst.max(err);
    }
    worst
}

fn f64_randn(shape: &[i64]) -> Tensor {
    Tensor::randn(shape, (Kind::Double, Device::Cpu)).set_requires_grad(true)
}

/// Every score function, with and without coverage, as a soft global mechanism.
fn mechanisms(vs: &VarStore, d: i64, ann: i64) -> Vec<(String, Attention)> {
    let mut out = Vec::new();
    for coverage in [false, true] {
        let p = |name: &str| vs.root() / format!("{name}_{coverage}");
        let scores: Vec<(&str, Box<dyn Score>)> = vec![
            (
                "additive",
                Box::new(AdditiveScore::new(p("additive"), d, ann, 5, coverage)),
            ),
            ("dot", Box::new(DotScore::new(p("dot"), d, false, coverage))),
            (
                "scaled_dot",
                Box::new(DotScore::new(p("scaled"), d, true, coverage)),
            ),
            (
                "general",
                Box::new(GeneralScore::new(p("general"), d, ann, false, coverage)),
            ),
            (
                "scaled_general",
                Box::new(GeneralScore::new(
                    p("scaled_general"),
                    d,
                    ann,
                    true,
                    coverage,
                )),
            ),
            (
                "location",
                Box::new(LocationScore::new(p("location"), d, 6, coverage)),
            ),
        ];
        for (name, score) in scores {
            out.push((
                format!("{name} coverage={coverage}"),
                Attention::new(score, Scope::Global, Selection::Soft, coverage),
            ));
        }
    }
    out
}

fn padded_mask() -> Tensor {
    Tensor::from_slice(&[true, true, true, true, true, true, false, false]).view([2, 4])
}

#[test]
fn attention_gradients_match_finite_differences() {
    let _rng = common::rng_lock();
    tch::manual_seed(1);
    let mut vs = VarStore::new(Device::Cpu);
    let mut all = mechanisms(&vs, 4, 4);
    let local_p = Attention::new(
        Box::new(GeneralScore::new(vs.root() / "lp", 4, 4, false, false)),
        Scope::local_p(vs.root() / "lp_scope", 4, 2),
        Selection::Soft,
        false,
    );
    all.push(("general local-p".into(), local_p));
    // Perturb coverage weights away from zero so their gradient paths are exercised.
    vs.double();
    tch::no_grad(|| {
        for (_, mut t) in vs.variables() {
            let _ = t.g_add_(&(t.rand_like() * 0.1));
        }
    });
    let query = f64_randn(&[2, 4]);
    let ann = f64_randn(&[2, 4, 4]);
    let cov = Tensor::rand([2, 4], (Kind::Double, Device::Cpu));
    let mask = padded_mask();
    let probe = Tensor::randn([2, 4], (Kind::Double, Device::Cpu));
    let probe_w = Tensor::randn([2, 4], (Kind::Double, Device::Cpu));
    for (name, att) in &all {
        let f = || {
            let keys = att.keys(&ann);
            let o = att.attend(&query, &keys, &ann, &mask, 1, Some(&cov), false);
            (o.context * &probe).sum(Kind::Double) + (o.weights * &probe_w).sum(Kind::Double)
        };
        assert!(grad_check(&query, &f) < 1e-5, "{name}: query gradient");
        if !name.starts_with("location") {
            assert!(grad_check(&ann, &f) < 1e-5, "{name}: annotation gradient");
        }
    }
    for (name, p) in vs.variables() {
        let (label, att) = all
            .iter()
            .find(|(label, _)| {
                let prefix = name.split('.').next().unwrap();
                let kind = label.split(' ').next().unwrap();
                let cov = label.ends_with("coverage=true");
                prefix == format!("{kind}_{cov}")
                    || (kind == "scaled_dot" && prefix == format!("scaled_{cov}"))
                    || (label.as_str() == "general local-p" && prefix.starts_with("lp"))
            })
            .unwrap_or_else(|| panic!("no mechanism owns {name}"));
        let f = || {
            let keys = att.keys(&ann);
            let o = att.attend(&query, &keys, &ann, &mask, 1, Some(&cov), false);
            (o.context * &probe).sum(Kind::Double) + (o.weights * &probe_w).sum(Kind::Double)
        };
        let err = grad_check(&p, &f);
        assert!(
            err < 1e-5,
            "{label}: gradient of {name}: relative error {err}"
        );
    }
}

#[test]
fn attention_weights_sum_to_one_and_ignore_padding() {
    let _rng = common::rng_lock();
    tch::manual_seed(2);
    let vs = VarStore::new(Device::Cpu);
    let query = Tensor::randn([2, 4], (Kind::Float, Device::Cpu));
    let ann = Tensor::randn([2, 4, 4], (Kind::Float, Device::Cpu));
    let mask =
        Tensor::from_slice(&[true, true, true, true, true, false, false, false]).view([2, 4]);
    let cov = Tensor::rand([2, 4], (Kind::Float, Device::Cpu));
    for (name, att) in mechanisms(&vs, 4, 4) {
        let o = att.attend(&query, &att.keys(&ann), &ann, &mask, 0, Some(&cov), false);
        let sums = Vec::<f32>::try_from(o.weights.sum_dim_intlist(-1, false, Kind::Float)).unwrap();
        for s in sums {
            assert!((s - 1.0).abs() < 1e-5, "{name}: weights sum to {s}");
        }
        let padded = Vec::<f32>::try_from(o.weights.get(1).narrow(0, 1, 3)).unwrap();
        assert_eq!(padded, vec![0.0, 0.0, 0.0], "{name}");
        // Sentence 2 has one real position: its context is exactly that annotation.
        let diff = (o.context.get(1) - ann.get(1).get(0))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-6, "{name}");
    }
}

#[test]
fn local_attention_is_zero_outside_its_window() {
    let _rng = common::rng_lock();
    tch::manual_seed(5);
    let vs = VarStore::new(Device::Cpu);
    let (b, s, d) = (3i64, 12i64, 4i64);
    let query = Tensor::randn([b, d], (Kind::Float, Device::Cpu));
    let ann = Tensor::randn([b, s, d], (Kind::Float, Device::Cpu));
    let lengths = Tensor::from_slice(&[12i64, 9, 5]);
    let mask = Tensor::arange(s, (Kind::Int64, Device::Cpu))
        .unsqueeze(0)
        .lt_tensor(&lengths.unsqueeze(1));
    let window = 2;
    let local_m = Attention::new(
        Box::new(GeneralScore::new(vs.root() / "m", d, d, false, false)),
        Scope::LocalM { window },
        Selection::Soft,
        false,
    );
    let local_p = Attention::new(
        Box::new(GeneralScore::new(vs.root() / "p", d, d, false, false)),
        Scope::local_p(vs.root() / "ps", d, window),
        Selection::Soft,
        false,
    );
    for step in [0i64, 3, 7, 11] {
        let o = local_m.attend(&query, &local_m.keys(&ann), &ann, &mask, step, None, false);
        let w = Vec::<Vec<f32>>::try_from(&o.weights).unwrap();
        let lens = [12i64, 9, 5];
        for (row, &len) in w.iter().zip(&lens) {
            let p = step.min(len - 1);
            for (j, &x) in row.iter().enumerate() {
                let inside = (j as i64 - p).abs() <= window && (j as i64) < len;
                assert!(
                    inside || x == 0.0,
                    "local-m step {step}: weight {x} at {j}, p_t = {p}"
                );
            }
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        let o = local_p.attend(&query, &local_p.keys(&ann), &ann, &mask, step, None, false);
        let p_t = Vec::<f32>::try_from(local_p_position(&local_p, &query, &lengths)).unwrap();
        let w = Vec::<Vec<f32>>::try_from(&o.weights).unwrap();
        for ((row, &len), &p) in w.iter().zip(&lens).zip(&p_t) {
            assert!(p >= 0.0 && p <= (len - 1) as f32);
            for (j, &x) in row.iter().enumerate() {
                let inside = (j as f32 - p).abs() <= window as f32 && (j as i64) < len;
                assert!(inside || x == 0.0, "local-p: weight {x} at {j}, p_t = {p}");
            }
            let sum: f32 = row.iter().sum();
            assert!(
                sum > 0.0 && sum <= 1.0 + 1e-6,
                "local-p weights sum to {sum}"
            );
        }
    }
}

fn local_p_position(att: &Attention, query: &Tensor, lengths: &Tensor) -> Tensor {
    att.scope().position(query, lengths, 0).unwrap()
}

#[test]
fn hard_attention_is_one_hot_and_gumbel_passes_gradients() {
    let _rng = common::rng_lock();
    tch::manual_seed(6);
    let vs = VarStore::new(Device::Cpu);
    let query = Tensor::randn([2, 4], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let ann = Tensor::randn([2, 4, 4], (Kind::Float, Device::Cpu));
    let mask = padded_mask();
    for (k, selection) in [Selection::Hard, Selection::Gumbel { temperature: 0.5 }]
        .into_iter()
        .enumerate()
    {
        let att = Attention::new(
            Box::new(AdditiveScore::new(
                vs.root() / format!("selection{k}"),
                4,
                4,
                5,
                false,
            )),
            Scope::Global,
            selection,
            false,
        );
        for train in [true, false] {
            let o = att.attend(&query, &att.keys(&ann), &ann, &mask, 0, None, train);
            let used = Vec::<Vec<f32>>::try_from(&o.context_weights).unwrap();
            for (b, row) in used.iter().enumerate() {
                let ones = row.iter().filter(|&&x| (x - 1.0).abs() < 1e-6).count();
                let zeros = row.iter().filter(|&&x| x.abs() < 1e-6).count();
                assert_eq!(
                    (ones, zeros),
                    (1, 4 - 1),
                    "{selection:?} train={train}: {row:?}"
                );
                let j = row.iter().position(|&x| (x - 1.0).abs() < 1e-6).unwrap();
                assert!(b == 0 || j < 2, "selected a padding position");
                // The context is exactly the selected annotation.
                let diff = (o.context.get(b as i64) - ann.get(b as i64).get(j as i64))
                    .abs()
                    .max()
                    .double_value(&[]);
                assert!(diff < 1e-5);
            }
            if !train {
                assert_eq!(
                    o.context_weights.argmax(1, false),
                    o.weights.argmax(1, false)
                );
            }
            match (selection, train) {
                (Selection::Hard, true) => {
                    let lp = o.log_prob.expect("log prob of the sample");
                    let picked = (o.weights * &o.context_weights)
                        .sum_dim_intlist(1, false, Kind::Float)
                        .log();
                    assert!((lp - picked).abs().max().double_value(&[]) < 1e-5);
                    assert!(o.entropy.unwrap().min().double_value(&[]) >= 0.0);
                }
                (Selection::Gumbel { .. }, true) => {
                    let g = Tensor::run_backward(
                        &[o.context.sum(Kind::Float)],
                        &[&query],
                        false,
                        false,
                    );
                    assert!(
                        g[0].abs().sum(Kind::Float).double_value(&[]) > 0.0,
                        "no gradient"
                    );
                }
                _ => {}
            }
        }
    }
}

#[test]
fn gru_and_lstm_cell_gradients_match_finite_differences() {
    let _rng = common::rng_lock();
    for kind in [RnnType::Gru, RnnType::Lstm] {
        tch::manual_seed(3);
        let mut vs = VarStore::new(Device::Cpu);
        let cell = SplitInputCell::new(vs.root(), kind, 3, 2, 4);
        vs.double();
        let x = f64_randn(&[2, 3]);
        let u = f64_randn(&[2, 2]);
        let h = f64_randn(&[2, 4]);
        let probe = Tensor::randn([2, 4], (Kind::Double, Device::Cpu));
        let f = || {
            let state = RnnState::from_h(kind, h.shallow_clone());
            let s1 = cell.step(&cell.precompute(&x), &u, &state);
            let s2 = cell.step(&cell.precompute(&x), &u, &s1);
            (s2.h() * &probe).sum(Kind::Double)
        };
        for t in [&x, &u, &h] {
            assert!(grad_check(t, &f) < 1e-5, "{kind:?} input gradient");
        }
        for (name, p) in vs.variables() {
            assert!(grad_check(&p, &f) < 1e-5, "{kind:?} gradient of {name}");
        }
    }
}

fn tiny_config(rnn: RnnType) -> ModelConfig {
    ModelConfig {
        rnn,
        src_embed_dim: 32,
        tgt_embed_dim: 32,
        encoder_hidden: 48,
        encoder_layers: 1,
        decoder_hidden: 64,
        attention_dim: 48,
        output_dim: 64,
        dropout: 0.0,
        ..Default::default()
    }
}

#[test]
fn encoder_output_does_not_depend_on_padding() {
    let _rng = common::rng_lock();
    for rnn in [RnnType::Gru, RnnType::Lstm] {
        tch::manual_seed(4);
        let vs = VarStore::new(Device::Cpu);
        let mut cfg = tiny_config(rnn);
        cfg.encoder_layers = 2;
        let model = Seq2Seq::new(&vs.root(), &cfg, 20, 20).unwrap();
        let short: Vec<i64> = vec![5, 6, 7];
        let long: Vec<i64> = vec![8, 9, 10, 11, 12, 13, 14];
        let (src, len) = source_tensors(&[&short, &long], Device::Cpu);
        let (alone, alone_len) = source_tensors(&[&short], Device::Cpu);
        let batched = model.encoder.forward(&src, &len, false);
        let single = model.encoder.forward(&alone, &alone_len, false);
        let a = batched.annotations.get(0).narrow(0, 0, 4);
        let b = single.annotations.get(0);
        assert!((a - b).abs().max().double_value(&[]) < 1e-5, "{rnn:?}");
        let pad = batched
            .annotations
            .get(0)
            .narrow(0, 4, 4)
            .abs()
            .max()
            .double_value(&[]);
        assert_eq!(pad, 0.0);
        let bf = (batched.backward_first.get(0) - single.backward_first.get(0))
            .abs()
            .max()
            .double_value(&[]);
        assert!(bf < 1e-5);
    }
}

/// A shortlist holding the whole vocabulary must not change search; a smaller one restricts
/// every output token to it.
#[test]
fn search_over_a_shortlist() {
    let _rng = common::rng_lock();
    tch::manual_seed(6);
    let vs = VarStore::new(Device::Cpu);
    let model = Seq2Seq::new(&vs.root(), &tiny_config(RnnType::Gru), 20, 20).unwrap();
    let sources: Vec<Vec<i64>> = vec![vec![5, 6, 7], vec![8, 9, 10, 11], vec![12]];
    let refs: Vec<&[i64]> = sources.iter().map(Vec::as_slice).collect();
    let (src, len) = source_tensors(&refs, Device::Cpu);
    let max_len = vec![8; sources.len()];
    let cfg = BeamConfig {
        beam_size: 3,
        length_penalty: 1.0,
        nbest: 3,
    };
    let all: Vec<i64> = (0..20).collect();
    let tokens = |hs: Vec<Vec<tolk::decode::Hypothesis>>| -> Vec<Vec<Vec<i64>>> {
        hs.into_iter()
            .map(|h| h.into_iter().map(|h| h.tokens).collect())
            .collect()
    };
    let greedy = |s: Option<&[i64]>| -> Vec<Vec<i64>> {
        greedy_search(&model, &src, &len, &max_len, false, s)
            .into_iter()
            .map(|h| h.tokens)
            .collect()
    };
    assert_eq!(greedy(None), greedy(Some(&all)));
    let beam = |s: Option<&[i64]>| {
        tokens(beam_search(&model, &src, &len, &max_len, cfg, false, s).unwrap())
    };
    assert_eq!(beam(None), beam(Some(&all)));
    let few: Vec<i64> = vec![0, 1, 2, 3, 6, 9, 13];
    for hyp in greedy(Some(&few))
        .iter()
        .chain(beam(Some(&few)).iter().flatten())
    {
        assert!(
            hyp.iter().all(|t| few.contains(t)),
            "{hyp:?} outside {few:?}"
        );
    }
}

/// The decoder packs the output layer onto non-padding target positions: the loss of a padded
/// batch must equal the sum of the losses of its sentences decoded alone (no padding at all).
#[test]
fn packed_batch_loss_equals_sum_of_single_sentence_losses() {
    let _rng = common::rng_lock();
    for decoder in [DecoderType::Bahdanau, DecoderType::Luong] {
        tch::manual_seed(5);
        let vs = VarStore::new(Device::Cpu);
        let mut cfg = tiny_config(RnnType::Gru);
        cfg.decoder = decoder;
        let model = Seq2Seq::new(&vs.root(), &cfg, 20, 20).unwrap();
        let pairs: Vec<(Vec<i64>, Vec<i64>)> = vec![
            (vec![5, 6, 7], vec![8, 9]),
            (vec![8, 9, 10, 11, 12, 13], vec![4, 5, 6, 7, 8, 9, 10]),
            (vec![14], vec![15, 16, 17, 18]),
        ];
        let loss_of = |chosen: &[(Vec<i64>, Vec<i64>)]| {
            let refs: Vec<(&[i64], &[i64])> = chosen
                .iter()
                .map(|(s, t)| (s.as_slice(), t.as_slice()))
                .collect();
            let batch = Batch::new(&refs, Device::Cpu);
            let out = model.forward(&batch.src, &batch.src_lengths, &batch.tgt_in, false);
            assert_eq!(out.logits.size()[0], batch.target_tokens as i64);
            let (loss, _) =
                label_smoothed_loss(&out.logits, &out.packed(&batch.tgt_out), 0.1, PAD_ID);
            loss.double_value(&[])
        };
        let batched = loss_of(&pairs);
        let alone: f64 = pairs.iter().map(|p| loss_of(std::slice::from_ref(p))).sum();
        assert!(
            (batched - alone).abs() < 1e-4 * alone.abs(),
            "{decoder:?}: batched {batched} vs alone {alone}"
        );
    }
}

/// Training's fused kernels (`training.fused_kernels`: the cross entropy, the decoder's GRU
/// gates and the additive attention energies, each with its own backward) give the loss and
/// the parameter gradients of libtorch's ops, up to float rounding, through the whole model
/// (the gradient reaches the encoder through the surrogate ⟨logits, g⟩ and the kernels'
/// backward passes).
#[test]
fn fused_cross_entropy_gives_the_reference_loss_and_gradients() {
    let _rng = common::rng_lock();
    tch::manual_seed(9);
    let vs = VarStore::new(Device::Cpu);
    let model = Seq2Seq::new(&vs.root(), &tiny_config(RnnType::Gru), 20, 20).unwrap();
    let pairs: Vec<(&[i64], &[i64])> = vec![
        (&[5, 6, 7], &[8, 9]),
        (&[8, 9, 10, 11, 12, 13], &[4, 5, 6, 7, 8, 9, 10]),
        (&[14], &[15, 16, 17, 18]),
    ];
    let batch = Batch::new(&pairs, Device::Cpu);
    let run = |fused: bool| {
        for (_, p) in vs.variables() {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        let loss = tolk::kernels::with_fused(fused, || {
            let out = model.forward(&batch.src, &batch.src_lengths, &batch.tgt_in, false);
            label_smoothed_loss(&out.logits, &out.packed(&batch.tgt_out), 0.1, PAD_ID).0
        });
        loss.backward();
        let mut grads: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .map(|(name, p)| (name, p.grad().copy()))
            .collect();
        grads.sort_by(|a, b| a.0.cmp(&b.0));
        (loss.double_value(&[]), grads)
    };
    let (ref_loss, ref_grads) = run(false);
    let (loss, grads) = run(true);
    assert!(
        (loss - ref_loss).abs() < 1e-5 * ref_loss.abs(),
        "{loss} vs {ref_loss}"
    );
    for ((name, g), (_, want)) in grads.iter().zip(&ref_grads) {
        let err = (g - want).abs().max().double_value(&[]);
        let scale = want.abs().max().double_value(&[]).max(1e-6);
        assert!(
            err <= 1e-4 * scale + 1e-7,
            "{name}: gradient off by {err} of {scale}"
        );
    }
    assert!(ref_grads.iter().any(|(n, _)| n.starts_with("encoder")));
}

/// `training.precision = "bf16"`: the forward pass runs under CPU autocast (the logits are bf16:
/// the switch really acts), while the parameters and their gradients stay fp32, the loss is
/// within 2 % of fp32's and the gradient points the same way (cosine > 0.99). Off again after.
#[test]
fn bf16_autocast_keeps_fp32_master_weights_and_close_gradients() {
    let _rng = common::rng_lock();
    tch::manual_seed(10);
    let vs = VarStore::new(Device::Cpu);
    let model = Seq2Seq::new(&vs.root(), &tiny_config(RnnType::Gru), 20, 20).unwrap();
    let pairs: Vec<(&[i64], &[i64])> = vec![
        (&[5, 6, 7], &[8, 9]),
        (&[8, 9, 10, 11, 12, 13], &[4, 5, 6, 7, 8, 9, 10]),
    ];
    let batch = Batch::new(&pairs, Device::Cpu);
    let run = |bf16: bool| {
        for (_, p) in vs.variables() {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        let forward = || {
            tolk::kernels::with_fused(true, || {
                let out = model.forward(&batch.src, &batch.src_lengths, &batch.tgt_in, false);
                let kind = out.logits.kind();
                let loss =
                    label_smoothed_loss(&out.logits, &out.packed(&batch.tgt_out), 0.1, PAD_ID).0;
                (loss, kind)
            })
        };
        let (loss, kind) = if bf16 {
            let cpu_bf16 = Autocast {
                device: AutocastDevice::Cpu,
                kind: Kind::BFloat16,
            };
            tolk::kernels::shim::with_autocast(cpu_bf16, forward)
        } else {
            forward()
        };
        loss.backward();
        let mut grads: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .map(|(name, p)| (name, p.grad().copy()))
            .collect();
        grads.sort_by(|a, b| a.0.cmp(&b.0));
        (loss.double_value(&[]), kind, grads)
    };
    let (loss32, kind32, grads32) = run(false);
    let (loss16, kind16, grads16) = run(true);
    assert_eq!(kind32, Kind::Float);
    assert_eq!(
        kind16,
        Kind::BFloat16,
        "autocast did not act on the projection"
    );
    assert!(
        !tolk::kernels::shim::autocast_enabled(AutocastDevice::Cpu),
        "autocast left on"
    );
    assert!(
        (loss16 - loss32).abs() < 0.02 * loss32,
        "{loss16} vs {loss32}"
    );
    let flat = |g: &[(String, Tensor)]| {
        Tensor::cat(&g.iter().map(|(_, t)| t.view([-1])).collect::<Vec<_>>(), 0)
    };
    let (a, b) = (flat(&grads32), flat(&grads16));
    assert_eq!(
        b.kind(),
        Kind::Float,
        "gradients of the fp32 master weights"
    );
    let cosine =
        a.dot(&b).double_value(&[]) / (a.norm().double_value(&[]) * b.norm().double_value(&[]));
    assert!(cosine > 0.99, "gradient cosine {cosine}");
    for (_, p) in vs.variables() {
        assert_eq!(p.kind(), Kind::Float);
    }
}

/// The coverage loss (See et al. 2017, eq. 12-13) is off before `coverage_loss_start_step`,
/// where the objective is the cross entropy alone, and adds weight · Σ min(α, cov) / tokens
/// from that update on.
#[test]
fn coverage_loss_starts_at_its_configured_step() {
    let _rng = common::rng_lock();
    tch::manual_seed(6);
    let vs = VarStore::new(Device::Cpu);
    let mut cfg = tiny_config(RnnType::Gru);
    cfg.coverage = true;
    let model = Seq2Seq::new(&vs.root(), &cfg, 20, 20).unwrap();
    let pairs: [(&[i64], &[i64]); 2] = [(&[5, 6, 7, 8], &[8, 9, 10]), (&[9, 10], &[4, 5, 6, 7])];
    let batch = Batch::new(&pairs, Device::Cpu);
    let out = model.forward(&batch.src, &batch.src_lengths, &batch.tgt_in, false);
    let penalty = out
        .coverage_penalty
        .as_ref()
        .expect("coverage model has a penalty");
    let mask = batch.tgt_out.ne(PAD_ID).to_kind(Kind::Float);
    let tokens = batch.target_tokens as f64; // (3 + 1) + (4 + 1): each target with its EOS
    let per_token = (penalty * &mask).sum(Kind::Float).double_value(&[]) / tokens;
    assert!(per_token > 0.01, "attention revisits nothing: {per_token}");
    let tc = TrainingConfig {
        coverage_loss_weight: 2.0,
        coverage_loss_start_step: 100,
        ..Default::default()
    };
    let loss_at = |step| {
        let obj = objective(&out, &batch.tgt_out, &tc, step, &mut None);
        (obj.loss.double_value(&[]), obj.cross_entropy)
    };
    let (before, ce) = loss_at(99);
    assert!(
        (before - ce).abs() < 1e-6,
        "step 99: loss {before} vs cross entropy {ce}"
    );
    let (after, ce) = loss_at(100);
    assert!(
        (after - (ce + 2.0 * per_token)).abs() < 1e-4,
        "step 100: loss {after} vs {ce} + 2 * {per_token}"
    );
}

/// Random source sequences of 3-8 symbols (ids 4..14) and their `task` targets, from a fixed
/// xorshift stream.
fn task_sampler(task: fn(&[i64]) -> Vec<i64>) -> impl FnMut(usize) -> Vec<(Vec<i64>, Vec<i64>)> {
    let mut rng = 12345u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    move |n: usize| {
        (0..n)
            .map(|_| {
                let len = 3 + (next() % 6) as usize;
                let s: Vec<i64> = (0..len).map(|_| 4 + (next() % 10) as i64).collect();
                let t = task(&s);
                (s, t)
            })
            .collect()
    }
}

/// Trains a tiny model (vocabulary 14: 4 specials + 10 symbols) for `steps` updates of 64
/// pairs drawn by `sample`.
fn train_task(
    sample: &mut impl FnMut(usize) -> Vec<(Vec<i64>, Vec<i64>)>,
    cfg: &ModelConfig,
    steps: usize,
) -> (VarStore, Seq2Seq) {
    tch::manual_seed(7);
    tch::set_num_threads(1);
    let vocab = 14i64;
    let vs = VarStore::new(Device::Cpu);
    let model = Seq2Seq::new(&vs.root(), cfg, vocab, vocab).unwrap();
    let mut opt = Adam::new(vs.variables(), 3e-3, (0.9, 0.999), 1e-8);
    let tc = TrainingConfig {
        label_smoothing: 0.0,
        clip_grad_norm: 1.0,
        seed: 7,
        ..Default::default()
    };
    let mut carry = UpdateCarry::default();
    for step in 0..steps {
        let data = sample(64);
        let pairs: Vec<(&[i64], &[i64])> = data
            .iter()
            .map(|(s, t)| (s.as_slice(), t.as_slice()))
            .collect();
        let batch = Batch::new(&pairs, Device::Cpu);
        train_step(&model, &mut opt, &batch, &tc, step, 3e-3, &mut carry).unwrap();
    }
    (vs, model)
}

/// Trains a tiny model on random sequences mapped by `task`; returns greedy and beam exact
/// match on fresh sequences.
fn learn_task(task: fn(&[i64]) -> Vec<i64>, cfg: ModelConfig, steps: usize) -> (f64, f64) {
    let mut sample = task_sampler(task);
    let (_vs, model) = train_task(&mut sample, &cfg, steps);
    let test = sample(200);
    let srcs: Vec<&[i64]> = test.iter().map(|(s, _)| s.as_slice()).collect();
    let (src, len) = source_tensors(&srcs, Device::Cpu);
    let max_len: Vec<usize> = test.iter().map(|(s, _)| s.len() * 2 + 2).collect();
    let greedy = greedy_search(&model, &src, &len, &max_len, false, None);
    let cfg = BeamConfig {
        beam_size: 4,
        length_penalty: 0.6,
        nbest: 2,
    };
    let beam = beam_search(&model, &src, &len, &max_len, cfg, false, None).unwrap();
    let g = test
        .iter()
        .zip(&greedy)
        .filter(|((_, t), h)| &h.tokens == t)
        .count();
    let b = test
        .iter()
        .zip(&beam)
        .filter(|((_, t), h)| &h[0].tokens == t)
        .count();
    for hyps in &beam {
        assert_eq!(hyps.len(), 2);
        assert!(hyps[0].score >= hyps[1].score);
    }
    (g as f64 / test.len() as f64, b as f64 / test.len() as f64)
}

/// UNK replacement on a model whose target vocabulary lacks a copied token: trained to copy,
/// with symbol 13 written as `<unk>` on the target side, it emits `<unk>` where 13 is copied;
/// `--replace-unk`'s rule (the most attended source word) puts the source word back.
#[test]
fn replace_unk_restores_the_copied_word_the_target_vocabulary_lacks() {
    use tolk::decode::unk::replace_unk;
    use tolk::subword::UNK_ID;
    let _rng = common::rng_lock();
    let task: fn(&[i64]) -> Vec<i64> = |s| {
        s.iter()
            .map(|&t| if t == 13 { UNK_ID } else { t })
            .collect()
    };
    let mut sample = task_sampler(task);
    let (_vs, model) = train_task(&mut sample, &tiny_config(RnnType::Gru), 500);
    let test: Vec<_> = sample(200)
        .into_iter()
        .filter(|(s, _)| s.contains(&13))
        .collect();
    assert!(test.len() > 50, "too few test sentences with the symbol");
    let srcs: Vec<&[i64]> = test.iter().map(|(s, _)| s.as_slice()).collect();
    let (src, len) = source_tensors(&srcs, Device::Cpu);
    let max_len: Vec<usize> = test.iter().map(|(s, _)| s.len() * 2 + 2).collect();
    let cfg = BeamConfig {
        beam_size: 3,
        length_penalty: 0.0,
        nbest: 1,
    };
    let beam = beam_search(&model, &src, &len, &max_len, cfg, true, None).unwrap();
    let word = |t: i64| format!("w{t}");
    let (mut restored, mut emitted) = (0, 0);
    for ((s, _), hyps) in test.iter().zip(&beam) {
        let h = &hyps[0];
        let text: Vec<String> = h
            .tokens
            .iter()
            .map(|&t| if t == UNK_ID { "<unk>".into() } else { word(t) })
            .collect();
        let pieces: Vec<String> = s.iter().map(|&t| format!("\u{2581}{}", word(t))).collect();
        let source_text: Vec<String> = s.iter().map(|&t| word(t)).collect();
        let replaced = replace_unk(
            &text.join(" "),
            &h.tokens,
            h.attention.as_deref(),
            &pieces,
            &source_text.join(" "),
        );
        emitted += h.tokens.contains(&UNK_ID) as usize;
        restored += (replaced == source_text.join(" ")) as usize;
    }
    let (n, emitted, restored) = (test.len() as f64, emitted as f64, restored as f64);
    assert!(emitted / n > 0.9, "<unk> emitted in {emitted} of {n}");
    assert!(restored / n > 0.85, "source restored in {restored} of {n}");
}

/// 800 updates: at 500 the result depended on the CPU's kernel path. It passed (>= 0.95) on
/// the AVX-512 Xeons and with `fused_kernels = false`, but gave 0.45 with the AVX2 kernels on an
/// AMD EPYC, whose gradients match the reference up to rounding (the test above); the rounding
/// changes this tiny run's trajectory. At 800 updates: 1.0 greedy and beam on that AMD EPYC.
#[test]
fn tiny_model_learns_to_copy() {
    let _rng = common::rng_lock();
    let (greedy, beam) = learn_task(|s| s.to_vec(), tiny_config(RnnType::Gru), 800);
    assert!(greedy >= 0.95, "copy greedy exact match {greedy}");
    assert!(beam >= 0.95, "copy beam exact match {beam}");
}

/// The plain encoder-decoder (`attention = "none"`, Cho et al. 2014) learns the copy task
/// from its fixed-length context alone, but with the same budget not as well as attention:
/// the seeds' claim at toy scale.
#[test]
fn tiny_encoder_decoder_without_attention_learns_to_copy_less_well() {
    let _rng = common::rng_lock();
    let cfg = ModelConfig {
        attention: AttentionType::None,
        ..tiny_config(RnnType::Gru)
    };
    let (greedy, beam) = learn_task(|s| s.to_vec(), cfg, 500);
    eprintln!("no attention, copy: greedy {greedy}, beam {beam}");
    assert!(greedy >= 0.3, "copy greedy exact match {greedy}");
    assert!(
        greedy < 0.95,
        "no attention copied as well as attention does ({greedy})"
    );
}

#[test]
fn tiny_model_learns_to_reverse() {
    let _rng = common::rng_lock();
    let (greedy, beam) = learn_task(
        |s| s.iter().rev().copied().collect(),
        tiny_config(RnnType::Gru),
        600,
    );
    assert!(greedy >= 0.95, "reverse greedy exact match {greedy}");
    assert!(beam >= 0.95, "reverse beam exact match {beam}");
}

#[test]
fn tiny_lstm_luong_model_with_input_feeding_learns_to_reverse() {
    let _rng = common::rng_lock();
    let cfg = ModelConfig {
        decoder: DecoderType::Luong,
        attention: AttentionType::General,
        input_feeding: true,
        ..tiny_config(RnnType::Lstm)
    };
    let (greedy, beam) = learn_task(|s| s.iter().rev().copied().collect(), cfg, 600);
    assert!(
        greedy >= 0.95,
        "LSTM Luong reverse greedy exact match {greedy}"
    );
    assert!(beam >= 0.95, "LSTM Luong reverse beam exact match {beam}");
}

#[test]
fn beam_search_of_a_batch_equals_beam_search_of_each_sentence() {
    let _rng = common::rng_lock();
    tch::manual_seed(11);
    tch::set_num_threads(1);
    let vs = VarStore::new(Device::Cpu);
    let model = Seq2Seq::new(&vs.root(), &tiny_config(RnnType::Gru), 14, 14).unwrap();
    let sources: Vec<Vec<i64>> = vec![
        vec![4, 5, 6],
        vec![7, 8, 9, 10, 11, 12],
        vec![13],
        vec![5, 5, 9, 4],
    ];
    // Different limits make sentences finish at different steps and leave the batch early.
    let max_len = [3usize, 9, 2, 6];
    let cfg = BeamConfig {
        beam_size: 3,
        length_penalty: 1.0,
        nbest: 3,
    };
    let srcs: Vec<&[i64]> = sources.iter().map(Vec::as_slice).collect();
    let (src, len) = source_tensors(&srcs, Device::Cpu);
    let batched = beam_search(&model, &src, &len, &max_len, cfg, true, None).unwrap();
    for (i, s) in sources.iter().enumerate() {
        let (one, one_len) = source_tensors(&[s.as_slice()], Device::Cpu);
        let single = beam_search(&model, &one, &one_len, &max_len[i..=i], cfg, true, None).unwrap();
        let tokens = |h: &Vec<tolk::decode::Hypothesis>| {
            h.iter().map(|x| x.tokens.clone()).collect::<Vec<_>>()
        };
        assert_eq!(tokens(&batched[i]), tokens(&single[0]), "sentence {i}");
        for (a, b) in batched[i].iter().zip(&single[0]) {
            assert!(
                (a.score - b.score).abs() < 1e-4,
                "sentence {i}: {} vs {}",
                a.score,
                b.score
            );
            let (ra, rb) = (a.attention.as_ref().unwrap(), b.attention.as_ref().unwrap());
            assert_eq!(ra.len(), rb.len());
            assert!(ra.len() <= max_len[i]);
            // Batched rows carry padding columns; the real ones must agree.
            for (x, y) in ra.iter().zip(rb) {
                for (p, q) in x.iter().zip(y) {
                    assert!((p - q).abs() < 1e-4);
                }
            }
        }
    }
}
