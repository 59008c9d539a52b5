//! Greedy decoding: the arg-max token at every step, for a whole batch at once.

use tch::{Kind, Tensor};

use super::hypothesis::Hypothesis;
use crate::model::Seq2Seq;
use crate::subword::{BOS_ID, EOS_ID};

/// Greedy search for a batch.
///
/// * `src` `[B, S]`, `lengths` `[B]`: source ids with EOS (see [`crate::batch::source_tensors`]).
/// * `max_len[b]`: most output tokens for sentence b (EOS included).
/// * `keep_attention`: also return each hypothesis' attention matrix.
/// * `shortlist`: sorted candidate target ids for this batch
///   ([`super::shortlist::LexicalShortlist::candidates`]); `None` = the full vocabulary.
///
/// Returns one hypothesis per sentence, in batch order.
pub fn greedy_search(
    model: &Seq2Seq,
    src: &Tensor,
    lengths: &Tensor,
    max_len: &[usize],
    keep_attention: bool,
    shortlist: Option<&[i64]>,
) -> Vec<Hypothesis> {
    tch::no_grad(|| {
        let projection = &model.decoder.projection().restrict(shortlist);
        let b = src.size()[0] as usize;
        let encoded = model.encode(src, lengths, false);
        let mut state = model.decoder.init_state(&encoded.enc);
        let mut prev = Tensor::full([b as i64], BOS_ID, (Kind::Int64, src.device()));
        let mut hyps: Vec<Hypothesis> = (0..b)
            .map(|_| Hypothesis {
                tokens: Vec::new(),
                log_prob: 0.0,
                score: 0.0,
                attention: keep_attention.then(Vec::new),
            })
            .collect();
        let mut done = vec![false; b];
        let limit = max_len.iter().copied().max().unwrap_or(0);
        for t in 0..limit {
            let out = model
                .decoder
                .step(&encoded.enc, &encoded.keys, &prev, &state, projection);
            // log p(best) = max logit − logsumexp: no [B, V] log-softmax tensor is written.
            let (best_logit, best_column) = out.logits.max_dim(-1, false);
            let best = projection.token_ids(&best_column);
            let best_lp = (best_logit - out.logits.logsumexp([-1], false)).to_kind(Kind::Float);
            let tokens = Vec::<i64>::try_from(&best).expect("int64 tokens");
            let lps = Vec::<f32>::try_from(&best_lp).expect("f32 scores");
            let attn = keep_attention.then(|| {
                let s = out.attention.size()[1] as usize;
                let flat = Vec::<f32>::try_from(out.attention.to_kind(Kind::Float).flatten(0, -1))
                    .expect("f32 attention");
                (flat, s)
            });
            for i in 0..b {
                if done[i] {
                    continue;
                }
                let h = &mut hyps[i];
                h.log_prob += lps[i] as f64;
                if let (Some(rows), Some((flat, s))) = (h.attention.as_mut(), attn.as_ref()) {
                    rows.push(flat[i * s..(i + 1) * s].to_vec());
                }
                if tokens[i] == EOS_ID {
                    done[i] = true;
                } else {
                    h.tokens.push(tokens[i]);
                    if t + 1 >= max_len[i] {
                        done[i] = true;
                    }
                }
            }
            if done.iter().all(|&d| d) {
                break;
            }
            prev = best;
            state = out.state;
        }
        for h in &mut hyps {
            h.score = h.log_prob;
        }
        hyps
    })
}
