//! Validation: perplexity with teacher forcing and greedy BLEU/chrF of the validation set.

use tch::Device;

use super::loss::label_smoothed_loss;
use super::prepare::ValidSet;
use crate::batch::Batch;
use crate::data::batching::plan_inference;
use crate::decode::{TranslateOptions, Translator};
use crate::error::Error;
use crate::metrics::{corpus_bleu, corpus_chrf};
use crate::model::Seq2Seq;
use crate::subword::PAD_ID;

/// Scores of one validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidScores {
    /// Mean NLL per target token (nats).
    pub loss: f64,
    /// Greedy BLEU (sacreBLEU defaults).
    pub bleu: f64,
    /// Greedy chrF.
    pub chrf: f64,
}

/// Runs validation: [`valid_loss`] and greedy translation of the validation sources scored
/// against the references.
pub fn validate(
    translator: &Translator<&Seq2Seq>,
    set: &ValidSet,
    max_len_ratio: f64,
    batch_tokens: usize,
) -> Result<ValidScores, Error> {
    let greedy = TranslateOptions::greedy(max_len_ratio, batch_tokens);
    let hyps: Vec<String> = translator
        .translate_with(&set.src_text, &greedy)?
        .into_iter()
        .map(|mut h| h.swap_remove(0).text)
        .collect();
    Ok(ValidScores {
        loss: valid_loss(translator.model(), set, batch_tokens, translator.device()),
        bleu: corpus_bleu(&hyps, &[&set.ref_text]).score,
        chrf: corpus_chrf(&hyps, &[&set.ref_text]).score,
    })
}

/// Mean NLL per target token (nats) over the validation set, teacher forced, no dropout.
pub fn valid_loss(model: &Seq2Seq, set: &ValidSet, batch_tokens: usize, device: Device) -> f64 {
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
            let out = model.forward(&batch.src, &batch.src_lengths, &batch.tgt_in, false);
            let (_, n) = label_smoothed_loss(&out.logits, &out.packed(&batch.tgt_out), 0.0, PAD_ID);
            nll += n.double_value(&[]);
            tokens += batch.target_tokens;
        }
        nll / tokens.max(1) as f64
    })
}
