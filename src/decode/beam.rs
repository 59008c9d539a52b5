//! Batched beam search with the GNMT length penalty (Wu et al. 2016, arXiv 1609.08144, §7).
//!
//! All `B × K` live hypotheses of a batch advance together in one decoder step. A sentence
//! is finished once it holds `K` ended hypotheses (EOS produced or length limit reached); its
//! rows then leave the batch, so later steps only compute for sentences still searching.
//! Hypotheses are ranked by `log P(Y|X) / lp(Y)`.

use tch::{Device, Kind, Tensor};

use super::hypothesis::{length_penalty, Hypothesis};
use crate::model::Seq2Seq;
use crate::subword::{BOS_ID, EOS_ID, PAD_ID};

/// Beam search settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeamConfig {
    /// Beam size K (≥ 1).
    pub beam_size: usize,
    /// Length-penalty exponent α (0 = rank by raw log-probability).
    pub length_penalty: f64,
    /// Hypotheses returned per sentence (≤ K).
    pub nbest: usize,
}

#[derive(Clone)]
struct Live {
    tokens: Vec<i64>,
    attention: Vec<Vec<f32>>,
}

/// Beam search for a batch: `src` `[B, S]`, `lengths` `[B]` (EOS included), `max_len[b]` most
/// output tokens (EOS included); `shortlist`: sorted candidate target ids for this batch
/// ([`super::shortlist::LexicalShortlist::candidates`]), `None` = the full vocabulary. Returns
/// for each sentence its `nbest` hypotheses, best first.
pub fn beam_search(
    model: &Seq2Seq,
    src: &Tensor,
    lengths: &Tensor,
    max_len: &[usize],
    cfg: BeamConfig,
    keep_attention: bool,
    shortlist: Option<&[i64]>,
) -> Vec<Vec<Hypothesis>> {
    assert!(cfg.beam_size >= 1 && cfg.nbest >= 1 && cfg.nbest <= cfg.beam_size);
    tch::no_grad(|| {
        let projection = &model.decoder.projection().restrict(shortlist);
        let device: Device = src.device();
        let b = src.size()[0] as usize;
        let k = cfg.beam_size;
        let rows_of = |sentences: &[usize]| -> Tensor {
            let rows: Vec<i64> = sentences
                .iter()
                .flat_map(|&i| std::iter::repeat_n(i as i64, k))
                .collect();
            Tensor::from_slice(&rows).to_device(device)
        };
        // Sentences still searching, in the order of their K-row blocks in the batch.
        let mut active: Vec<usize> = (0..b).collect();
        let mut encoded = model
            .encode(src, lengths, false)
            .index_select(&rows_of(&active));
        let mut state = model.decoder.init_state(&encoded.enc);
        let mut prev = Tensor::full([(b * k) as i64], BOS_ID, (Kind::Int64, device));
        // Only the first hypothesis of each beam is live at the start.
        let init: Vec<f32> = (0..b * k)
            .map(|r| if r % k == 0 { 0.0 } else { f32::NEG_INFINITY })
            .collect();
        let mut scores = Tensor::from_slice(&init).to_device(device);
        let mut live: Vec<Live> = vec![
            Live {
                tokens: Vec::new(),
                attention: Vec::new()
            };
            b * k
        ];
        let mut finished: Vec<Vec<Hypothesis>> = vec![Vec::new(); b];
        let limit = max_len.iter().copied().max().unwrap_or(0);
        for t in 0..limit {
            let out = model
                .decoder
                .step(&encoded.enc, &encoded.keys, &prev, &state, projection);
            let (top_scores, top_slot, top_column) =
                best_continuations(&out.logits, &scores, k as i64, 2 * k as i64);
            let top_scores = Vec::<f32>::try_from(top_scores.flatten(0, -1)).expect("f32");
            let top_slot = Vec::<i64>::try_from(top_slot.flatten(0, -1)).expect("i64");
            let top_token = Vec::<i64>::try_from(projection.token_ids(&top_column).flatten(0, -1))
                .expect("i64");
            let attn = keep_attention.then(|| {
                let s = out.attention.size()[1] as usize;
                (
                    Vec::<f32>::try_from(out.attention.flatten(0, -1)).expect("f32"),
                    s,
                )
            });

            let mut origin = Vec::with_capacity(active.len() * k);
            let mut next_tokens = Vec::with_capacity(active.len() * k);
            let mut next_scores = Vec::with_capacity(active.len() * k);
            let mut still_active = Vec::with_capacity(active.len());
            for (a, &i) in active.iter().enumerate() {
                let at_limit = t + 1 >= max_len[i];
                let mut chosen = Vec::with_capacity(k);
                for c in 0..2 * k {
                    let score = top_scores[a * 2 * k + c];
                    if score == f32::NEG_INFINITY {
                        break;
                    }
                    let slot = a * k + top_slot[a * 2 * k + c] as usize;
                    let token = top_token[a * 2 * k + c];
                    if token == EOS_ID || at_limit {
                        let parent = &live[slot];
                        let mut tokens = parent.tokens.clone();
                        if token != EOS_ID {
                            tokens.push(token);
                        }
                        let attention = attn.as_ref().map(|(flat, s)| {
                            let mut rows = parent.attention.clone();
                            rows.push(flat[slot * s..(slot + 1) * s].to_vec());
                            rows
                        });
                        finished[i].push(Hypothesis {
                            tokens,
                            log_prob: score as f64,
                            score: score as f64
                                / length_penalty(parent.tokens.len() + 1, cfg.length_penalty),
                            attention,
                        });
                    } else {
                        chosen.push((slot, token, score));
                        if chosen.len() == k {
                            break;
                        }
                    }
                }
                if finished[i].len() >= k || at_limit {
                    continue; // done: its rows leave the batch
                }
                still_active.push(i);
                // Fewer than K continuations (tiny vocabularies): pad with dead slots.
                while chosen.len() < k {
                    chosen.push((a * k, PAD_ID, f32::NEG_INFINITY));
                }
                for (slot, token, score) in chosen {
                    origin.push(slot as i64);
                    next_tokens.push(token);
                    next_scores.push(score);
                }
            }
            if still_active.is_empty() {
                break;
            }
            if still_active.len() < active.len() {
                // The K rows of every sentence that goes on, in the current layout.
                let keep: Vec<i64> = active
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| still_active.contains(i))
                    .flat_map(|(a, _)| (a * k..(a + 1) * k).map(|r| r as i64))
                    .collect();
                encoded = encoded.index_select(&Tensor::from_slice(&keep).to_device(device));
                active = still_active;
            }
            live = origin
                .iter()
                .zip(&next_tokens)
                .map(|(&o, &tok)| {
                    let parent = &live[o as usize];
                    let mut tokens = parent.tokens.clone();
                    tokens.push(tok);
                    let mut attention = Vec::new();
                    if let Some((flat, s)) = attn.as_ref() {
                        attention = parent.attention.clone();
                        attention.push(flat[o as usize * s..(o as usize + 1) * s].to_vec());
                    }
                    Live { tokens, attention }
                })
                .collect();
            let origin_t = Tensor::from_slice(&origin).to_device(device);
            state = out.state.index_select(&origin_t);
            prev = Tensor::from_slice(&next_tokens).to_device(device);
            scores = Tensor::from_slice(&next_scores).to_device(device);
        }
        finished
            .into_iter()
            .map(|mut hyps| {
                hyps.sort_by(|a, b| b.score.total_cmp(&a.score));
                hyps.truncate(cfg.nbest);
                hyps
            })
            .collect()
    })
}

/// The `n` best continuations of each sentence's `k` hypotheses: `logits` `[A·K, V]`, running
/// log-probabilities `scores` `[A·K]` → `(scores, slot, column)`, each `[A, n]`, sorted best
/// first: the continuation extends hypothesis `slot` (0..K) of the sentence with the token of
/// logits column `column`.
///
/// The same candidates as a top-n over log_softmax(logits) + score flattened to `[A, K·V]`,
/// without writing that tensor: a sentence's best n are among the best n of each of its rows,
/// and log p(v) = logit(v) − logsumexp(logits) (equal up to float rounding).
fn best_continuations(
    logits: &Tensor,
    scores: &Tensor,
    k: i64,
    n: i64,
) -> (Tensor, Tensor, Tensor) {
    let (rows, vocab) = (logits.size()[0], logits.size()[1]);
    let a = rows / k;
    let n_row = n.min(vocab);
    let lse = logits.logsumexp([-1], true); // [A·K, 1]
    let (row_top, row_column) = logits.topk(n_row, -1, true, true); // [A·K, n]
    let cand = (row_top - lse + scores.unsqueeze(1)).view([a, -1]); // [A, K·n]
    let (top, pos) = cand.topk(n.min(k * n_row), -1, true, true); // [A, n]
    let column = row_column.view([a, -1]).gather(1, &pos, false);
    let slot = pos.divide_scalar_mode(n_row, "floor");
    (top.to_kind(Kind::Float), slot, column)
}
