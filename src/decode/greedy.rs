//! Greedy decoding: the arg-max token at every step, for a whole batch at once.

use tch::{Kind, Tensor};

use super::hypothesis::Hypothesis;
use super::step_model::StepModel;
use super::trace::{Columns, SearchTrace};
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
pub fn greedy_search<M: StepModel>(
    model: &M,
    src: &Tensor,
    lengths: &Tensor,
    max_len: &[usize],
    keep_attention: bool,
    shortlist: Option<&[i64]>,
) -> Vec<Hypothesis> {
    tch::no_grad(|| {
        let columns = Columns::new(shortlist);
        let b = src.size()[0] as usize;
        let mut state = model.start(src, lengths, 1, shortlist);
        let mut prev = Tensor::full([b as i64], BOS_ID, (Kind::Int64, src.device()));
        let mut trace = SearchTrace::new(keep_attention);
        let mut log_prob = vec![0f64; b];
        let mut finished: Vec<Option<Hypothesis>> = vec![None; b];
        let limit = max_len.iter().copied().max().unwrap_or(0);
        for t in 0..limit {
            let out = model.step(&state, &prev);
            // log p(best) = max logit − logsumexp: no [B, V] log-softmax tensor is written.
            // Inside `kernels::with_fused`, one pass per row finds both.
            let (best_logit, best_column, lse) = crate::kernels::fused_enabled()
                .then(|| crate::kernels::row_top_n(&out.scores, 1))
                .flatten()
                .map(|(top, column, lse)| (top.squeeze_dim(1), column.squeeze_dim(1), lse))
                .unwrap_or_else(|| {
                    let (top, column) = out.scores.max_dim(-1, false);
                    (top, column, out.scores.logsumexp([-1], false))
                });
            let tokens = columns.token_ids(&best_column);
            let best_lp = (best_logit - lse).to_kind(Kind::Float);
            let lps = Vec::<f32>::try_from(&best_lp).expect("f32 scores");
            trace.record_step(&out.attention);
            for i in 0..b {
                if finished[i].is_some() {
                    continue;
                }
                log_prob[i] += lps[i] as f64;
                let ended = tokens[i] == EOS_ID || t + 1 >= max_len[i];
                if ended {
                    let (tokens, attention) =
                        trace.hypothesis(i, (tokens[i] != EOS_ID).then_some(tokens[i]));
                    finished[i] = Some(Hypothesis {
                        tokens,
                        log_prob: log_prob[i],
                        score: log_prob[i],
                        attention,
                    });
                }
            }
            if finished.iter().all(Option::is_some) {
                break;
            }
            trace.set_survivors(tokens.iter().copied().enumerate().collect());
            prev = Tensor::from_slice(&tokens).to_device(src.device());
            state = out.state;
        }
        finished
            .into_iter()
            .map(|h| h.unwrap_or_else(|| Hypothesis::empty(keep_attention)))
            .collect()
    })
}
