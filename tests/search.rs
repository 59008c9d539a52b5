//! Search against references: beam search with a beam wide enough to keep every hypothesis
//! equals exhaustive search, the length penalty ranks as its formula says, and beam size 1
//! equals greedy search. A toy [`StepModel`] with fixed pseudo-random next-token scores makes
//! exhaustive search cheap; beam size 1 is also checked on a real (untrained) `Seq2Seq`.

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tolk::config::ModelConfig;
use tolk::decode::hypothesis::length_penalty;
use tolk::decode::{beam_search, greedy_search, BeamConfig, Hypothesis, Step, StepModel};
use tolk::model::Seq2Seq;
use tolk::subword::{BOS_ID, EOS_ID};

/// Next-token scores that depend on the sentence, the whole prefix and the seed; only EOS and
/// the tokens 4..V can be produced (PAD, UNK, BOS score −∞).
struct ToyModel {
    vocab: i64,
    seed: u64,
}

/// Per row: its sentence and its prefix.
struct ToyState {
    rows: Vec<(i64, Vec<i64>)>,
}

impl ToyModel {
    fn logits(&self, sentence: i64, prefix: &[i64]) -> Vec<f32> {
        let mut h = self.seed ^ (sentence as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for &t in prefix {
            h = (h ^ t as u64).wrapping_mul(0x100_0000_01B3).rotate_left(17);
        }
        (0..self.vocab)
            .map(|v| {
                if v < 4 && v != EOS_ID {
                    return f32::NEG_INFINITY;
                }
                let mut x = h ^ (v as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                x ^= x >> 31;
                x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
                x ^= x >> 29;
                (x % 10_000) as f32 / 2_000.0 // in [0, 5)
            })
            .collect()
    }

    /// log p(tokens) (EOS appended when `eos`) in f64.
    fn log_prob(&self, sentence: i64, tokens: &[i64], eos: bool) -> f64 {
        let mut total = 0.0;
        let mut steps: Vec<i64> = tokens.to_vec();
        if eos {
            steps.push(EOS_ID);
        }
        for (t, &y) in steps.iter().enumerate() {
            let l = self.logits(sentence, &tokens[..t]);
            let lse = l
                .iter()
                .filter(|x| x.is_finite())
                .map(|&x| (x as f64).exp())
                .sum::<f64>()
                .ln();
            total += l[y as usize] as f64 - lse;
        }
        total
    }
}

impl StepModel for ToyModel {
    type State = ToyState;

    fn start(&self, src: &Tensor, _len: &Tensor, copies: usize, sl: Option<&[i64]>) -> ToyState {
        assert!(sl.is_none());
        let b = src.size()[0];
        ToyState {
            rows: (0..b)
                .flat_map(|s| std::iter::repeat_n((s, Vec::new()), copies))
                .collect(),
        }
    }

    fn step(&self, state: &ToyState, prev: &Tensor) -> Step<ToyState> {
        let prev = Vec::<i64>::try_from(prev).unwrap();
        let rows: Vec<(i64, Vec<i64>)> = state
            .rows
            .iter()
            .zip(&prev)
            .map(|((s, p), &y)| {
                let mut p = p.clone();
                if y != BOS_ID {
                    p.push(y);
                }
                (*s, p)
            })
            .collect();
        let flat: Vec<f32> = rows.iter().flat_map(|(s, p)| self.logits(*s, p)).collect();
        let r = rows.len() as i64;
        Step {
            scores: Tensor::from_slice(&flat).view([r, self.vocab]),
            attention: Tensor::ones([r, 3], (Kind::Float, Device::Cpu)) / 3.0,
            state: ToyState { rows },
        }
    }

    fn reorder(&self, state: &ToyState, rows: &Tensor) -> ToyState {
        let rows = Vec::<i64>::try_from(rows).unwrap();
        ToyState {
            rows: rows
                .iter()
                .map(|&r| state.rows[r as usize].clone())
                .collect(),
        }
    }
}

/// Every complete output of at most `max_len` tokens (EOS included; a hypothesis that reaches
/// the limit without EOS ends there), ranked by log p / lp(len, α), best first.
fn exhaustive(model: &ToyModel, sentence: i64, max_len: usize, alpha: f64) -> Vec<(Vec<i64>, f64)> {
    let words: Vec<i64> = (4..model.vocab).collect();
    let mut out = Vec::new();
    let mut prefixes: Vec<Vec<i64>> = vec![Vec::new()];
    for len in 1..=max_len {
        for p in &prefixes {
            // Ends with EOS at position `len`.
            let lp = model.log_prob(sentence, p, true);
            out.push((p.clone(), lp / length_penalty(len, alpha)));
        }
        prefixes = prefixes
            .iter()
            .flat_map(|p| {
                words.iter().map(move |&w| {
                    let mut q = p.clone();
                    q.push(w);
                    q
                })
            })
            .collect();
    }
    for p in prefixes {
        // Reached the limit without EOS.
        let lp = model.log_prob(sentence, &p, false);
        out.push((p, lp / length_penalty(max_len, alpha)));
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

fn toy_inputs(b: i64) -> (Tensor, Tensor) {
    (
        Tensor::zeros([b, 3], (Kind::Int64, Device::Cpu)),
        Tensor::full([b], 3, (Kind::Int64, Device::Cpu)),
    )
}

fn beam(
    model: &ToyModel,
    b: i64,
    max_len: usize,
    k: usize,
    nbest: usize,
    alpha: f64,
) -> Vec<Vec<Hypothesis>> {
    let (src, len) = toy_inputs(b);
    let cfg = BeamConfig {
        beam_size: k,
        length_penalty: alpha,
        nbest,
    };
    beam_search(
        model,
        &src,
        &len,
        &vec![max_len; b as usize],
        cfg,
        false,
        None,
    )
    .unwrap()
}

#[test]
fn a_beam_that_keeps_every_hypothesis_equals_exhaustive_search() {
    // V = 6: EOS and the words 4, 5; 4 steps give 31 complete outputs, never more than 8 live.
    let model = ToyModel { vocab: 6, seed: 11 };
    for alpha in [0.0, 1.0] {
        let found = beam(&model, 3, 4, 64, 5, alpha);
        for (s, hyps) in found.iter().enumerate() {
            let best = exhaustive(&model, s as i64, 4, alpha);
            assert_eq!(hyps.len(), 5);
            for (h, (tokens, score)) in hyps.iter().zip(&best) {
                assert_eq!(&h.tokens, tokens, "sentence {s}, alpha {alpha}");
                assert!((h.score - score).abs() < 1e-4, "{} vs {score}", h.score);
            }
        }
    }
}

#[test]
fn the_length_penalty_ranks_as_its_formula_says() {
    let mut changed = 0;
    for seed in 0..20 {
        let model = ToyModel { vocab: 7, seed };
        let short = beam(&model, 1, 5, 256, 1, 0.0).remove(0).remove(0);
        let long = beam(&model, 1, 5, 256, 1, 2.0).remove(0).remove(0);
        // Each is the best under its own formula, and no worse than the other under it.
        // Output length n counts EOS; a hypothesis of 5 tokens reached the limit without it.
        let n = |h: &Hypothesis| (h.tokens.len() + 1).min(5);
        let rank = |h: &Hypothesis, alpha: f64| {
            model.log_prob(0, &h.tokens, h.tokens.len() < 5) / length_penalty(n(h), alpha)
        };
        assert!(rank(&short, 0.0) >= rank(&long, 0.0) - 1e-6);
        assert!(rank(&long, 2.0) >= rank(&short, 2.0) - 1e-6);
        assert_eq!(short.tokens, exhaustive(&model, 0, 5, 0.0)[0].0);
        assert_eq!(long.tokens, exhaustive(&model, 0, 5, 2.0)[0].0);
        if short.tokens != long.tokens {
            assert!(n(&long) > n(&short), "α = 2 must favour the longer");
            changed += 1;
        }
    }
    assert!(changed > 0, "α never changed the best output in 20 seeds");
}

fn assert_same(greedy: &[Hypothesis], beam: &[Vec<Hypothesis>]) {
    assert_eq!(greedy.len(), beam.len());
    for (g, b) in greedy.iter().zip(beam) {
        assert_eq!(g.tokens, b[0].tokens);
        assert!(
            (g.log_prob - b[0].log_prob).abs() < 1e-3,
            "{} vs {}",
            g.log_prob,
            b[0].log_prob
        );
    }
}

#[test]
fn beam_size_one_equals_greedy_on_the_toy_model() {
    let model = ToyModel { vocab: 9, seed: 5 };
    let (src, len) = toy_inputs(6);
    let max_len = vec![4, 7, 7, 2, 9, 5];
    let greedy = greedy_search(&model, &src, &len, &max_len, false, None);
    let cfg = BeamConfig {
        beam_size: 1,
        length_penalty: 0.0,
        nbest: 1,
    };
    assert_same(
        &greedy,
        &beam_search(&model, &src, &len, &max_len, cfg, false, None).unwrap(),
    );
}

#[test]
fn beam_size_one_equals_greedy_on_a_seq2seq() {
    tch::manual_seed(21);
    let vs = VarStore::new(Device::Cpu);
    let cfg = ModelConfig {
        src_embed_dim: 8,
        tgt_embed_dim: 8,
        encoder_hidden: 8,
        decoder_hidden: 12,
        attention_dim: 8,
        output_dim: 8,
        ..Default::default()
    };
    let model = Seq2Seq::new(&vs.root(), &cfg, 30, 30).unwrap();
    let src = Tensor::randint_low(4, 30, [5, 7], (Kind::Int64, Device::Cpu));
    let _ = src.narrow(1, 6, 1).fill_(EOS_ID);
    let len = Tensor::full([5], 7, (Kind::Int64, Device::Cpu));
    let max_len = vec![12; 5];
    let greedy = greedy_search(&model, &src, &len, &max_len, true, None);
    let cfg = BeamConfig {
        beam_size: 1,
        length_penalty: 0.0,
        nbest: 1,
    };
    let beam = beam_search(&model, &src, &len, &max_len, cfg, true, None).unwrap();
    assert_same(&greedy, &beam);
    for (g, b) in greedy.iter().zip(&beam) {
        assert_eq!(g.attention, b[0].attention, "same attention rows");
    }
}

#[test]
fn beam_settings_out_of_range_are_input_errors() {
    let model = ToyModel { vocab: 6, seed: 1 };
    let (src, len) = toy_inputs(1);
    for (k, n) in [(0, 1), (2, 3), (2, 0)] {
        let cfg = BeamConfig {
            beam_size: k,
            length_penalty: 1.0,
            nbest: n,
        };
        let err = beam_search(&model, &src, &len, &[3], cfg, false, None).unwrap_err();
        assert!(matches!(err, tolk::error::Error::Input(_)), "{err}");
    }
}
