//! Batched beam search with the GNMT length penalty (Wu et al. 2016, arXiv 1609.08144, §7).
//!
//! All `B × K` live hypotheses of a batch advance together in one decoder step. A sentence
//! is finished once it holds `K` ended hypotheses (EOS produced or length limit reached); its
//! rows then leave the batch, so later steps only compute for sentences still searching.
//! Hypotheses are ranked by `log P(Y|X) / lp(Y)`.

use tch::{Device, Kind, Tensor};

use super::hypothesis::{length_penalty, Hypothesis};
use super::options::MAX_LENGTH_PENALTY;
use super::step_model::StepModel;
use super::trace::{Columns, SearchTrace};
use crate::error::Error;
use crate::subword::{BOS_ID, EOS_ID, PAD_ID};

/// Beam search settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeamConfig {
    /// Beam size K (≥ 1).
    pub beam_size: usize,
    /// Length-penalty exponent α (0 = rank by raw log-probability).
    pub length_penalty: f64,
    /// Hypotheses returned per sentence (1 ≤ nbest ≤ K).
    pub nbest: usize,
}

impl BeamConfig {
    /// Checks 1 ≤ nbest ≤ beam_size and 0 ≤ α ≤ [`MAX_LENGTH_PENALTY`], for callers of
    /// [`beam_search`] that bypass [`super::TranslateOptions::validate`] (which also bounds the
    /// beam size, with the same messages).
    ///
    /// Errors: [`Error::Input`] naming the bad setting.
    pub fn validate(&self) -> Result<(), Error> {
        if self.beam_size == 0 {
            return Err(Error::Input("beam size must be at least 1".into()));
        }
        if self.nbest == 0 || self.nbest > self.beam_size {
            return Err(Error::Input(format!(
                "n-best {} must be between 1 and the beam size {}",
                self.nbest, self.beam_size
            )));
        }
        if !(0.0..=MAX_LENGTH_PENALTY).contains(&self.length_penalty) {
            return Err(Error::Input(format!(
                "length penalty {:?} must be between 0 and {MAX_LENGTH_PENALTY}",
                self.length_penalty
            )));
        }
        Ok(())
    }
}

/// Beam search for a batch: `src` `[B, S]`, `lengths` `[B]` (EOS included), `max_len[b]` most
/// output tokens (EOS included); `shortlist`: sorted candidate target ids for this batch
/// ([`super::shortlist::LexicalShortlist::candidates`]), `None` = the full vocabulary. Returns
/// for each sentence its `nbest` hypotheses, best first.
///
/// Errors: [`Error::Input`] for settings that [`BeamConfig::validate`] rejects.
pub fn beam_search<M: StepModel>(
    model: &M,
    src: &Tensor,
    lengths: &Tensor,
    max_len: &[usize],
    cfg: BeamConfig,
    keep_attention: bool,
    shortlist: Option<&[i64]>,
) -> Result<Vec<Vec<Hypothesis>>, Error> {
    cfg.validate()?;
    Ok(tch::no_grad(|| {
        let columns = Columns::new(shortlist);
        let device: Device = src.device();
        let b = src.size()[0] as usize;
        let k = cfg.beam_size;
        // Sentences still searching, in the order of their K-row blocks in the batch.
        let mut active: Vec<usize> = (0..b).collect();
        let mut state = model.start(src, lengths, k, shortlist);
        let mut prev = Tensor::full([(b * k) as i64], BOS_ID, (Kind::Int64, device));
        // Only the first hypothesis of each beam is live at the start.
        let init: Vec<f32> = (0..b * k)
            .map(|r| if r % k == 0 { 0.0 } else { f32::NEG_INFINITY })
            .collect();
        let mut scores = Tensor::from_slice(&init).to_device(device);
        let mut trace = SearchTrace::new(keep_attention);
        let mut finished: Vec<Vec<Hypothesis>> = vec![Vec::new(); b];
        let limit = max_len.iter().copied().max().unwrap_or(0);
        for t in 0..limit {
            let out = model.step(&state, &prev);
            let (top_scores, top_slot, top_column) =
                best_continuations(&out.scores, &scores, k as i64, 2 * k as i64);
            let top_scores = Vec::<f32>::try_from(top_scores.flatten(0, -1)).expect("f32");
            let top_slot = Vec::<i64>::try_from(top_slot.flatten(0, -1)).expect("i64");
            let top_token = columns.token_ids(&top_column);
            trace.record_step(&out.attention);

            let mut survivors = Vec::with_capacity(active.len() * k);
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
                        let (tokens, attention) =
                            trace.hypothesis(slot, (token != EOS_ID).then_some(token));
                        finished[i].push(Hypothesis {
                            tokens,
                            log_prob: score as f64,
                            // Every live hypothesis at step t has t tokens; this one adds one.
                            score: score as f64 / length_penalty(t + 1, cfg.length_penalty),
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
                    survivors.push((slot, token));
                    next_scores.push(score);
                }
            }
            if still_active.is_empty() {
                break;
            }
            active = still_active;
            let origin: Vec<i64> = survivors.iter().map(|&(slot, _)| slot as i64).collect();
            let next_tokens: Vec<i64> = survivors.iter().map(|&(_, token)| token).collect();
            trace.set_survivors(survivors);
            state = model.reorder(&out.state, &Tensor::from_slice(&origin).to_device(device));
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
    }))
}

/// The `n` best continuations of each sentence's `k` hypotheses: `logits` `[A·K, V]`, running
/// log-probabilities `scores` `[A·K]` → `(scores, slot, column)`, each `[A, n]`, sorted best
/// first: the continuation extends hypothesis `slot` (0..K) of the sentence with the token of
/// logits column `column`.
///
/// The same candidates as a top-n over log_softmax(logits) + score flattened to `[A, K·V]`,
/// without writing that tensor: a sentence's best n are among the best n of each of its rows,
/// and log p(v) = logit(v) − logsumexp(logits) (equal up to float rounding). Inside
/// [`crate::kernels::with_fused`] the per-row top-n and log-sum-exp are one pass
/// ([`crate::kernels::row_top_n`]).
fn best_continuations(
    logits: &Tensor,
    scores: &Tensor,
    k: i64,
    n: i64,
) -> (Tensor, Tensor, Tensor) {
    let (rows, vocab) = (logits.size()[0], logits.size()[1]);
    let a = rows / k;
    let n_row = n.min(vocab);
    // [A·K, n] best logits and their columns, [A·K] log-sum-exp of each row.
    let (row_top, row_column, lse) = crate::kernels::fused_enabled()
        .then(|| crate::kernels::row_top_n(logits, n_row))
        .flatten()
        .unwrap_or_else(|| {
            let (top, column) = logits.topk(n_row, -1, true, true);
            (top, column, logits.logsumexp([-1], false))
        });
    let cand = (row_top - lse.unsqueeze(1) + scores.unsqueeze(1)).view([a, -1]); // [A, K·n]
    let (top, pos) = cand.topk(n.min(k * n_row), -1, true, true); // [A, n]
    let column = row_column.view([a, -1]).gather(1, &pos, false);
    let slot = pos.divide_scalar_mode(n_row, "floor");
    (top.to_kind(Kind::Float), slot, column)
}
